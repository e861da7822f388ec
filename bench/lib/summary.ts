// The closing table: each target of issue 7 next to what this run measured.
import type { Cell } from './report.js';
import { table } from './report.js';
import { round } from './stats.js';

interface Percentiles {
  p50: number;
  p99: number;
  p999: number;
}

interface Results {
  broker?: { best?: { messagesPerSecond: number } };
  monitoring?: {
    maxima?: { batched?: number; single?: number };
    phases?: { phase: string; throughput: number; latencyMs: { analysed: Percentiles; delivered: Percentiles } }[];
    brokerMessagesPerInteraction?: number;
  };
  dispatch?: { max?: { deliveredPerSecond: number; notificationsPerSecond: number }; phases?: { phase: string; latencyMs: { accept: Percentiles } }[] };
  rpc?: { ratios?: { fullVsConnect: number; cpuFullVsConnect: number } };
  embedded?: { readyMs: number; rssIdleMb: number; soak: { rssSlopeMbPerMin: number; rssFloorSlopeMbPerMin: number; steadyFromS: number; durationS: number } };
  sentiment?: { single: number; batch: number };
}

const verdict = (ok: boolean | undefined): string => (ok === undefined ? 'n/a' : ok ? 'met' : 'missed');

export function summaryTable(results: Results): { text: string; rows: Record<string, unknown>[] } {
  const rows: { target: string; measured: Cell; verdict: string }[] = [];
  const m = results.monitoring;
  const best = Math.max(m?.maxima?.batched ?? NaN, m?.maxima?.single ?? NaN);
  const bestOk = Number.isFinite(best) ? best >= 1_500 : undefined;
  rows.push({ target: 'monitoring: >= 1,500 interactions/s sustained', measured: Number.isFinite(best) ? `${round(best)}/s` : undefined, verdict: verdict(bestOk) });
  const half = m?.phases?.find((p) => p.phase.startsWith('50%'));
  rows.push({
    target: 'monitoring: p99 submit -> delivered <= 250 ms at 50%',
    measured: half ? `${round(half.latencyMs.delivered.p99)} ms (${half.phase})` : undefined,
    verdict: verdict(half ? half.latencyMs.delivered.p99 <= 250 : undefined),
  });
  const brokerRate = results.broker?.best?.messagesPerSecond;
  if (brokerRate && Number.isFinite(best)) {
    const perInteraction = m?.brokerMessagesPerInteraction ?? 2;
    rows.push({
      target: 'monitoring vs broker: interactions/s / (broker msg/s / messages per interaction)',
      measured: `${round(best / (brokerRate / perInteraction), 2)} (${round(perInteraction, 1)} msgs/interaction, broker ${brokerRate}/s)`,
      verdict: 'info',
    });
  }
  const d = results.dispatch;
  rows.push({
    target: 'dispatch: >= 3,000 notifications/s delivered',
    measured: d?.max ? `${d.max.deliveredPerSecond} deliveries/s (${d.max.notificationsPerSecond} notifications/s)` : undefined,
    verdict: verdict(d?.max ? d.max.deliveredPerSecond >= 3_000 : undefined),
  });
  const dHalf = d?.phases?.find((p) => p.phase.startsWith('50%'));
  rows.push({
    target: 'dispatch: p99 accept <= 20 ms at 50%',
    measured: dHalf ? `${round(dHalf.latencyMs.accept.p99, 1)} ms` : undefined,
    verdict: verdict(dHalf ? dHalf.latencyMs.accept.p99 <= 20 : undefined),
  });
  const r = results.rpc?.ratios;
  rows.push({
    target: 'RPC: full stack >= 70% of bare connect-node',
    measured: r ? `${round(r.fullVsConnect * 100)}% of req/s (${round(r.cpuFullVsConnect * 100)}% by server CPU per request)` : undefined,
    verdict: verdict(r ? r.fullVsConnect >= 0.7 : undefined),
  });
  const e = results.embedded;
  rows.push({ target: 'embedded: ready <= 3 s', measured: e ? `${round(e.readyMs)} ms` : undefined, verdict: verdict(e ? e.readyMs <= 3_000 : undefined) });
  rows.push({ target: 'embedded: <= 250 MB RSS idle', measured: e ? `${e.rssIdleMb} MB` : undefined, verdict: verdict(e ? e.rssIdleMb <= 250 : undefined) });
  rows.push({
    target: 'embedded: RSS flat over the soak',
    measured: e
      ? `${e.soak.rssSlopeMbPerMin} MB/min fitted from ${e.soak.steadyFromS} s of ${e.soak.durationS} s (floors ${e.soak.rssFloorSlopeMbPerMin})`
      : undefined,
    verdict: verdict(e ? Math.abs(e.soak.rssSlopeMbPerMin) <= 1 : undefined),
  });
  const s = results.sentiment;
  rows.push({
    target: 'sentiment: >= 8,000 texts/s on one core',
    measured: s ? `${s.single}/s single, ${s.batch}/s batched` : undefined,
    verdict: verdict(s ? Math.max(s.single, s.batch) >= 8_000 : undefined),
  });
  return {
    text: table('Targets (issue 7)', ['target', 'measured', 'verdict'], rows.map((row) => [row.target, row.measured, row.verdict])),
    rows,
  };
}
