// Scenario 2: the monitoring path across six service processes on RabbitMQ.
//
// Interactions go into ingestion (SubmitInteractions batches, or one SubmitInteraction each); 10% are amiss. An
// interaction is finished when sentiment's analysis is out (sentiment.analysis.complete reaches the benchmark's
// tap queue) and, if amiss, its review case is open (review.required, same tap) and its in-app notification is
// delivered to the reviewers' inbox. Delivery happens inside the status service, whatever message carried it
// there: while a phase runs its progress is status's own counter of in-app deliveries (/metrics); afterwards
// each amiss interaction's delivery time is its inbox item's delivered_at, stamped by status (ListInbox, read
// once per phase, not polled).
//
// First the sustainable maximum (closed loop bounded end to end), then open-loop fixed-rate runs at fractions of
// it, with latencies measured from each interaction's due time. It runs once per store (bench/lib/stores.ts),
// durable first, and counts the broker messages each phase cost as the dispatch scenario does.
import { Code, ConnectError } from '@connectrpc/connect';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import type { ReviewRequired, SentimentAnalyzed } from '../../gen/pulse/events/v1/events_pb.js';
import { decodeEvent } from '../../services/platform/bus/events.js';
import { type Clients, benchClients } from '../lib/clients.js';
import type { Context } from '../lib/context.js';
import { startScenarioMesh } from '../lib/mesh.js';
import { waitQuiet } from '../lib/procstat.js';
import { createVhost } from '../../test/support/vhost.js';
import { openCountingTap, openTap, type Tap, VHOST_PREFIX } from '../lib/rabbit.js';
import { type Due, type LoopReport, openLoop, windowed } from '../lib/load.js';
import { log, table } from '../lib/report.js';
import { RetryCounter, withRetry } from '../lib/retry.js';
import { counter, type MessageCountCheck, publishedMessages, settledPublishedMessages } from '../lib/service-metrics.js';
import { epochMs, type Percentiles, percentiles, round, sleep, waitFor } from '../lib/stats.js';
import { onEachStore, type StoreSetup } from '../lib/stores.js';
import { interaction } from '../lib/workload.js';

type Mode = 'batched' | 'single';

export interface PhaseResult {
  phase: string;
  mode: Mode;
  /** Offered rate (open loop) or the end-to-end window (closed loop). */
  offered: string;
  durationS: number;
  sent: number;
  accepted: number;
  rejected: Record<string, number>;
  rejectedMessages: Record<string, string>;
  /** Calls refused by load shedding and sent again (unavailable / resource_exhausted). */
  retries: number;
  analysed: number;
  amiss: number;
  cases: number;
  delivered: number;
  /** Interactions through the whole path per second while sending (steady part). */
  throughput: number;
  acceptedPerSecond: number;
  /** Seconds after the last send until everything was through. */
  drainS: number;
  latencyMs: { accept: Percentiles; analysed: Percentiles; delivered: Percentiles };
  cpuCores: Record<string, number>;
  /** CPU time per interaction through, ms, per process, and `services` (the six) and `total` (with the broker). */
  cpuMsPerInteraction: Record<string, number>;
  /** Messages the services published for this phase's interactions (from its start until all had left). */
  brokerMessages: number;
  brokerMessagesPerInteraction: number;
  generator: LoopReport;
}

export interface MonitoringRun {
  phases: PhaseResult[];
  maxima: Record<Mode, number>;
  messageCountCheck: MessageCountCheck;
  settings: Record<string, unknown>;
}

/** CPU per unit of work: what each process spent per item through (ms), less sensitive to other load than rates. */
export function cpuPerItem(cores: Record<string, number>, perSecond: number, services: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  if (!(perSecond > 0)) return out;
  let sum = 0;
  for (const [name, used] of Object.entries(cores)) {
    if (name === 'other' || name === 'bench') continue;
    out[name] = round((used / perSecond) * 1000, 3);
    if (services.includes(name)) sum += out[name];
  }
  out.services = round(sum, 3);
  out.total = round(sum + (out.rabbitmq ?? 0), 3);
  return out;
}

const SERVICES = ['ingestion', 'sentiment', 'review', 'preference', 'notification', 'status'];

/** Open-loop batched mode: a client that sends what arrived in the last 20 ms (at most `batch`) in one call. */
export const BATCH_FLUSH_MS = 20;

class Tracker {
  readonly n: number;
  readonly dueAt: Float64Array;
  readonly acceptedAt: Float64Array;
  readonly analysedAt: Float64Array;
  readonly caseAt: Float64Array;
  readonly deliveredAt: Float64Array;
  readonly amiss: Uint8Array;
  readonly reviewIndex = new Map<string, number>();
  analysed = 0;
  analysedAmiss = 0;
  cases = 0;
  /** In-app deliveries status counted since the phase began (its /metrics counter, polled). */
  deliveredSoFar = 0;
  delivered = 0;
  accepted = 0;
  readonly rejected: Record<string, number> = {};
  readonly retries = new RetryCounter();

  constructor(
    readonly run: string,
    capacity: number,
  ) {
    this.n = capacity;
    this.dueAt = new Float64Array(capacity);
    this.acceptedAt = new Float64Array(capacity);
    this.analysedAt = new Float64Array(capacity);
    this.caseAt = new Float64Array(capacity);
    this.deliveredAt = new Float64Array(capacity);
    this.amiss = new Uint8Array(capacity);
  }

  index(messageId: string): number {
    if (!messageId.startsWith(`${this.run}-m`)) return -1;
    const i = Number(messageId.slice(this.run.length + 2));
    return Number.isInteger(i) && i >= 0 && i < this.n ? i : -1;
  }

  /** The first message seen for each rejection code. */
  readonly rejectedMessages: Record<string, string> = {};

  reject(code: string, count = 1, message = ''): void {
    this.rejected[code] = (this.rejected[code] ?? 0) + count;
    this.rejectedMessages[code] ??= message.slice(0, 300);
  }

  onAnalysed(i: number, at: number): void {
    if (this.analysedAt[i]) return;
    this.analysedAt[i] = at;
    this.analysed++;
    if (this.amiss[i]) this.analysedAmiss++;
  }

  /** Interactions through the whole path so far: the calm ones analysed, the amiss ones also delivered. */
  get finished(): number {
    return this.analysed - this.analysedAmiss + Math.min(this.analysedAmiss, this.deliveredSoFar);
  }
}

function onTap(tracker: () => Tracker | undefined) {
  return (message: { fields: { routingKey: string }; properties: { type?: unknown }; content: Buffer }, at: number) => {
    const t = tracker();
    if (!t) return;
    const routingKey = message.fields.routingKey;
    const event = decodeEvent({ routingKey, type: String(message.properties.type ?? ''), body: message.content });
    if (routingKey === 'sentiment.analysis.complete') {
      const i = t.index((event as SentimentAnalyzed).messageId);
      if (i >= 0) t.onAnalysed(i, at);
    } else if (routingKey === 'review.required') {
      const e = event as ReviewRequired;
      const i = t.index(e.messageId);
      if (i >= 0 && !t.caseAt[i]) {
        t.caseAt[i] = at;
        t.cases++;
        t.reviewIndex.set(e.reviewId, i);
      }
    }
  };
}

function sender(clients: Clients, t: Tracker, mode: Mode, calmConversations: number) {
  return (items: Due[]) => {
    const batch = items.map((item) => {
      const it = interaction(t.run, item.index, calmConversations);
      t.dueAt[item.index] = item.dueAt;
      t.amiss[item.index] = it.amiss ? 1 : 0;
      return it;
    });
    if (mode === 'single') {
      batch.forEach((it, k) => {
        const i = items[k].index;
        withRetry(() => clients.ingestion.submitInteraction(it.request), t.retries).then(
          () => {
            t.acceptedAt[i] = epochMs();
            t.accepted++;
          },
          (err: unknown) => t.reject(Code[ConnectError.from(err).code], 1, ConnectError.from(err).message),
        );
      });
      return;
    }
    withRetry(() => clients.ingestion.submitInteractions({ interactions: batch.map((it) => it.request) }), t.retries).then(
      (res) => {
        const at = epochMs();
        for (const r of res.results) {
          const i = items[r.index].index;
          if (r.errorCode) t.reject(r.errorCode, 1, r.errorMessage);
          else {
            t.acceptedAt[i] = at;
            t.accepted++;
          }
        }
      },
      (err: unknown) => t.reject(Code[ConnectError.from(err).code], items.length, ConnectError.from(err).message),
    );
  };
}

/** delivered_at of the reviewers' inbox items of this phase's cases (status's own clock, same machine). */
async function readDelivered(clients: Clients, t: Tracker): Promise<number> {
  let pageToken = '';
  for (;;) {
    const { items, nextPageToken } = await clients.status.listInbox({ userId: 'reviewers', pageSize: 200, pageToken });
    for (const item of items) {
      const i = t.reviewIndex.get(item.data.review_id ?? '');
      if (i === undefined || t.deliveredAt[i] || !item.deliveredAt) continue;
      t.deliveredAt[i] = timestampMs(item.deliveredAt);
      t.delivered++;
    }
    if (t.delivered >= t.cases || !nextPageToken) return t.delivered;
    pageToken = nextPageToken;
  }
}

function latencies(t: Tracker, sent: number, at: Float64Array, onlyAmiss: boolean): Percentiles {
  const samples: number[] = [];
  for (let i = 0; i < sent; i++) {
    if (onlyAmiss && !t.amiss[i]) continue;
    if (at[i]) samples.push(at[i] - t.dueAt[i]);
  }
  return percentiles(samples);
}

interface PhaseSpec {
  phase: string;
  mode: Mode;
  kind: 'max' | 'rate';
  rate?: number;
  window?: number;
  durationMs: number;
}

export async function runMonitoring(ctx: Context): Promise<{ runs: (MonitoringRun & { store: string; storeLabel: string })[] }> {
  return { runs: await onEachStore(ctx.stores, ctx.mongodbUri, (store) => runMonitoringOn(ctx, store)) };
}

async function runMonitoringOn(ctx: Context, store: StoreSetup): Promise<MonitoringRun> {
  const p = ctx.profile.monitoring;
  const vhost = await createVhost(VHOST_PREFIX);
  const { mesh, env, processes, meter } = await startScenarioMesh(ctx, 'monitoring', store, vhost.url);
  const clients = benchClients(mesh.urls, mesh.token);
  let current: Tracker | undefined;
  let tap: Tap | undefined;
  const phases: PhaseResult[] = [];
  const maxima: Record<Mode, number> = { batched: NaN, single: NaN };
  let messageCountCheck: MessageCountCheck;
  try {
    tap = await openTap(vhost.url, ['sentiment.analysis.complete', 'review.required'], onTap(() => current), epochMs);
    // Warm-up: JIT, connections, plan cache; and the check of the services' publish counters against the broker.
    const counting = await openCountingTap(vhost.url);
    try {
      const warmUp = await runPhase({ phase: 'warm-up', mode: 'batched', kind: 'rate', rate: 200, durationMs: 2_000 }, true);
      await waitFor(() => counting.count() >= warmUp.brokerMessages, 5_000, 50);
      messageCountCheck = { routedByBroker: counting.count(), countedByServices: warmUp.brokerMessages };
    } finally {
      await counting.close();
    }
    log(`monitoring [${store.kind}]: warm-up messages routed by the broker ${messageCountCheck.routedByBroker}, counted by the services ${messageCountCheck.countedByServices}`);
    for (const mode of p.modes) {
      const max = await runPhase({
        phase: `max ${mode}`,
        mode,
        kind: 'max',
        window: mode === 'batched' ? p.window : p.singleWindow,
        durationMs: p.maxDurationMs,
      });
      maxima[mode] = max.throughput;
      for (const load of p.loads) {
        const rate = Math.max(10, Math.round(max.throughput * load));
        await runPhase({ phase: `${Math.round(load * 100)}% ${mode}`, mode, kind: 'rate', rate, durationMs: p.latencyDurationMs });
      }
    }
  } finally {
    await tap?.close();
    await mesh.stop();
    await vhost.remove();
  }
  printPhases(store.label, phases, messageCountCheck);
  return {
    phases,
    maxima,
    messageCountCheck,
    settings: { env, window: p.window, batch: p.batch, batchFlushMs: BATCH_FLUSH_MS, singleWindow: p.singleWindow },
  };

  /** In-app deliveries status has made so far (the monitoring path's only in-app notifications are the cases'). */
  function inAppDelivered(): Promise<number> {
    return counter(mesh.urls.status, 'pulse_notification_deliveries_final_total', { channel: 'in_app', state: 'delivered' });
  }

  async function runPhase(spec: PhaseSpec, quiet = false): Promise<PhaseResult> {
    const run = `r${phases.length}${Math.random().toString(36).slice(2, 6)}`;
    const capacity = spec.kind === 'rate' ? Math.round((spec.rate! * spec.durationMs) / 1000) + 10 : 2_000_000;
    const t = new Tracker(run, capacity);
    // Calm messages spread over ongoing chats, each hearing from its customer every ~3 s.
    const rateGuess = spec.rate ?? 1_000;
    const calmConversations = Math.max(50, Math.round(rateGuess * 3));
    const send = sender(clients, t, spec.mode, calmConversations);
    const published0 = await publishedMessages(mesh.urls);
    const delivered0 = await inAppDelivered();
    // The window and the drain follow status's count of in-app deliveries, four times a second.
    let polling = true;
    const poller = (async () => {
      while (polling) {
        t.deliveredSoFar = (await inAppDelivered().catch(() => delivered0 + t.deliveredSoFar)) - delivered0;
        await sleep(250);
      }
    })();
    current = t;
    const otherLoad = await waitQuiet(() => Object.values(processes()).flat(), 0.25, ctx.profile.quietMaxWaitMs);
    log(`monitoring [${store.kind}]: ${spec.phase} (${spec.kind === 'max' ? `window ${spec.window}` : `${spec.rate}/s`}, ${spec.durationMs / 1000} s; other load ${otherLoad} cores)`);
    meter.begin();
    const start = epochMs();
    const generator =
      spec.kind === 'max'
        ? await windowed({
            window: spec.window!,
            batch: spec.mode === 'batched' ? p.batch : 1,
            durationMs: spec.durationMs,
            finished: () => t.finished + sumValues(t.rejected),
            send,
          })
        : await openLoop({ rate: spec.rate!, durationMs: spec.durationMs, batchMax: spec.mode === 'batched' ? p.batch : 1, flushEveryMs: BATCH_FLUSH_MS, send });
    const sendEnd = epochMs();
    const sent = generator.sent;
    const cpuCores = meter.end();
    await waitFor(() => t.finished + sumValues(t.rejected) >= sent, p.drainMs, 20);
    const drainS = (epochMs() - sendEnd) / 1000;
    polling = false;
    await poller;
    await waitFor(async () => (await readDelivered(clients, t)) >= t.cases, 15_000, 200);
    const delivered = t.delivered;
    const brokerMessages = (await settledPublishedMessages(mesh.urls)) - published0;
    // Throughput: completions in the steady part (after the first 25%) of the sending period; an amiss
    // interaction completes when its inbox item is delivered.
    const from = start + (sendEnd - start) * 0.25;
    let done = 0;
    let acceptedInWindow = 0;
    for (let i = 0; i < Math.min(sent, t.n); i++) {
      const finishedAt = t.amiss[i] ? Math.max(t.analysedAt[i], t.deliveredAt[i]) : t.analysedAt[i];
      if (t.analysedAt[i] && (!t.amiss[i] || t.deliveredAt[i]) && finishedAt >= from && finishedAt <= sendEnd) done++;
      if (t.acceptedAt[i] >= from && t.acceptedAt[i] <= sendEnd) acceptedInWindow++;
    }
    const steadyS = (sendEnd - from) / 1000;
    const amiss = countAmiss(t, sent);
    const result: PhaseResult = {
      phase: spec.phase,
      mode: spec.mode,
      offered: spec.kind === 'max' ? `window ${spec.window}` : `${spec.rate}/s`,
      durationS: round((sendEnd - start) / 1000, 1),
      sent,
      accepted: t.accepted,
      rejected: t.rejected,
      rejectedMessages: t.rejectedMessages,
      retries: t.retries.retries,
      analysed: t.analysed,
      amiss,
      cases: t.cases,
      delivered,
      throughput: round(done / steadyS),
      acceptedPerSecond: round(acceptedInWindow / steadyS),
      drainS: round(drainS, 1),
      latencyMs: {
        accept: latencies(t, sent, t.acceptedAt, false),
        analysed: latencies(t, sent, t.analysedAt, false),
        delivered: latencies(t, sent, t.deliveredAt, true),
      },
      cpuCores,
      cpuMsPerInteraction: {},
      brokerMessages,
      brokerMessagesPerInteraction: t.accepted > 0 ? round(brokerMessages / t.accepted, 2) : NaN,
      generator,
    };
    // CPU was measured while sending; the rate through over the same time is the completions in it.
    result.cpuMsPerInteraction = cpuPerItem(cpuCores, spec.kind === 'max' ? result.throughput : spec.rate!, SERVICES);
    current = undefined;
    if (!quiet) phases.push(result);
    log(
      `monitoring [${store.kind}]: ${spec.phase}: ${result.throughput}/s through, broker messages/interaction ${result.brokerMessagesPerInteraction}, sent ${sent}, analysed ${t.analysed}, amiss ${amiss}, cases ${t.cases}, ` +
        `delivered ${delivered}, rejected ${JSON.stringify(t.rejected)} ${JSON.stringify(t.rejectedMessages)}, retries ${t.retries.retries}, drain ${result.drainS} s, cpu ${JSON.stringify(cpuCores)}, cpu ms/interaction ${JSON.stringify(result.cpuMsPerInteraction)}`,
    );
    await sleep(1_000);
    return result;
  }
}

function countAmiss(t: Tracker, sent: number): number {
  let n = 0;
  for (let i = 0; i < Math.min(sent, t.n); i++) n += t.amiss[i];
  return n;
}

function sumValues(record: Record<string, number>): number {
  return Object.values(record).reduce((a, b) => a + b, 0);
}

function printPhases(storeLabel: string, phases: PhaseResult[], check: MessageCountCheck): void {
  const title = (what: string) => `Scenario 2 - monitoring path, ${storeLabel}: ${what}`;
  const ms = (p: Percentiles) => [p.p50, p.p99, p.p999] as const;
  process.stdout.write(
    table(
      title("six processes on RabbitMQ (latencies in ms from each interaction's due time)"),
      ['phase', 'offered', 'through/s', 'sent', 'failed', 'analysed', 'amiss', 'delivered', 'analysed p50', 'p99', 'p99.9', 'delivered p50', 'p99', 'p99.9', 'accept p99', 'drain s'],
      phases.map((r) => [
        r.phase,
        r.offered,
        r.throughput,
        r.sent,
        sumValues(r.rejected),
        r.analysed,
        r.amiss,
        r.delivered,
        ...ms(r.latencyMs.analysed),
        ...ms(r.latencyMs.delivered),
        r.latencyMs.accept.p99,
        r.drainS,
      ]),
    ) + '\n',
  );
  process.stdout.write(
    table(
      title('CPU (cores busy while sending; 2 cores in all; `other` = everything else on the machine)'),
      ['phase', ...Object.keys(phases[0]?.cpuCores ?? {})],
      phases.map((r) => [r.phase, ...Object.values(r.cpuCores)]),
    ) + '\n',
  );
  process.stdout.write(
    table(
      title('cost per interaction (CPU ms; broker messages published)'),
      ['phase', ...Object.keys(phases[0]?.cpuMsPerInteraction ?? {}), 'broker msgs'],
      phases.map((r) => [r.phase, ...Object.values(r.cpuMsPerInteraction), r.brokerMessagesPerInteraction]),
    ) + '\n',
  );
  process.stdout.write(`\nWarm-up: ${check.routedByBroker} messages routed by the broker, ${check.countedByServices} counted by the services' publish counters.\n`);
}
