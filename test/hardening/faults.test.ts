// Faults with figures. The mesh runs as six processes on RabbitMQ (journalled stores, so kill -9 keeps data), the
// real providers point at loopback stand-ins, and a steady load runs: chat messages (each its own conversation,
// every fifth one angry enough to open a review case and notify the reviewers) and direct notifications to users
// (in-app plus email, Slack or SMS). One fault at a time is injected into the load and repaired:
//   kill -9 of each service in turn (restarted), every broker connection dropped, the primary SMTP relay hanging
//   (email fails over to the secondary relay), both relays hanging (email waits in the store), Slack
//   failing every other call with 503, Twilio answering 429 with Retry-After, and the preference service hung
//   (SIGSTOP): notification's peer breaker opens and SendNotification callers get `unavailable` fast; and the
//   clients' status webhook endpoint answering 500. Through every fault, each delivery's final state must also
//   reach that endpoint as exactly one signed webhook message (retries carry the same webhook-id).
// The client behaves like a real one: it retries a refused request (same message id / idempotency key) until
// accepted. After each fault the test waits for everything accepted to be done and prints one row: submitted,
// delivered, duplicated, lost, dead-lettered, recovery time (from the repair until all work accepted before it, or
// in the second after it, was done; watched every 0.5 s from the start of the load). Lost and duplicated must be 0; dead letters would be legitimate only for an outcome-unknown Slack or SMS
// send, which none of these faults provokes, so they must be 0 too.
//
// Profiles: CI (default) runs each fault under 10 s of load; PULSE_FAULT_PROFILE=long (npm run test:faults) 30 s.
// PULSE_FAULT_LOAD_SECONDS overrides the length, PULSE_FAULTS=<regexp> picks faults by name.
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Author } from '../../gen/pulse/common/v1/conversation_pb.js';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { ReviewCase } from '../../gen/pulse/review/v1/review_service_pb.js';
import type { InboxItem } from '../../gen/pulse/status/v1/status_service_pb.js';
import { SERVICE_NAMES } from '../../services/platform/catalog.js';
import { codeName } from '../../services/platform/errors.js';
import { describeBroker } from '../support/broker.js';
import { type MeshClients, meshClients } from '../support/clients.js';
import { type IsolatedMesh, startIsolatedMesh } from '../mesh/support.js';
import { newWebhookSecret } from '../../services/status/webhooks/signature.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { type Providers, startProviders } from './support/providers.js';

const LONG = process.env.PULSE_FAULT_PROFILE === 'long';
const LOAD_SECONDS = Number(process.env.PULSE_FAULT_LOAD_SECONDS ?? (LONG ? 30 : 10));
/** Units of work per second: chat messages and direct notifications, alternating. */
const UNITS_PER_SECOND = 6;
const AMISS_EVERY = 5;
const SETTLE_TIMEOUT_MS = LONG ? 180_000 : 90_000;
const ONLY = process.env.PULSE_FAULTS ? new RegExp(process.env.PULSE_FAULTS) : undefined;

const CALM = 'Thanks, that helps a lot. Have a nice day!';
const ANGRY = 'This is the third time I am asking. Awful, useless support. Refund me or I cancel my account!';
const TERMINAL = new Set([
  DeliveryState.SENT,
  DeliveryState.DELIVERED,
  DeliveryState.READ,
  DeliveryState.FAILED,
  DeliveryState.DEAD_LETTERED,
  DeliveryState.SUPPRESSED,
  DeliveryState.EXPIRED,
  DeliveryState.CANCELLED,
]);
const DELIVERED = new Set([DeliveryState.SENT, DeliveryState.DELIVERED, DeliveryState.READ]);
const DEAD = new Set([DeliveryState.FAILED, DeliveryState.DEAD_LETTERED]);
const RETRYABLE = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.Unknown, Code.Aborted, Code.ResourceExhausted, Code.Canceled]);

interface Attempt {
  code: string;
  ms: number;
}

interface Unit {
  kind: 'interaction' | 'notification';
  /** message id or idempotency key */
  id: string;
  conversationId?: string;
  amiss?: boolean;
  userId?: string;
  acceptedAt: number;
  /** Refused attempts before it was accepted. */
  refusals: Attempt[];
  doneAt?: number;
  outcome?: 'delivered' | 'dead-lettered';
  notificationId?: string;
  deliveries?: { id: string; channel: Channel; state: DeliveryState }[];
  reviewId?: string;
}

interface Fault {
  name: string;
  /** The users' channels for this round's notifications (users without preferences get in-app only). */
  channels: Channel[] | 'fresh users';
  inject(): Promise<void>;
  repair(): Promise<void>;
  /** When the repair happens, as a fraction of the load (default 0.6). */
  repairAt?: number;
}

interface Row {
  fault: string;
  submitted: number;
  delivered: number;
  duplicated: number;
  lost: number;
  deadLettered: number;
  recovery: number;
  refused: number;
  note: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function pages<T>(fetchPage: (pageToken: string) => Promise<{ items: T[]; next: string }>): Promise<T[]> {
  const all: T[] = [];
  let token = '';
  for (let i = 0; i < 1_000; i++) {
    const { items, next } = await fetchPage(token);
    all.push(...items);
    if (!next) break;
    token = next;
  }
  return all;
}

describeBroker('faults under steady load, one at a time', () => {
  let env: IsolatedMesh;
  let api: MeshClients;
  let providers: Providers;
  let hooks: WebhookReceiver;
  const run = Date.now().toString(36);
  const rows: Row[] = [];

  beforeAll(async () => {
    providers = await startProviders(1_000);
    hooks = await startWebhookReceiver(newWebhookSecret());
    env = await startIsolatedMesh({
      ...providers.env,
      NOTIFICATION_SCHEDULER_INTERVAL_MS: '200',
      NOTIFICATION_RETRY_BASE_MS: '250',
      NOTIFICATION_RETRY_MAX_DELAY_MS: '2000',
      NOTIFICATION_MAX_ATTEMPTS_EMAIL: '40',
      NOTIFICATION_MAX_ATTEMPTS_SLACK: '40',
      NOTIFICATION_MAX_ATTEMPTS_SMS: '40',
      NOTIFICATION_MAX_ATTEMPTS_IN_APP: '40',
      NOTIFICATION_SEND_TIMEOUT_MS: '1500',
      NOTIFICATION_PROCESSING_LEASE_MS: '6000',
      NOTIFICATION_DIGEST_WINDOW_MS: '0',
      NOTIFICATION_RATE_USER_PER_SECOND: '1000',
      NOTIFICATION_RATE_USER_BURST: '1000',
      PULSE_BREAKER_VOLUME: '5',
      PULSE_BREAKER_RESET_MS: '1500',
      PULSE_BREAKER_WINDOW_MS: '5000',
      PULSE_PEER_TIMEOUT_MS: '1000',
      PULSE_SHUTDOWN_GRACE_MS: '500',
      SMTP_TIMEOUT_MS: '1000',
      PULSE_WEBHOOK_ALLOW_HTTP: 'true',
      PULSE_WEBHOOK_ALLOW_PRIVATE: 'true',
      PULSE_WEBHOOK_POLL_MS: '100',
      PULSE_WEBHOOK_BACKOFF_MS: '200',
      PULSE_WEBHOOK_MAX_BACKOFF_MS: '1000',
      PULSE_WEBHOOK_MAX_ATTEMPTS: '100',
    });
    api = meshClients(env.mesh.urls, env.mesh.token);
    await api.status.createWebhookEndpoint({ endpoint: { url: hooks.url, notificationTypes: ['hardening.fault'] }, secret: hooks.secret });
  }, 180_000);

  afterAll(async () => {
    if (rows.length > 0) console.log(`faults: summary (${LONG ? 'long' : 'CI'} profile, ${LOAD_SECONDS} s of load per fault)\n${table(rows)}`);
    await env?.stop();
    await providers?.close();
    await hooks?.close();
  }, 60_000);

  const faults = (): Fault[] => {
    const { smtp, smtpSecondary, slackTap, twilioTap } = providers;
    let slackCalls = 0;
    const list: Fault[] = SERVICE_NAMES.map((name) => ({
      name: `kill -9 ${name}`,
      channels: [Channel.IN_APP, Channel.EMAIL],
      inject: () => env.mesh.kill(name),
      repair: () => env.mesh.startService(name),
    }));
    list.push(
      {
        name: 'broker connections dropped',
        channels: [Channel.IN_APP, Channel.EMAIL],
        inject: () => env.dropBrokerConnections(),
        repair: async () => {},
        repairAt: 0.3,
      },
      {
        name: 'SMTP primary hangs (failover)',
        channels: [Channel.IN_APP, Channel.EMAIL],
        inject: async () => smtp.behave('hang-before-data'),
        repair: async () => smtp.behave('accept'),
        repairAt: 0.7,
      },
      {
        name: 'both SMTP relays hang',
        channels: [Channel.IN_APP, Channel.EMAIL],
        inject: async () => {
          smtp.behave('hang-before-data');
          smtpSecondary.behave('hang-before-data');
        },
        repair: async () => {
          smtp.behave('accept');
          smtpSecondary.behave('accept');
        },
        repairAt: 0.7,
      },
      {
        name: 'Slack fails 50% (503)',
        channels: [Channel.IN_APP, Channel.SLACK],
        inject: async () => {
          slackTap.fault = () => (slackCalls++ % 2 === 0 ? { status: 503, body: { ok: false, error: 'fatal_error' } } : undefined);
        },
        repair: async () => {
          slackTap.fault = undefined;
        },
        repairAt: 0.7,
      },
      {
        name: 'Twilio 429 + Retry-After',
        channels: [Channel.IN_APP, Channel.SMS],
        inject: async () => {
          twilioTap.fault = () => ({
            status: 429,
            headers: { 'retry-after': '1' },
            body: { code: 20429, message: 'Too Many Requests', more_info: 'https://www.twilio.com/docs/errors/20429', status: 429 },
          });
        },
        repair: async () => {
          twilioTap.fault = undefined;
        },
        repairAt: 0.7,
      },
      {
        name: 'webhook endpoint down (500)',
        channels: [Channel.IN_APP, Channel.EMAIL],
        inject: async () => {
          hooks.mode = { kind: 'fail' };
        },
        repair: async () => {
          hooks.mode = { kind: 'accept' };
        },
        repairAt: 0.7,
      },
      {
        name: 'preference hung (peer down)',
        channels: 'fresh users',
        inject: async () => env.mesh.signal('preference', 'SIGSTOP'),
        repair: async () => env.mesh.signal('preference', 'SIGCONT'),
        repairAt: 0.7,
      },
    );
    return list.filter((f) => !ONLY || ONLY.test(f.name));
  };

  /** Submits until accepted, as a client would; refused attempts are kept for the figures. */
  async function submit(unit: Unit, call: () => Promise<unknown>): Promise<void> {
    for (let attempt = 1; attempt <= 240; attempt++) {
      const started = performance.now();
      try {
        const res = await call();
        unit.acceptedAt = Date.now();
        if (unit.kind === 'notification') unit.notificationId = (res as { notification?: { notificationId: string } }).notification?.notificationId;
        return;
      } catch (err) {
        const error = ConnectError.from(err);
        unit.refusals.push({ code: codeName(error.code), ms: performance.now() - started });
        if (!RETRYABLE.has(error.code)) throw new Error(`${unit.id}: ${codeName(error.code)} ${error.rawMessage}`);
        await sleep(error.code === Code.ResourceExhausted ? 1_000 : 250);
      }
    }
    throw new Error(`${unit.id} was never accepted`);
  }

  /** Marks units done when their whole effect is visible; returns how many are still pending. */
  async function poll(units: Unit[], reviews: () => Promise<ReviewCase[]>, reviewerInbox: () => Promise<InboxItem[]>): Promise<number> {
    const pending = units.filter((u) => u.doneAt === undefined && u.acceptedAt > 0);
    const amissPending = pending.filter((u) => u.amiss);
    const cases = amissPending.length > 0 ? await reviews() : [];
    const inbox = amissPending.length > 0 ? await reviewerInbox() : [];
    for (const unit of pending) {
      try {
        if (unit.kind === 'interaction') {
          const { conversation } = await api.sentiment.getConversationSentiment({ conversationId: unit.conversationId! });
          if ((conversation?.mood?.customerMessageCount ?? 0) < 1) continue;
          if (unit.amiss) {
            const found = cases.find((c) => c.conversationId === unit.conversationId);
            if (!found || !inbox.some((i) => i.data.review_id === found.reviewId)) continue;
            unit.reviewId = found.reviewId;
          }
          unit.outcome = 'delivered';
        } else {
          const { notification } = await api.notification.getNotification({ lookup: { case: 'idempotencyKey', value: unit.id } });
          const deliveries = notification?.deliveries ?? [];
          if (deliveries.length === 0 || !deliveries.every((d) => TERMINAL.has(d.state))) continue;
          unit.deliveries = deliveries.map((d) => ({ id: d.deliveryId, channel: d.channel, state: d.state }));
          unit.outcome = deliveries.some((d) => DEAD.has(d.state)) ? 'dead-lettered' : 'delivered';
        }
        unit.doneAt = Date.now();
      } catch {
        // the service answering for it is down right now: ask again next time
      }
    }
    return units.filter((u) => u.doneAt === undefined).length;
  }

  it('loses nothing and does nothing twice through each fault', async () => {
    const { smtp, smtpSecondary, slackTap, twilioTap } = providers;
    const allReviews = () =>
      pages(async (pageToken) => {
        const page = await api.review.listReviews({ pageSize: 200, pageToken });
        return { items: page.reviews, next: page.nextPageToken };
      });
    const inboxOf = (userId: string) =>
      pages(async (pageToken) => {
        const page = await api.status.listInbox({ userId, pageSize: 200, pageToken });
        return { items: page.items, next: page.nextPageToken };
      });

    for (const [round, fault] of faults().entries()) {
      const tag = `f${round}-${run}`;
      const users = Array.from({ length: 4 }, (_, i) => `${tag}-user-${i}`);
      if (fault.channels !== 'fresh users') {
        for (const [i, userId] of users.entries()) {
          await api.preference.updatePreferences({
            preferences: {
              userId,
              contacts: { email: `${userId}@example.com`, phone: `+1555${String(round).padStart(3, '0')}${String(1000 + i)}`, slackUserId: `U0HARD${round}X${i}` },
              defaultChannels: fault.channels,
            },
            updateMask: { paths: ['contacts', 'default_channels'] },
          });
        }
      }

      // The load, with the fault injected and repaired on schedule.
      const units: Unit[] = [];
      const submissions: Promise<void>[] = [];
      const started = Date.now();
      let repairedAt = 0;
      const schedule = (async () => {
        await sleep(LOAD_SECONDS * 1000 * 0.3);
        await fault.inject();
        const injectedAt = Date.now();
        await sleep(Math.max(0, started + LOAD_SECONDS * 1000 * (fault.repairAt ?? 0.6) - Date.now()));
        await fault.repair();
        repairedAt = Math.max(Date.now(), injectedAt);
      })();
      // Completion is watched from the start (every 0.5 s), so each unit's time of completion is known.
      let reviewCache: ReviewCase[] = [];
      const pollOnce = () =>
        poll(
          units,
          async () => (reviewCache = await allReviews().catch(() => reviewCache)),
          () => inboxOf('reviewers').catch(() => []),
        );
      let loading = true;
      const watcher = (async () => {
        while (loading) {
          await pollOnce().catch(() => undefined);
          await sleep(500);
        }
      })();
      const total = LOAD_SECONDS * UNITS_PER_SECOND;
      for (let i = 0; i < total; i++) {
        const due = started + (i * 1000) / UNITS_PER_SECOND;
        await sleep(Math.max(0, due - Date.now()));
        if (i % 2 === 0) {
          const amiss = (i / 2) % AMISS_EVERY === 0;
          const unit: Unit = { kind: 'interaction', id: `${tag}-m${i}`, conversationId: `${tag}-c${i}`, amiss, acceptedAt: 0, refusals: [] };
          units.push(unit);
          submissions.push(
            submit(unit, () =>
              api.ingestion.submitInteraction({ messageId: unit.id, conversationId: unit.conversationId!, customerId: `${tag}-customer`, author: Author.CUSTOMER, text: amiss ? ANGRY : CALM }),
            ),
          );
        } else {
          const userId = fault.channels === 'fresh users' ? `${tag}-fresh-${i}` : users[i % users.length];
          const unit: Unit = { kind: 'notification', id: `${tag}-n${i}`, userId, acceptedAt: 0, refusals: [] };
          units.push(unit);
          submissions.push(
            submit(unit, () =>
              api.notification.sendNotification({
                idempotencyKey: unit.id,
                recipient: { target: { case: 'userId', value: userId } },
                notificationType: 'hardening.fault',
                priority: Priority.HIGH,
                content: { title: `Fault check ${unit.id}`, body: `Unit ${unit.id} of round ${fault.name}` },
              }),
            ),
          );
        }
      }
      await schedule;
      await Promise.all(submissions);
      loading = false;
      await watcher;

      // Everything accepted gets done (or is lost).
      const settleDeadline = Date.now() + SETTLE_TIMEOUT_MS;
      while (Date.now() < settleDeadline) {
        if ((await pollOnce()) === 0) break;
        await sleep(500);
      }
      await sleep(1_500); // anything done twice has time to show

      // Duplicates: each effect counted where it lands.
      const duplicated = new Set<string>();
      const cases = await allReviews();
      const reviewerItems = await inboxOf('reviewers');
      for (const unit of units.filter((u) => u.kind === 'interaction' && u.doneAt)) {
        const { conversation } = await api.sentiment.getConversationSentiment({ conversationId: unit.conversationId! });
        if ((conversation?.mood?.customerMessageCount ?? 0) > 1) duplicated.add(unit.id);
        if (unit.amiss) {
          const mine = cases.filter((c) => c.conversationId === unit.conversationId);
          if (mine.length > 1) duplicated.add(unit.id);
          if (reviewerItems.filter((i) => i.data.review_id === unit.reviewId).length > 1) duplicated.add(unit.id);
        }
      }
      const inboxes = new Map<string, InboxItem[]>();
      let resentSameMessageId = 0;
      for (const unit of units.filter((u) => u.kind === 'notification' && u.doneAt)) {
        if (!inboxes.has(unit.userId!)) inboxes.set(unit.userId!, await inboxOf(unit.userId!));
        for (const delivery of unit.deliveries ?? []) {
          let copies = 0;
          if (delivery.channel === Channel.IN_APP) copies = inboxes.get(unit.userId!)!.filter((i) => i.deliveryId === delivery.id).length;
          if (delivery.channel === Channel.EMAIL) {
            const mails = [...smtp.received, ...smtpSecondary.received].filter(
              (m) => m.acknowledged && m.parsed.headers.get('x-pulse-delivery-id') === delivery.id,
            );
            // A resend after an unknown outcome carries the same Message-ID, so the mail system drops the copy.
            const ids = new Set(mails.map((m) => m.parsed.messageId));
            if (mails.length > ids.size) resentSameMessageId += mails.length - ids.size;
            copies = ids.size;
          }
          const mine = (text: string) => text.includes(`Unit ${unit.id} of round`);
          if (delivery.channel === Channel.SLACK) copies = slackTap.exchanges.filter((e) => e.status === 200 && mine(sentText(e.body, 'text'))).length;
          if (delivery.channel === Channel.SMS) copies = twilioTap.exchanges.filter((e) => e.status === 201 && mine(sentText(e.body, 'Body'))).length;
          if (DELIVERED.has(delivery.state) && copies !== 1) duplicated.add(`${unit.id}/${delivery.id} (${Channel[delivery.channel]} x${copies})`);
        }
      }
      // Each delivery's final state reached the webhook endpoint as exactly one message (by webhook-id).
      const expected = units
        .filter((u) => u.kind === 'notification' && u.doneAt)
        .flatMap((u) => (u.deliveries ?? []).map((d) => ({ unit: u.id, key: `${d.id}/${DeliveryState[d.state]}` })));
      const hookIds = () => {
        const ids = new Map<string, Set<string>>();
        for (const m of hooks.accepted) {
          const key = `${m.body.data.delivery_id}/${m.body.data.state}`;
          ids.set(key, (ids.get(key) ?? new Set()).add(m.id));
        }
        return ids;
      };
      const allHooked = () => {
        const ids = hookIds();
        return expected.every((e) => ids.has(e.key));
      };
      for (let i = 0; i < 60 && !allHooked(); i++) await sleep(500);
      const hooked = hookIds();
      const webhookMissing = expected.filter((e) => !hooked.has(e.key));
      for (const e of expected) if ((hooked.get(e.key)?.size ?? 0) > 1) duplicated.add(`${e.unit} webhook ${e.key} x${hooked.get(e.key)!.size}`);
      if (hooks.forged > 0) duplicated.add(`${hooks.forged} webhook requests with a bad signature`);

      const depths = await env.queueDepths();
      const deadLetterQueues = Object.entries(depths).filter(([q, n]) => q.endsWith('.dlq') && n > 0);

      // Work accepted before the repair, and in the second after it (a broker drop is over the moment it happens;
      // what it delays is the work that comes next).
      const beforeRepair = units.filter((u) => u.acceptedAt > 0 && u.acceptedAt <= repairedAt + 1_000);
      if (process.env.PULSE_FAULT_DEBUG) {
        const late = beforeRepair.filter((u) => u.doneAt).sort((a, b) => b.doneAt! - a.doneAt!).slice(0, 5);
        console.log(`faults: slowest before repair: ${late.map((u) => `${u.id} accepted ${((u.acceptedAt - started) / 1000).toFixed(1)} s, done ${((u.doneAt! - repairedAt) / 1000).toFixed(1)} s after repair ${JSON.stringify(u.deliveries?.map((d) => Channel[d.channel]))}`).join('; ')} (repair at ${((repairedAt - started) / 1000).toFixed(1)} s)`);
      }
      const lastDone = Math.max(repairedAt, ...beforeRepair.map((u) => u.doneAt ?? Date.now()));
      const refusals = units.flatMap((u) => u.refusals);
      const row: Row = {
        fault: fault.name,
        submitted: units.length,
        delivered: units.filter((u) => u.outcome === 'delivered').length,
        duplicated: duplicated.size,
        lost: units.filter((u) => u.doneAt === undefined).length + new Set(webhookMissing.map((e) => e.unit)).size,
        deadLettered: units.filter((u) => u.outcome === 'dead-lettered').length + deadLetterQueues.reduce((n, [, d]) => n + d, 0),
        recovery: (lastDone - repairedAt) / 1000,
        refused: refusals.length,
        note: note(fault, units, resentSameMessageId, deadLetterQueues),
      };
      rows.push(row);
      console.log(`faults: ${table([row])}`);
      if (duplicated.size > 0) console.log(`faults: duplicated ${[...duplicated].slice(0, 10).join(', ')}`);
      if (webhookMissing.length > 0) console.log(`faults: webhook messages missing for ${webhookMissing.slice(0, 10).map((e) => e.key).join(', ')}`);
      if (row.lost > 0) {
        console.log(`faults: lost ${units.filter((u) => !u.doneAt).slice(0, 10).map((u) => `${u.id}${u.deliveries ? '' : ' (no terminal state)'}`).join(', ')}`);
        console.log(`faults: queue depths ${JSON.stringify(Object.entries(depths).filter(([, n]) => n > 0))}`);
        console.log(env.logs.filter((l) => /"level":"(warn|error|fatal)"/.test(l)).slice(-20).join('\n'));
      }
    }

    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect({ fault: row.fault, lost: row.lost, duplicated: row.duplicated, deadLettered: row.deadLettered }).toEqual({
        fault: row.fault,
        lost: 0,
        duplicated: 0,
        deadLettered: 0,
      });
    }
    // The peer breaker: once open, callers are refused at once instead of waiting for the hung peer.
    const peer = rows.find((r) => r.fault.startsWith('preference hung'));
    if (peer) expect(peer.note).toMatch(/breaker/);
  }, (LONG ? 60 : 30) * 60_000);

  function note(fault: Fault, units: Unit[], resent: number, dlqs: [string, number][]): string {
    const parts: string[] = [];
    if (fault.channels === 'fresh users') {
      const failures = units.filter((u) => u.kind === 'notification').flatMap((u) => u.refusals).filter((a) => a.code === 'unavailable');
      const ms = failures.map((a) => a.ms).sort((a, b) => a - b);
      const at = (p: number) => Math.round(ms[Math.min(ms.length - 1, Math.floor((ms.length * p) / 100))] ?? 0);
      const fast = ms.filter((m) => m < 100).length;
      const slow = ms.filter((m) => m >= 900).length;
      parts.push(
        `SendNotification unavailable x${ms.length}: p50 ${at(50)} ms, p95 ${at(95)} ms, max ${at(100)} ms; ${fast} in <100 ms (breaker open), ${slow} after the 1 s peer timeout`,
      );
    }
    const codes = new Map<string, number>();
    for (const a of units.flatMap((u) => u.refusals)) codes.set(a.code, (codes.get(a.code) ?? 0) + 1);
    if (codes.size > 0 && fault.channels !== 'fresh users') parts.push(`refused with ${[...codes].map(([c, n]) => `${c} x${n}`).join(', ')}`);
    if (resent > 0) parts.push(`${resent} email resent with the same Message-ID after an unknown outcome`);
    if (dlqs.length > 0) parts.push(`event DLQs: ${dlqs.map(([q, n]) => `${q}=${n}`).join(', ')}`);
    return parts.join('; ');
  }
});

/** A field of a provider request body, JSON or form-encoded. */
function sentText(body: string, field: string): string {
  const trimmed = body.trim();
  if (trimmed.startsWith('{')) return String((JSON.parse(trimmed) as Record<string, unknown>)[field] ?? '');
  return new URLSearchParams(trimmed).get(field) ?? '';
}

function table(rows: Row[]): string {
  const head = ['fault', 'submitted', 'delivered', 'duplicated', 'lost', 'dead-lettered', 'recovery (s)', 'refused while down', 'note'];
  const cells = rows.map((r) => [
    r.fault,
    String(r.submitted),
    String(r.delivered),
    String(r.duplicated),
    String(r.lost),
    String(r.deadLettered),
    r.recovery.toFixed(1),
    String(r.refused),
    r.note,
  ]);
  const all = [head, ...cells];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) => r.map((c, i) => (i === 0 || i === head.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')).join('\n');
}
