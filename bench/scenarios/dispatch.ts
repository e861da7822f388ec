// Scenario 3: direct notifications. SendNotifications batches to users whose preferences send every notification
// to their in-app inbox and to email, which (no SMTP configured) is the console sink: two deliveries each.
// A delivery is through when it reaches its final success state: DELIVERED for in-app (stored in the inbox by
// status), SENT for the console sink (it has no delivery receipts).
//
// The sustainable maximum is a closed loop bounded end to end (the window counts notifications accepted and not
// yet through on both channels, read from the services' own counters on /metrics). The latency run is open loop
// at half that rate; afterwards the status timelines of a sample of its notifications are read once (GetStatus),
// which carry the time of each step as stamped by the services.
//
// It runs once per store (bench/lib/stores.ts): durable first, the headline. Each phase also counts the broker
// messages its notifications cost (the services' publish counters from before the phase until everything it
// caused has left), and the warm-up checks that count against the broker's own routing.
import { create } from '@bufbuild/protobuf';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError } from '@connectrpc/connect';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { SendNotificationRequestSchema } from '../../gen/pulse/notification/v1/notification_service_pb.js';
import type { ServiceName } from '../../services/platform/catalog.js';
import { benchClients, type Clients } from '../lib/clients.js';
import type { Context } from '../lib/context.js';
import { type Due, type LoopReport, openLoop, windowed } from '../lib/load.js';
import { startScenarioMesh } from '../lib/mesh.js';
import { waitQuiet } from '../lib/procstat.js';
import { createVhost } from '../../test/support/vhost.js';
import { openCountingTap, VHOST_PREFIX } from '../lib/rabbit.js';
import { log, table } from '../lib/report.js';
import { RetryCounter, withRetry } from '../lib/retry.js';
import { counter, type MessageCountCheck, publishedMessages, settledPublishedMessages } from '../lib/service-metrics.js';
import { onEachStore, type StoreSetup } from '../lib/stores.js';
import { epochMs, type Percentiles, percentiles, round, sleep, waitFor } from '../lib/stats.js';
import { cpuPerItem } from './monitoring.js';

/** Rate limits out of the way: the benchmark measures capacity, not the limiter. */
export const UNLIMITED_RATES: Record<string, string> = Object.fromEntries(
  ['CALLER', 'USER', 'CHANNEL', 'GLOBAL'].flatMap((name) => [
    [`NOTIFICATION_RATE_${name}_PER_SECOND`, '1000000'],
    [`NOTIFICATION_RATE_${name}_BURST`, '10000000'],
  ]),
);

export interface DispatchPhase {
  phase: string;
  offered: string;
  durationS: number;
  sent: number;
  accepted: number;
  rejected: Record<string, number>;
  rejectedMessages: Record<string, string>;
  retries: number;
  acceptedPerSecond: number;
  /** Deliveries through per second (both channels), steady part. */
  deliveredPerSecond: number;
  /** Notifications with both deliveries through per second (deliveredPerSecond / 2). */
  notificationsPerSecond: number;
  drainS: number;
  latencyMs: { accept: Percentiles; acceptToInApp: Percentiles; acceptToConsole: Percentiles; sendToDelivered: Percentiles };
  sampled: number;
  cpuCores: Record<string, number>;
  /** CPU time per notification through (both deliveries), ms, per process. */
  cpuMsPerNotification: Record<string, number>;
  /** Messages the services published for this phase's notifications (from its start until all had left). */
  brokerMessages: number;
  brokerMessagesPerNotification: number;
  generator: LoopReport;
}

export interface DispatchRun {
  phases: DispatchPhase[];
  max: DispatchPhase;
  messageCountCheck: MessageCountCheck;
  settings: Record<string, unknown>;
}

/** Deliveries through so far: in-app DELIVERED (status) plus console sends (notification). */
async function through(urls: Record<ServiceName, string>): Promise<number> {
  const [inApp, console] = await Promise.all([
    counter(urls.status, 'pulse_notification_deliveries_final_total', { channel: 'in_app', state: 'delivered' }),
    counter(urls.notification, 'pulse_delivery_attempts_total', { channel: 'email', outcome: 'sent' }),
  ]);
  return inApp + console;
}

export async function createUsers(clients: Clients, users: number): Promise<void> {
  for (let k = 0; k < users; k += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, users - k) }, (_, j) =>
        withRetry(() =>
          clients.preference.updatePreferences({
            preferences: { userId: `user-${k + j}`, contacts: { email: `user-${k + j}@example.test` }, defaultChannels: [Channel.IN_APP, Channel.EMAIL] },
            updateMask: { paths: ['contacts.email', 'default_channels'] },
          }),
        ),
      ),
    );
  }
}

export function notificationRequest(run: string, i: number, users: number) {
  return create(SendNotificationRequestSchema, {
    idempotencyKey: `${run}-n${i}`,
    recipient: { target: { case: 'userId', value: `user-${i % users}` } },
    notificationType: 'bench.export-ready',
    priority: Priority.MEDIUM,
    content: {
      title: 'Your export is ready',
      body: 'The conversation export you asked for is ready to download for the next 7 days.',
      data: { export_id: `${run}-x${i}`, format: 'csv' },
    },
  });
}

class Tracker {
  readonly dueAt: Float64Array;
  readonly respondedAt: Float64Array;
  readonly acceptedAt: Float64Array;
  readonly ids: string[];
  accepted = 0;
  readonly rejected: Record<string, number> = {};
  readonly retries = new RetryCounter();

  constructor(
    readonly run: string,
    readonly n: number,
  ) {
    this.dueAt = new Float64Array(n);
    this.respondedAt = new Float64Array(n);
    this.acceptedAt = new Float64Array(n);
    this.ids = new Array<string>(n);
  }

  /** The first message seen for each rejection code. */
  readonly rejectedMessages: Record<string, string> = {};

  reject(code: string, count = 1, message = ''): void {
    this.rejected[code] = (this.rejected[code] ?? 0) + count;
    this.rejectedMessages[code] ??= message.slice(0, 300);
  }
}

function sender(clients: Clients, t: Tracker, users: number) {
  return (items: Due[]) => {
    for (const item of items) t.dueAt[item.index] = item.dueAt;
    withRetry(() => clients.notification.sendNotifications({ notifications: items.map((item) => notificationRequest(t.run, item.index, users)) }), t.retries).then(
      (res) => {
        const at = epochMs();
        for (const r of res.results) {
          const i = items[r.index].index;
          if (r.errorCode || !r.notification) {
            t.reject(r.errorCode || 'no notification', 1, r.errorMessage);
            continue;
          }
          t.respondedAt[i] = at;
          t.acceptedAt[i] = r.notification.createdAt ? timestampMs(r.notification.createdAt) : at;
          t.ids[i] = r.notification.notificationId;
          t.accepted++;
        }
      },
      (err: unknown) => t.reject(`rpc:${Code[ConnectError.from(err).code]}`, items.length, ConnectError.from(err).message),
    );
  };
}

export async function runDispatch(ctx: Context): Promise<{ runs: (DispatchRun & { store: string; storeLabel: string })[] }> {
  return { runs: await onEachStore(ctx.stores, ctx.mongodbUri, (store) => runDispatchOn(ctx, store)) };
}

async function runDispatchOn(ctx: Context, store: StoreSetup): Promise<DispatchRun> {
  const p = ctx.profile.dispatch;
  const vhost = await createVhost(VHOST_PREFIX);
  const { mesh, env, processes, meter } = await startScenarioMesh(ctx, 'dispatch', store, vhost.url, UNLIMITED_RATES);
  const clients = benchClients(mesh.urls, mesh.token);
  const phases: DispatchPhase[] = [];
  let max: DispatchPhase | undefined;
  let messageCountCheck: MessageCountCheck;
  try {
    await createUsers(clients, p.users);
    // The preference changes' events leave after their calls return: let them go before the count starts.
    await settledPublishedMessages(mesh.urls);
    const tap = await openCountingTap(vhost.url);
    try {
      const warmUp = await runPhase('warm-up', { rate: 100, durationMs: 2_000 }, true);
      await waitFor(() => tap.count() >= warmUp.brokerMessages, 5_000, 50);
      messageCountCheck = { routedByBroker: tap.count(), countedByServices: warmUp.brokerMessages };
    } finally {
      await tap.close();
    }
    log(`dispatch [${store.kind}]: warm-up messages routed by the broker ${messageCountCheck.routedByBroker}, counted by the services ${messageCountCheck.countedByServices}`);
    max = await runPhase('max', { window: p.window, durationMs: p.maxDurationMs });
    if (p.latencyDurationMs > 0) {
      await runPhase('50%', { rate: Math.max(10, Math.round(max.notificationsPerSecond * 0.5)), durationMs: p.latencyDurationMs });
    }
  } finally {
    await mesh.stop();
    await vhost.remove();
  }
  print(store.label, phases, messageCountCheck);
  return { phases, max: max!, messageCountCheck, settings: { env, users: p.users, window: p.window, batch: p.batch, channels: ['in_app', 'email (console sink)'], priority: 'MEDIUM' } };

  async function runPhase(name: string, spec: { rate?: number; window?: number; durationMs: number }, quiet = false): Promise<DispatchPhase> {
    const run = `d${phases.length}${Math.random().toString(36).slice(2, 6)}`;
    const capacity = spec.rate ? Math.round((spec.rate * spec.durationMs) / 1000) + 10 : 2_000_000;
    const t = new Tracker(run, capacity);
    const send = sender(clients, t, p.users);
    const base = await through(mesh.urls);
    const published0 = await publishedMessages(mesh.urls);
    let done = base;
    // The window reads the services' counters four times a second.
    let polling = true;
    const poller = (async () => {
      while (polling) {
        done = await through(mesh.urls).catch(() => done);
        await sleep(250);
      }
    })();
    const rejectedCount = () => Object.values(t.rejected).reduce((a, b) => a + b, 0);
    const samples: { at: number; through: number }[] = [];
    const sampler = setInterval(() => samples.push({ at: epochMs(), through: done - base }), 250);
    const otherLoad = await waitQuiet(() => Object.values(processes()).flat(), 0.25, ctx.profile.quietMaxWaitMs);
    log(`dispatch [${store.kind}]: ${name} (${spec.rate ? `${spec.rate}/s` : `window ${spec.window}`}, ${spec.durationMs / 1000} s; other load ${otherLoad} cores)`);
    meter.begin();
    const start = epochMs();
    const generator = spec.rate
      ? await openLoop({ rate: spec.rate, durationMs: spec.durationMs, batchMax: p.batch, send })
      : await windowed({ window: spec.window!, batch: p.batch, durationMs: spec.durationMs, finished: () => (done - base) / 2 + rejectedCount(), send });
    const sendEnd = epochMs();
    const cpuCores = meter.end();
    const sent = generator.sent;
    await waitFor(() => t.accepted + rejectedCount() >= sent && done - base >= 2 * t.accepted, p.drainMs, 50);
    const drainS = (epochMs() - sendEnd) / 1000;
    polling = false;
    clearInterval(sampler);
    await poller;
    const brokerMessages = (await settledPublishedMessages(mesh.urls)) - published0;
    // Steady part: from a quarter into the sending period to its end.
    const from = start + (sendEnd - start) * 0.25;
    const inWindow = samples.filter((s) => s.at >= from && s.at <= sendEnd);
    const deliveredPerSecond =
      inWindow.length >= 2 ? ((inWindow[inWindow.length - 1].through - inWindow[0].through) / (inWindow[inWindow.length - 1].at - inWindow[0].at)) * 1000 : NaN;
    let acceptedInWindow = 0;
    for (let i = 0; i < Math.min(sent, t.n); i++) if (t.respondedAt[i] >= from && t.respondedAt[i] <= sendEnd) acceptedInWindow++;
    const accept: number[] = [];
    for (let i = 0; i < Math.min(sent, t.n); i++) if (t.respondedAt[i]) accept.push(t.respondedAt[i] - t.dueAt[i]);
    const timelines = spec.rate ? await readTimelines(clients, t, Math.min(sent, t.n), ctx.profile.name === 'smoke' ? 200 : 3_000) : undefined;
    const result: DispatchPhase = {
      phase: name,
      offered: spec.rate ? `${spec.rate}/s` : `window ${spec.window}`,
      durationS: round((sendEnd - start) / 1000, 1),
      sent,
      accepted: t.accepted,
      rejected: t.rejected,
      rejectedMessages: t.rejectedMessages,
      retries: t.retries.retries,
      acceptedPerSecond: round((acceptedInWindow / (sendEnd - from)) * 1000),
      deliveredPerSecond: round(deliveredPerSecond),
      notificationsPerSecond: round(deliveredPerSecond / 2),
      drainS: round(drainS, 1),
      latencyMs: {
        accept: percentiles(accept),
        acceptToInApp: percentiles(timelines?.inApp ?? []),
        acceptToConsole: percentiles(timelines?.console ?? []),
        sendToDelivered: percentiles(timelines?.sendToLast ?? []),
      },
      sampled: timelines?.sampled ?? 0,
      cpuCores,
      cpuMsPerNotification: cpuPerItem(cpuCores, spec.rate ?? deliveredPerSecond / 2, ['ingestion', 'sentiment', 'review', 'preference', 'notification', 'status']),
      brokerMessages,
      brokerMessagesPerNotification: t.accepted > 0 ? round(brokerMessages / t.accepted, 2) : NaN,
      generator,
    };
    if (!quiet) phases.push(result);
    log(
      `dispatch [${store.kind}]: ${name}: broker messages/notification ${result.brokerMessagesPerNotification}, accepted ${result.acceptedPerSecond}/s, through ${result.deliveredPerSecond} deliveries/s, sent ${sent}, ` +
        `accepted ${t.accepted}, rejected ${JSON.stringify(t.rejected)} ${JSON.stringify(t.rejectedMessages)}, retries ${t.retries.retries}, drain ${result.drainS} s, cpu ${JSON.stringify(cpuCores)}, cpu ms/notification ${JSON.stringify(result.cpuMsPerNotification)}`,
    );
    await sleep(1_000);
    return result;
  }
}

/** Reads the status timelines of up to `sample` notifications of the phase, evenly spread. */
async function readTimelines(clients: Clients, t: Tracker, sent: number, sample: number) {
  const picks: number[] = [];
  const step = Math.max(1, Math.floor(sent / sample));
  for (let i = 0; i < sent; i += step) if (t.ids[i]) picks.push(i);
  const inApp: number[] = [];
  const console: number[] = [];
  const sendToLast: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < picks.length) {
      const i = picks[next++];
      const { status } = await withRetry(() => clients.status.getStatus({ notificationId: t.ids[i] }));
      let last = 0;
      for (const d of status?.deliveries ?? []) {
        const final = d.channel === Channel.IN_APP ? DeliveryState.DELIVERED : DeliveryState.SENT;
        const step = d.history.find((h) => h.state === final);
        if (!step?.at) continue;
        const at = timestampMs(step.at);
        last = Math.max(last, at);
        (d.channel === Channel.IN_APP ? inApp : console).push(at - t.acceptedAt[i]);
      }
      if (last) sendToLast.push(last - t.dueAt[i]);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return { inApp, console, sendToLast, sampled: picks.length };
}

function print(storeLabel: string, phases: DispatchPhase[], check: MessageCountCheck): void {
  const title = (what: string) => `Scenario 3 - dispatch, ${storeLabel}: ${what}`;
  process.stdout.write(
    table(
      title('SendNotifications to users with in-app + console-sink email (ms; accept from the due time, delivery from acceptance)'),
      ['phase', 'offered', 'accepted/s', 'delivered/s', 'notif. through/s', 'accept p50', 'accept p99', 'accept->in-app p50', 'p99', 'accept->console p50', 'p99', 'due->both p99', 'sampled', 'drain s'],
      phases.map((r) => [
        r.phase,
        r.offered,
        r.acceptedPerSecond,
        r.deliveredPerSecond,
        r.notificationsPerSecond,
        r.latencyMs.accept.p50,
        r.latencyMs.accept.p99,
        r.latencyMs.acceptToInApp.p50,
        r.latencyMs.acceptToInApp.p99,
        r.latencyMs.acceptToConsole.p50,
        r.latencyMs.acceptToConsole.p99,
        r.latencyMs.sendToDelivered.p99,
        r.sampled,
        r.drainS,
      ]),
    ) + '\n',
  );
  process.stdout.write(
    table(title('CPU (cores busy while sending)'), ['phase', ...Object.keys(phases[0]?.cpuCores ?? {})], phases.map((r) => [r.phase, ...Object.values(r.cpuCores)])) + '\n',
  );
  process.stdout.write(
    table(
      title('cost per notification (CPU ms, both deliveries; broker messages published)'),
      ['phase', ...Object.keys(phases[0]?.cpuMsPerNotification ?? {}), 'broker msgs'],
      phases.map((r) => [r.phase, ...Object.values(r.cpuMsPerNotification), r.brokerMessagesPerNotification]),
    ) + '\n',
  );
  process.stdout.write(`\nWarm-up: ${check.routedByBroker} messages routed by the broker, ${check.countedByServices} counted by the services' publish counters.\n`);
}
