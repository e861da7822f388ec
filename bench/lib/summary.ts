// The closing table: each target next to what this run measured. The mesh targets (issue 12) are judged on the
// durable configuration only; memory-only and MongoDB runs are shown beside them for information.
import type { Cell } from './report.js';
import { table } from './report.js';
import { round } from './stats.js';
import { STORE_LABELS, type StoreKind } from './stores.js';

interface Percentiles {
  p50: number;
  p99: number;
  p999: number;
}

interface Run {
  store: StoreKind;
}

interface MonitoringRun extends Run {
  maxima?: { batched?: number; single?: number };
  phases?: { phase: string; throughput: number; brokerMessagesPerInteraction?: number; cpuMsPerInteraction?: Record<string, number>; latencyMs: { delivered: Percentiles } }[];
}

interface DispatchPhase {
  phase: string;
  notificationsPerSecond: number;
  brokerMessagesPerNotification?: number;
  cpuMsPerNotification?: Record<string, number>;
  latencyMs: { accept: Percentiles };
}

interface DispatchRun extends Run {
  max?: DispatchPhase;
  phases?: DispatchPhase[];
}

interface Results {
  broker?: { yardstick?: boolean; best?: { messagesPerSecond: number } };
  monitoring?: { runs?: MonitoringRun[] };
  dispatch?: { runs?: DispatchRun[] };
  rpc?: { ratios?: { fullVsConnect: number; cpuFullVsConnect: number } };
  embedded?: { readyMs: number; rssIdleMb: number; soak: { rssSlopeMbPerMin: number; rssFloorSlopeMbPerMin: number; steadyFromS: number; durationS: number } };
  sentiment?: { single: number; batch: number };
}

type Row = { target: string; measured: Cell; verdict: string };

const verdict = (ok: boolean | undefined): string => (ok === undefined ? 'n/a' : ok ? 'met' : 'missed');
const finite = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n);

/** The higher of the modes' maxima (a profile may run one mode only: the other is NaN). */
function bestMonitoring(run: MonitoringRun | undefined): number {
  const maxima = [run?.maxima?.batched, run?.maxima?.single].filter(finite);
  return maxima.length > 0 ? Math.max(...maxima) : NaN;
}

function monitoringMax(run: MonitoringRun | undefined) {
  const best = bestMonitoring(run);
  return run?.phases?.find((p) => p.phase.startsWith('max') && p.throughput === best);
}

/** What the mesh asks of the broker at its maximum, as a share of the broker's own limit in this run. */
function brokerShare(itemsPerSecond: number, messagesPerItem: number | undefined, brokerRate: number | undefined): string {
  if (!finite(messagesPerItem) || !brokerRate) return '';
  const rate = itemsPerSecond * messagesPerItem;
  return `; ${round(rate)} broker msg/s = ${round((rate / brokerRate) * 100)}% of the broker's ${round(brokerRate)}/s`;
}

function meshRows(results: Results): Row[] {
  const rows: Row[] = [];
  const brokerRate = results.broker?.best?.messagesPerSecond;
  rows.push({
    target: 'yardstick: RabbitMQ alone, raw amqplib (scenario 1, this run)',
    measured: brokerRate ? `${round(brokerRate)} msg/s${results.broker?.yardstick ? ' (short run)' : ''}` : undefined,
    verdict: 'info',
  });

  const d = results.dispatch?.runs?.find((r) => r.store === 'durable');
  const dMax = d?.max;
  const dHalf = d?.phases?.find((p) => p.phase.startsWith('50%'));
  rows.push({
    target: 'dispatch (durable): >= 1,000 two-channel notifications/s end to end',
    measured: dMax ? `${round(dMax.notificationsPerSecond)}/s${brokerShare(dMax.notificationsPerSecond, dMax.brokerMessagesPerNotification, brokerRate)}` : undefined,
    verdict: verdict(dMax ? dMax.notificationsPerSecond >= 1_000 : undefined),
  });
  rows.push({
    target: 'dispatch (durable): p99 accept <= 50 ms at 50% load',
    measured: dHalf ? `${round(dHalf.latencyMs.accept.p99, 1)} ms` : undefined,
    verdict: verdict(dHalf ? dHalf.latencyMs.accept.p99 <= 50 : undefined),
  });
  const dCpu = dMax?.cpuMsPerNotification;
  rows.push({
    target: 'dispatch (durable): CPU per notification across the six services <= 2 ms (at the maximum)',
    measured: finite(dCpu?.services)
      ? `${round(dCpu.services, 2)} ms (${round(dCpu.total, 2)} with RabbitMQ${finite(dHalf?.cpuMsPerNotification?.services) ? `; ${round(dHalf.cpuMsPerNotification.services, 2)} ms at 50%` : ''})`
      : undefined,
    verdict: verdict(finite(dCpu?.services) ? dCpu.services <= 2 : undefined),
  });
  rows.push({
    target: 'dispatch (durable): broker messages per two-channel notification <= 3 (design)',
    measured: finite(dMax?.brokerMessagesPerNotification) ? `${dMax.brokerMessagesPerNotification} at the maximum${finite(dHalf?.brokerMessagesPerNotification) ? `, ${dHalf.brokerMessagesPerNotification} at 50%` : ''}` : undefined,
    verdict: verdict(finite(dMax?.brokerMessagesPerNotification) ? dMax.brokerMessagesPerNotification <= 3 : undefined),
  });

  const m = results.monitoring?.runs?.find((r) => r.store === 'durable');
  const best = bestMonitoring(m);
  const mMax = monitoringMax(m);
  const mHalf = m?.phases?.find((p) => p.phase.startsWith('50%'));
  rows.push({
    target: 'monitoring (durable): >= 2,500 interactions/s end to end (10% amiss: case + in-app delivered)',
    measured: Number.isFinite(best) ? `${round(best)}/s${brokerShare(best, mMax?.brokerMessagesPerInteraction, brokerRate)}` : undefined,
    verdict: verdict(Number.isFinite(best) ? best >= 2_500 : undefined),
  });
  rows.push({
    target: 'monitoring (durable): p99 submit -> delivered <= 250 ms at 50% load',
    measured: mHalf ? `${round(mHalf.latencyMs.delivered.p99)} ms (${mHalf.phase})` : undefined,
    verdict: verdict(mHalf ? mHalf.latencyMs.delivered.p99 <= 250 : undefined),
  });
  const mCpu = mMax?.cpuMsPerInteraction;
  rows.push({
    target: 'monitoring (durable): cost per interaction at the maximum',
    measured: mMax && finite(mCpu?.services) ? `${round(mCpu.services, 2)} ms CPU in the services (${round(mCpu.total, 2)} with RabbitMQ), ${mMax.brokerMessagesPerInteraction} broker msgs` : undefined,
    verdict: 'info',
  });

  for (const store of ['memory', 'mongodb'] as const) {
    const ds = results.dispatch?.runs?.find((r) => r.store === store);
    const ms = results.monitoring?.runs?.find((r) => r.store === store);
    if (!ds && !ms) continue;
    const parts = [
      ds?.max ? `dispatch ${round(ds.max.notificationsPerSecond)} notifications/s` : '',
      ms ? `monitoring ${round(bestMonitoring(ms))} interactions/s` : '',
    ].filter(Boolean);
    rows.push({ target: `side row, ${STORE_LABELS[store]}`, measured: parts.join(', '), verdict: 'info' });
  }
  return rows;
}

function otherRows(results: Results): Row[] {
  const rows: Row[] = [];
  const r = results.rpc?.ratios;
  if (results.rpc) {
    rows.push({
      target: 'RPC: full stack >= 70% of bare connect-node (issue 7)',
      measured: r ? `${round(r.fullVsConnect * 100)}% of req/s (${round(r.cpuFullVsConnect * 100)}% by server CPU per request)` : undefined,
      verdict: verdict(r ? r.fullVsConnect >= 0.7 : undefined),
    });
  }
  const e = results.embedded;
  // A scenario that failed holds only its error.
  if (e?.soak) {
    rows.push({ target: 'embedded: ready <= 3 s (issue 7)', measured: `${round(e.readyMs)} ms`, verdict: verdict(e.readyMs <= 3_000) });
    rows.push({ target: 'embedded: <= 250 MB RSS idle (issue 7)', measured: `${e.rssIdleMb} MB`, verdict: verdict(e.rssIdleMb <= 250) });
    rows.push({
      target: 'embedded: RSS flat over the soak (issue 7)',
      measured: `${e.soak.rssSlopeMbPerMin} MB/min fitted from ${e.soak.steadyFromS} s of ${e.soak.durationS} s (floors ${e.soak.rssFloorSlopeMbPerMin})`,
      verdict: verdict(Math.abs(e.soak.rssSlopeMbPerMin) <= 1),
    });
  }
  const s = results.sentiment;
  if (s?.single !== undefined) {
    rows.push({
      target: 'sentiment: >= 8,000 texts/s on one core (issue 7)',
      measured: `${s.single}/s single, ${s.batch}/s batched`,
      verdict: verdict(Math.max(s.single, s.batch) >= 8_000),
    });
  }
  return rows;
}

/** Rows for the scenarios that ran (the yardstick runs with the mesh scenarios). */
export function summaryTable(results: Results): { text: string; rows: Row[] } {
  const mesh = results.dispatch || results.monitoring ? meshRows(results) : [];
  const rows = [...mesh, ...otherRows(results)];
  return {
    text: table('Targets', ['target', 'measured', 'verdict'], rows.map((row) => [row.target, row.measured, row.verdict])),
    rows,
  };
}
