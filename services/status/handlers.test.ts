import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { durationFromMs, timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { type Client, Code, createClient, createRouterTransport } from '@connectrpc/connect';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Channel, DeliveryState as S, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { type NotificationStatusChanged, NotificationStatusChangedSchema } from '../../gen/pulse/events/v1/events_pb.js';
import { type NotificationStatus, StatusService, type WatchStatusResponse } from '../../gen/pulse/status/v1/status_service_pb.js';
import { movesForward } from '../common/delivery-state.js';
import { HISTORY_RETENTION_SECONDS } from '../common/history.js';
import type { Consumer } from '../platform/bus/bus.js';
import { Metrics } from '../platform/metrics.js';
import { asCaller } from '../platform/access.js';
import { fullAccessCaller } from '../platform/auth.js';
import { statusHandlers } from './handlers.js';
import { InboxRepository } from './inbox.js';
import { DeliveryMetrics } from './metrics.js';
import { statusChangeHandler } from './status-changes.js';
import { StatusRepository } from './statuses.js';
import { interleaving, type TestPlatform, testPlatform } from '../../test/support/platform.js';
import { until } from '../../test/support/poll.js';
import { failureOf } from '../../test/support/rejection.js';
import { StatusFeed } from './watch.js';

const log = pino({ level: 'silent' });
import { EndpointsRepository } from './webhooks/endpoints.js';
import { MessagesRepository } from './webhooks/messages.js';
import { WebhookRecorder } from './webhooks/recorder.js';
let platform: TestPlatform;
let statuses: StatusRepository;
let inbox: InboxRepository;
let feed: StatusFeed;
let consumer: Consumer;
/** No endpoints here: webhooks are tested in webhooks/*.test.ts and test/delivery/webhooks.test.ts. */
let webhooks: WebhookRecorder;
let api: Client<typeof StatusService>;
let handled = 0;
/** Polls the watchers' feed made, to wait for one to have looked. */
let polls = 0;

/** Real time (moved on by `laterMs`), but strictly increasing, so items stored one after another never share a timestamp. */
let lastMs = 0;
let laterMs = 0;
const now = () => new Date((lastMs = Math.max(Date.now() + laterMs, lastMs + 1)));

beforeEach(async () => {
  platform = await testPlatform('status');
  statuses = new StatusRepository(platform.store, HISTORY_RETENTION_SECONDS);
  inbox = new InboxRepository(platform.store, HISTORY_RETENTION_SECONDS);
  await statuses.init();
  await inbox.init();
  polls = 0;
  lastMs = laterMs = 0;
  const counted = { changedSince: (...args: Parameters<StatusRepository['changedSince']>) => (polls++, statuses.changedSince(...args)) };
  feed = new StatusFeed(counted, { pollMs: 50, overlapMs: 1_000, log });
  const metrics = new DeliveryMetrics(platform.metrics);
  webhooks = new WebhookRecorder(new EndpointsRepository(platform.store), new MessagesRepository(platform.store, HISTORY_RETENTION_SECONDS));
  consumer = await platform.consume({
    purpose: 'changes',
    events: ['notification.status.changed'],
    prefetch: 64,
    handle: statusChangeHandler({ statuses, inbox, feed, metrics, webhooks, log, now }),
  });
  const handlers = statusHandlers({ store: platform.store, statuses, inbox, feed, metrics, webhooks, watch: { maxMs: 20_000, graceMs: 300 }, now });
  // Per-user access is tested in test/access; here the caller may use any inbox and status.
  const router = { interceptors: [asCaller(fullAccessCaller('tester'))] };
  api = createClient(StatusService, createRouterTransport((r) => r.service(StatusService, handlers), { router }));
  handled = 0;
});

afterEach(async () => {
  await consumer.cancel();
  await platform.close();
});

/** Publishes the events as notification would (one unit of work) and waits until the consumer handled them all. */
async function send(...events: NotificationStatusChanged[]): Promise<void> {
  await platform.transaction(async (tx) => {
    for (const event of events) await tx.emit('notification.status.changed', event);
  });
  handled += events.length;
  await until(`${handled} events handled`, async () => (await platform.store.collection('inbox').countDocuments({})) >= handled);
}

const ACCEPTED_AT = new Date(Date.now() - 60_000);
let seq = 0;
type ChangeInit = MessageInitShape<typeof NotificationStatusChangedSchema>;
function change(init: ChangeInit): NotificationStatusChanged {
  seq++;
  const defaults: ChangeInit = {
    eventId: `evt-${seq}`,
    occurredAt: timestampFromDate(new Date(ACCEPTED_AT.getTime() + seq)),
    notificationId: 'ntf-1',
    recipient: { target: { case: 'topic', value: 'review' } },
    priority: Priority.HIGH,
    notificationType: 'review.required',
    acceptedAt: timestampFromDate(ACCEPTED_AT),
  };
  return create(NotificationStatusChangedSchema, { ...defaults, ...init } as ChangeInit);
}

/** The SENT change with which an in-app worker hands a delivery to the inbox. */
const handOver = (notificationId: string, userId: string, deliveryId = `dlv-${notificationId}`) =>
  change({
    notificationId,
    deliveryId,
    userId,
    channel: Channel.IN_APP,
    state: S.SENT,
    attempt: 1,
    provider: 'in-app',
    inbox: { title: `About ${notificationId}`, body: 'A case needs you', data: { review_id: `rev-${notificationId}` } },
  });

const stateOf = async (notificationId: string) => (await api.getStatus({ notificationId })).status!;
const summary = (status: NotificationStatus) => ({
  state: S[status.state],
  deliveries: status.deliveries.map((d) => `${d.deliveryId}:${S[d.state]}@${d.attempt}/${d.provider}`),
});

/** A deterministic shuffle (Park-Miller), so a failure can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 48_271) % 2_147_483_647;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('applying status changes', () => {
  it('moves every timeline only forward, whatever order the events arrive in', async () => {
    for (const seed of [1, 7, 42, 1234, 99_999]) {
      const id = `ntf-shuffle-${seed}`;
      const email = { notificationId: id, deliveryId: `${id}-email`, channel: Channel.EMAIL, provider: 'smtp' };
      const sms = { notificationId: id, deliveryId: `${id}-sms`, channel: Channel.SMS, provider: 'twilio' };
      const events = [
        change({ notificationId: id, state: S.ACCEPTED }),
        change({ ...email, state: S.PROCESSING, attempt: 1 }),
        change({ ...email, state: S.SENT, attempt: 1 }),
        change({ ...email, state: S.DELIVERED, attempt: 1 }),
        change({ ...sms, state: S.PROCESSING, attempt: 1 }),
        change({ ...sms, state: S.DEFERRED, attempt: 2, reason: 'provider answered 503; retrying' }),
        change({ ...sms, state: S.PROCESSING, attempt: 2 }),
        change({ ...sms, state: S.SENT, attempt: 2 }),
      ];
      await send(...shuffled(events, seed));
      const status = await stateOf(id);
      expect(summary(status)).toEqual({ state: 'DELIVERED', deliveries: [`${id}-email:DELIVERED@1/smtp`, `${id}-sms:SENT@2/twilio`] });
      expect(status).toMatchObject({ priority: Priority.HIGH, notificationType: 'review.required', recipient: { target: { case: 'topic', value: 'review' } } });
      expect(timestampDate(status.acceptedAt!)).toEqual(ACCEPTED_AT);
      for (const delivery of status.deliveries) {
        for (let i = 1; i < delivery.history.length; i++) {
          expect(movesForward(delivery.history[i - 1], delivery.history[i])).toBe(true);
        }
      }
    }
  });

  it('keeps the notification ACCEPTED until it has deliveries', async () => {
    await send(change({ notificationId: 'ntf-new', state: S.ACCEPTED, recipient: { target: { case: 'userId', value: 'ann' } } }));
    const status = await stateOf('ntf-new');
    expect(summary(status)).toEqual({ state: 'ACCEPTED', deliveries: [] });
    expect(status.recipient!.target).toEqual({ case: 'userId', value: 'ann' });
  });

  it('stores an in-app hand-over in the inbox and marks it DELIVERED, once', async () => {
    await send(handOver('ntf-in', 'reviewers'));
    const { items, unreadCount } = await api.listInbox({ userId: 'reviewers' });
    expect(unreadCount).toBe(1);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ notificationId: 'ntf-in', deliveryId: 'dlv-ntf-in', title: 'About ntf-in', priority: Priority.HIGH });
    expect(items[0].data).toEqual({ review_id: 'rev-ntf-in' });
    expect(items[0].readAt).toBeUndefined();

    const status = await stateOf('ntf-in');
    expect(summary(status)).toEqual({ state: 'DELIVERED', deliveries: ['dlv-ntf-in:DELIVERED@1/inbox'] });
    expect(status.deliveries[0].userId).toBe('reviewers');
    expect(status.deliveries[0].history.map((h) => [S[h.state], h.provider])).toEqual([
      ['SENT', 'in-app'],
      ['DELIVERED', 'inbox'],
    ]);

    await send(handOver('ntf-in', 'reviewers')); // the same hand-over again, as a new event
    expect((await api.listInbox({ userId: 'reviewers' })).items).toHaveLength(1);
    expect((await stateOf('ntf-in')).deliveries[0].history).toHaveLength(2);

    const text = await platform.metrics.text();
    expect(text).toMatch(/pulse_delivery_latency_seconds_count\{[^}]*channel="in_app"[^}]*priority="high"[^}]*\} 1\n/);
    expect(text).toMatch(/pulse_notification_deliveries_final_total\{[^}]*channel="in_app"[^}]*state="delivered"[^}]*\} 1\n/);
  });

  it('applies an acceptance with its deliveries in one event, handing the in-app one to the inbox', async () => {
    const accepted = change({
      notificationId: 'ntf-acc',
      recipient: { target: { case: 'userId', value: 'ivy' } },
      userId: 'ivy',
      state: S.ACCEPTED,
      deliveryChanges: [
        { deliveryId: 'dlv-acc-email', userId: 'ivy', channel: Channel.EMAIL, state: S.ACCEPTED, provider: 'smtp' },
        { deliveryId: 'dlv-acc-sms', userId: 'ivy', channel: Channel.SMS, state: S.DEFERRED, attempt: 1, provider: 'twilio', reason: 'quiet hours' },
        { deliveryId: 'dlv-acc-app', userId: 'ivy', channel: Channel.IN_APP, state: S.ACCEPTED, provider: 'inbox' },
        { deliveryId: 'dlv-acc-app', userId: 'ivy', channel: Channel.IN_APP, state: S.SENT, attempt: 1, provider: 'inbox', inbox: { title: 'Welcome' } },
      ],
    });
    await send(accepted);
    const status = await stateOf('ntf-acc');
    expect(summary(status)).toEqual({
      state: 'DELIVERED',
      deliveries: ['dlv-acc-app:DELIVERED@1/inbox', 'dlv-acc-email:ACCEPTED@0/smtp', 'dlv-acc-sms:DEFERRED@1/twilio'],
    });
    expect(status.deliveries[0].history.map((h) => `${S[h.state]}#${h.attempt}`)).toEqual(['ACCEPTED#0', 'SENT#1', 'DELIVERED#1']);
    expect(status.deliveries[2].reason).toBe('quiet hours');
    expect((await api.listInbox({ userId: 'ivy' })).items.map((i) => [i.deliveryId, i.title])).toEqual([['dlv-acc-app', 'Welcome']]);

    // The outcome that follows moves the email on; the same acceptance again (a new event) changes nothing.
    await send(change({ notificationId: 'ntf-acc', deliveryId: 'dlv-acc-email', userId: 'ivy', channel: Channel.EMAIL, state: S.SENT, attempt: 1, provider: 'smtp' }));
    await send(create(NotificationStatusChangedSchema, { ...accepted, eventId: 'evt-acc-again' }));
    const after = await stateOf('ntf-acc');
    expect(summary(after).deliveries).toEqual(['dlv-acc-app:DELIVERED@1/inbox', 'dlv-acc-email:SENT@1/smtp', 'dlv-acc-sms:DEFERRED@1/twilio']);
    expect(after.deliveries[1].history.map((h) => S[h.state])).toEqual(['ACCEPTED', 'SENT']);
    expect((await api.listInbox({ userId: 'ivy' })).items).toHaveLength(1);
  });

  it('refuses a delivery change without a delivery id', async () => {
    const bad = change({ notificationId: 'ntf-bad', state: S.ACCEPTED, deliveryChanges: [{ channel: Channel.EMAIL, state: S.ACCEPTED }] });
    await platform.transaction(async (tx) => tx.emit('notification.status.changed', bad));
    await until('the event dead-lettered', () => platform.bus.peek('pulse.status.dlq').some((d) => d.id === bad.eventId));
    await expect(api.getStatus({ notificationId: 'ntf-bad' })).rejects.toThrow();
  });

  it('leaves a SENT without inbox content as SENT', async () => {
    await send(change({ notificationId: 'ntf-bare', deliveryId: 'dlv-bare', userId: 'ann', channel: Channel.IN_APP, state: S.SENT, attempt: 1 }));
    expect(summary(await stateOf('ntf-bare')).deliveries).toEqual(['dlv-bare:SENT@1/']);
    expect((await api.listInbox({ userId: 'ann' })).items).toEqual([]);
  });
});

describe('the inbox', () => {
  it('marks the user own items read, moves their deliveries to READ and counts what is left', async () => {
    await send(handOver('ntf-a', 'ann'), handOver('ntf-b', 'ann'), handOver('ntf-c', 'bob'));
    const first = await api.markRead({ userId: 'ann', notificationIds: ['ntf-a', 'ntf-c', 'ntf-unknown'] });
    expect(first).toMatchObject({ markedCount: 1, unreadCount: 1 });
    expect(await api.markRead({ userId: 'ann', notificationIds: ['ntf-a'] })).toMatchObject({ markedCount: 0, unreadCount: 1 });

    expect(summary(await stateOf('ntf-a'))).toEqual({ state: 'READ', deliveries: ['dlv-ntf-a:READ@1/inbox'] });
    expect(summary(await stateOf('ntf-c')).state).toBe('DELIVERED'); // bob's item: not ann's to mark
    const all = await api.listInbox({ userId: 'ann' });
    expect(all.items.map((i) => [i.notificationId, i.readAt !== undefined])).toEqual([
      ['ntf-b', false],
      ['ntf-a', true],
    ]);
    expect((await api.listInbox({ userId: 'ann', unreadOnly: true })).items.map((i) => i.notificationId)).toEqual(['ntf-b']);
    expect((await api.listInbox({ userId: 'bob' })).unreadCount).toBe(1);

    expect(await failureOf(api.markRead({ userId: 'ann', notificationIds: [] }))).toBe('InvalidArgument: notification_ids: must not be empty');
    expect(await failureOf(api.markRead({ userId: '', notificationIds: ['x y'] }))).toMatch(/user_id: is required; notification_ids\[0\]/);
  });

  it('pages newest first, and a page token is unaffected by items arriving meanwhile', async () => {
    for (let i = 1; i <= 5; i++) await send(handOver(`ntf-p${i}`, 'pat'));
    const ids = (items: { notificationId: string }[]) => items.map((i) => i.notificationId);
    const page1 = await api.listInbox({ userId: 'pat', pageSize: 2 });
    expect(ids(page1.items)).toEqual(['ntf-p5', 'ntf-p4']);
    expect(page1.unreadCount).toBe(5);

    await send(handOver('ntf-p6', 'pat'));
    const page2 = await api.listInbox({ userId: 'pat', pageSize: 2, pageToken: page1.nextPageToken });
    expect(ids(page2.items)).toEqual(['ntf-p3', 'ntf-p2']);
    const page3 = await api.listInbox({ userId: 'pat', pageSize: 2, pageToken: page2.nextPageToken });
    expect(ids(page3.items)).toEqual(['ntf-p1']);
    expect(page3.nextPageToken).toBe('');
    expect(ids((await api.listInbox({ userId: 'pat', pageSize: 2 })).items)).toEqual(['ntf-p6', 'ntf-p5']);
    expect((await api.listInbox({ userId: 'pat' })).items).toHaveLength(6);

    expect(await failureOf(api.listInbox({ userId: 'pat', pageToken: 'garbage' }))).toMatch(/^InvalidArgument: page_token/);
    expect(await failureOf(api.listInbox({ userId: 'pat', pageSize: 201 }))).toMatch(/^InvalidArgument: page_size/);
  });

  it('keeps a page token to the user and filter it was issued for', async () => {
    for (let i = 1; i <= 3; i++) await send(handOver(`ntf-q${i}`, 'quinn'), handOver(`ntf-r${i}`, 'rae'));
    const first = await api.listInbox({ userId: 'quinn', pageSize: 1 });
    expect(first.nextPageToken).not.toBe('');
    const otherFilters = /^InvalidArgument: page_token: was issued for other filters/;
    expect(await failureOf(api.listInbox({ userId: 'rae', pageSize: 1, pageToken: first.nextPageToken }))).toMatch(otherFilters);
    expect(await failureOf(api.listInbox({ userId: 'quinn', unreadOnly: true, pageToken: first.nextPageToken }))).toMatch(otherFilters);
    // page_size may change between pages
    const rest = await api.listInbox({ userId: 'quinn', pageSize: 10, pageToken: first.nextPageToken });
    expect(rest.items.map((i) => i.notificationId)).toEqual(['ntf-q2', 'ntf-q1']);
    expect(rest.nextPageToken).toBe('');
  });
});

/** The next message of a stream, failing the test instead of hanging when none comes. */
async function next(stream: AsyncIterator<WatchStatusResponse>, ms = 5_000): Promise<IteratorResult<WatchStatusResponse>> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      stream.next(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no stream message within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const watchedState = async (stream: AsyncIterator<WatchStatusResponse>) => {
  const result = await next(stream);
  return result.done ? 'end' : summary(result.value.status!);
};

describe('WatchStatus', () => {
  it('streams the current status, then each change, and ends when every delivery is terminal', async () => {
    await send(change({ notificationId: 'ntf-w', state: S.ACCEPTED, recipient: { target: { case: 'userId', value: 'ann' } } }));
    const stream = api.watchStatus({ subject: { case: 'notificationId', value: 'ntf-w' } })[Symbol.asyncIterator]();
    expect(await watchedState(stream)).toEqual({ state: 'ACCEPTED', deliveries: [] });

    await send(change({ notificationId: 'ntf-w', deliveryId: 'dlv-w', userId: 'ann', channel: Channel.IN_APP, state: S.PROCESSING, attempt: 1 }));
    expect(await watchedState(stream)).toEqual({ state: 'PROCESSING', deliveries: ['dlv-w:PROCESSING@1/'] });

    await send(handOver('ntf-w', 'ann', 'dlv-w'));
    expect(await watchedState(stream)).toEqual({ state: 'DELIVERED', deliveries: ['dlv-w:DELIVERED@1/inbox'] });

    await api.markRead({ userId: 'ann', notificationIds: ['ntf-w'] });
    expect(await watchedState(stream)).toEqual({ state: 'READ', deliveries: ['dlv-w:READ@1/inbox'] });
    expect(await watchedState(stream)).toBe('end');
    expect(feed.listenerCount).toBe(0);
  });

  it('hears of changes applied by another replica through its poll', async () => {
    await send(change({ notificationId: 'ntf-r', deliveryId: 'dlv-r', channel: Channel.SLACK, state: S.PROCESSING, attempt: 1 }));
    const stream = api.watchStatus({ subject: { case: 'notificationId', value: 'ntf-r' } })[Symbol.asyncIterator]();
    expect((await watchedState(stream)) as object).toMatchObject({ state: 'PROCESSING' });

    // Another replica: same store, its own feed, so no in-process note reaches this watcher.
    const elsewhere = new StatusFeed(statuses, { pollMs: 50, overlapMs: 1_000, log });
    const metrics = new DeliveryMetrics(new Metrics('status'));
    const otherReplica = statusChangeHandler({ statuses, inbox, feed: elsewhere, metrics, webhooks, log, now });
    const failed = change({ notificationId: 'ntf-r', deliveryId: 'dlv-r', channel: Channel.SLACK, state: S.FAILED, attempt: 1, provider: 'slack', reason: 'channel_not_found' });
    await platform.transaction((tx) => otherReplica(failed, tx));
    expect(await watchedState(stream)).toEqual({ state: 'FAILED', deliveries: ['dlv-r:FAILED@1/slack'] });
    expect(await watchedState(stream)).toBe('end');
  });

  it('streams a user: first their notifications in flight, then changes of any of theirs only', async () => {
    await send(
      change({ notificationId: 'ntf-u1', deliveryId: 'dlv-u1', userId: 'una', channel: Channel.EMAIL, state: S.PROCESSING, attempt: 1 }),
      change({ notificationId: 'ntf-u2', deliveryId: 'dlv-u2', userId: 'una', channel: Channel.SMS, state: S.SUPPRESSED, reason: 'opted out' }),
    );
    const abort = new AbortController();
    const stream = api.watchStatus({ subject: { case: 'userId', value: 'una' } }, { signal: abort.signal })[Symbol.asyncIterator]();
    const first = await next(stream);
    expect(first.value!.status!.notificationId).toBe('ntf-u1'); // ntf-u2 is settled
    // The feed's look-back finds both recent changes again; neither is news to this stream.
    const seen = polls;
    await until('the feed to poll', () => polls >= seen + 2);

    await send(change({ notificationId: 'ntf-z', deliveryId: 'dlv-z', userId: 'zed', channel: Channel.EMAIL, state: S.PROCESSING, attempt: 1 }));
    await send(handOver('ntf-u3', 'una'));
    const second = await next(stream);
    expect(second.value!.status!.notificationId).toBe('ntf-u3');
    expect(summary(second.value!.status!).state).toBe('DELIVERED');

    await send(change({ notificationId: 'ntf-u1', deliveryId: 'dlv-u1', userId: 'una', channel: Channel.EMAIL, state: S.SENT, attempt: 1 }));
    expect(summary((await next(stream)).value!.status!).deliveries).toEqual(['dlv-u1:SENT@1/']);

    abort.abort();
    await expect(next(stream)).rejects.toThrow();
    await until('the watcher to stop listening', () => feed.listenerCount === 0);
  });

  it('waits briefly for a notification it has not heard of, then answers not_found', async () => {
    const stream = api.watchStatus({ subject: { case: 'notificationId', value: 'ntf-never' } })[Symbol.asyncIterator]();
    await expect(next(stream)).rejects.toMatchObject({ code: Code.NotFound, rawMessage: 'no status for notification "ntf-never"' });

    const late = api.watchStatus({ subject: { case: 'notificationId', value: 'ntf-late' } })[Symbol.asyncIterator]();
    const firstMessage = next(late);
    await send(change({ notificationId: 'ntf-late', state: S.ACCEPTED }));
    expect(summary((await firstMessage).value!.status!).state).toBe('ACCEPTED');
    await late.return?.();
  });

  it('requires a subject', async () => {
    const stream = api.watchStatus({})[Symbol.asyncIterator]();
    await expect(next(stream)).rejects.toMatchObject({ code: Code.InvalidArgument, rawMessage: 'subject: is required: set notification_id or user_id' });
  });
});

describe('history retention', () => {
  const RETENTION_MS = HISTORY_RETENTION_SECONDS * 1000;
  const DAY_MS = 86_400_000;
  /** Runs the store's TTL sweep at atMs; the records of handled events go too, so `send` counts from what is left. */
  const sweep = async (atMs: number) => {
    await platform.store.sweepExpired(new Date(atMs));
    handled = await platform.store.collection('inbox').countDocuments({});
  };
  const kept = async (notificationId: string) => ({
    status: (await statuses.get(notificationId))?.deliveries.length ?? 'gone',
    inbox: (await platform.store.collection('inbox_items').countDocuments({ notificationId })) > 0,
  });

  it('keeps a status while a delivery awaits work, then for the retention after its latest change', async () => {
    const email = { notificationId: 'ntf-h', deliveryId: 'dlv-h-email', channel: Channel.EMAIL, provider: 'smtp', attempt: 1 };
    const sms = { notificationId: 'ntf-h', deliveryId: 'dlv-h-sms', channel: Channel.SMS, provider: 'twilio', attempt: 1 };
    await send(change({ ...email, state: S.SENT }), change({ ...sms, state: S.DEFERRED, reason: 'quiet hours' }));
    await sweep(Date.now() + 10 * RETENTION_MS); // the SMS waits for the morning: nothing goes
    expect(await kept('ntf-h')).toEqual({ status: 2, inbox: false });

    await send(change({ ...sms, state: S.SENT }));
    const restedAt = Date.now();
    await sweep(restedAt + RETENTION_MS - 5_000);
    expect(await kept('ntf-h')).toEqual({ status: 2, inbox: false });
    await sweep(Date.now() + RETENTION_MS + 1_000);
    expect(await kept('ntf-h')).toEqual({ status: 'gone', inbox: false });
    expect(await platform.store.collection('deliveries').countDocuments({ notificationId: 'ntf-h' })).toBe(0);
    expect(await failureOf(api.getStatus({ notificationId: 'ntf-h' }))).toMatch(/^NotFound/);
  });

  it('keeps an inbox item and its status for the retention after delivery, or after it was read', async () => {
    await send(handOver('ntf-unread', 'ann'), handOver('ntf-read', 'ann'));
    const deliveredAt = Date.now();
    laterMs = 20 * DAY_MS;
    await api.markRead({ userId: 'ann', notificationIds: ['ntf-read'] });

    await sweep(deliveredAt + RETENTION_MS + 1_000);
    expect(await kept('ntf-unread')).toEqual({ status: 'gone', inbox: false });
    expect(await kept('ntf-read')).toEqual({ status: 1, inbox: true });
    expect(summary(await stateOf('ntf-read')).state).toBe('READ');

    await sweep(deliveredAt + laterMs + RETENTION_MS + 1_000);
    expect(await kept('ntf-read')).toEqual({ status: 'gone', inbox: false });
  });

  it('decides once every delivery rests, however the changes of a notification interleave', async () => {
    const events: NotificationStatusChanged[] = [];
    const ids = Array.from({ length: 20 }, (_, i) => `ntf-mix${i}`);
    for (const notificationId of ids) {
      for (const channel of [Channel.EMAIL, Channel.SMS]) {
        const delivery = { notificationId, deliveryId: `${notificationId}-${Channel[channel]}`, channel, provider: 'p', attempt: 1 };
        events.push(change({ ...delivery, state: S.PROCESSING }), change({ ...delivery, state: S.SENT }));
      }
    }
    await send(...shuffled(events, 7)); // handled concurrently (prefetch 64)
    type Held = { _id: string; notificationId?: string; purgeAt?: Date | null };
    const notifications = await platform.store.collection<Held>('notifications').find({ _id: { $in: ids } });
    const deliveries = await platform.store.collection<Held>('deliveries').find({ notificationId: { $in: ids } });
    expect(notifications).toHaveLength(20);
    for (const n of notifications) {
      expect(n.purgeAt, n._id).toBeInstanceOf(Date);
      const own = deliveries.filter((d) => d.notificationId === n._id);
      expect(own.map((d) => d.purgeAt?.getTime()), n._id).toEqual([n.purgeAt!.getTime(), n.purgeAt!.getTime()]);
    }
  });

  it('counts again when another change decided meanwhile (compare-and-set), so no stale decision stays', async () => {
    const d = (n: number) => ({ notificationId: 'ntf-cas', deliveryId: `dlv-cas${n}`, channel: Channel.EMAIL, provider: 'smtp', attempt: 1 });
    await send(change({ ...d(1), state: S.SENT }), change({ ...d(2), state: S.PROCESSING }));
    // The second delivery comes to rest, and its change is decided, between the first decision's count and its write.
    const otherChange = () =>
      platform.store.transaction(async (tx) => {
        const at = now();
        await statuses.advanceDelivery(tx, 'dlv-cas2', { state: S.SENT, at, attempt: 1, provider: 'smtp', reason: '' });
        await statuses.bump(tx, 'ntf-cas', at, at, true);
      });
    const race = interleaving(platform.store, 'deliveries', 'updateMany', otherChange);
    const at = now();
    await statuses.bump(race.scope, 'ntf-cas', at, at, true);
    expect(race.ran()).toBe(true);
    const view = (await statuses.get('ntf-cas'))!;
    expect(view.notification.purgeAt).toBeInstanceOf(Date);
    expect(view.deliveries.map((x) => x.purgeAt)).toEqual([view.notification.purgeAt, view.notification.purgeAt]);
  });

  it('lets a failed delivery go after the retention, and keeps it while a replay works on it', async () => {
    const email = { notificationId: 'ntf-f', deliveryId: 'dlv-f', channel: Channel.EMAIL, provider: 'smtp', attempt: 1 };
    await send(change({ ...email, state: S.FAILED, reason: 'mailbox does not exist' }));
    await send(change({ ...email, state: S.DEFERRED, attempt: 2, reason: 'replay' }));
    await sweep(Date.now() + 10 * RETENTION_MS);
    expect(await kept('ntf-f')).toEqual({ status: 1, inbox: false });

    await send(change({ ...email, state: S.FAILED, attempt: 2, reason: 'mailbox does not exist' }));
    await sweep(Date.now() + RETENTION_MS + 1_000);
    expect(await kept('ntf-f')).toEqual({ status: 'gone', inbox: false });
  });
});

describe('GetStatus', () => {
  it('names an unknown notification and rejects a missing id', async () => {
    expect(await failureOf(api.getStatus({ notificationId: 'ntf-nope' }))).toMatch(/^NotFound: no status for notification "ntf-nope"/);
    expect(await failureOf(api.getStatus({ notificationId: '' }))).toBe('InvalidArgument: notification_id: is required');
  });
});

describe('GetDeliveryStats', () => {
  it('counts deliveries accepted in the window by channel, priority and state, with latency percentiles', async () => {
    const events: NotificationStatusChanged[] = [];
    for (let i = 1; i <= 10; i++) {
      const base = { notificationId: `ntf-s${i}`, deliveryId: `dlv-s${i}`, channel: Channel.SLACK, priority: Priority.HIGH, attempt: 1, provider: 'slack' };
      events.push(change({ ...base, state: S.SENT, occurredAt: timestampFromDate(new Date(ACCEPTED_AT.getTime() + i * 50)) }));
      events.push(change({ ...base, state: S.DELIVERED, occurredAt: timestampFromDate(new Date(ACCEPTED_AT.getTime() + i * 100)) }));
    }
    const email = { channel: Channel.EMAIL, priority: Priority.LOW, attempt: 1, provider: 'smtp' };
    // Email reports no delivery: SENT is its arrival.
    events.push(change({ ...email, notificationId: 'ntf-e1', deliveryId: 'dlv-e1', state: S.SENT, occurredAt: timestampFromDate(new Date(ACCEPTED_AT.getTime() + 700)) }));
    events.push(change({ ...email, notificationId: 'ntf-e2', deliveryId: 'dlv-e2', state: S.FAILED, reason: 'rejected' }));
    const twoHoursAgo = timestampFromDate(new Date(Date.now() - 2 * 3_600_000));
    events.push(change({ ...email, notificationId: 'ntf-old', deliveryId: 'dlv-old', state: S.SENT, acceptedAt: twoHoursAgo, occurredAt: twoHoursAgo }));
    await send(...events);

    const { stats, windowStart, windowEnd } = await api.getDeliveryStats({});
    expect(timestampDate(windowEnd!).getTime() - timestampDate(windowStart!).getTime()).toBe(3_600_000);
    const view = stats.map((s) => ({
      channel: Channel[s.channel],
      priority: Priority[s.priority],
      total: Number(s.total),
      states: s.states.map((c) => `${S[c.state]}=${c.count}`),
      p: [s.latencyP50Ms, s.latencyP95Ms, s.latencyP99Ms],
    }));
    expect(view).toEqual([
      { channel: 'EMAIL', priority: 'LOW', total: 2, states: ['SENT=1', 'FAILED=1'], p: [700, 700, 700] },
      { channel: 'SLACK', priority: 'HIGH', total: 10, states: ['DELIVERED=10'], p: [500, 1000, 1000] },
    ]);
    const wide = await api.getDeliveryStats({ window: durationFromMs(3 * 3_600_000) });
    expect(Number(wide.stats.find((s) => s.channel === Channel.EMAIL)!.total)).toBe(3);

    expect(await failureOf(api.getDeliveryStats({ window: durationFromMs(30_000) }))).toMatch(/^InvalidArgument: window: must be between 1 minute and 7 days/);
    expect(await failureOf(api.getDeliveryStats({ window: durationFromMs(8 * 24 * 3_600_000) }))).toMatch(/^InvalidArgument: window/);
    const text = await platform.metrics.text();
    expect(text).toMatch(/pulse_delivery_latency_seconds_count\{[^}]*channel="slack"[^}]*priority="high"[^}]*\} 10\n/);
    // Latencies 100..1000 ms: five of them within the 0.5 s bucket.
    const halfSecond = text.split('\n').find((line) => /^pulse_delivery_latency_seconds_bucket\{/.test(line) && line.includes('channel="slack"') && line.includes('le="0.5"'));
    expect(halfSecond).toMatch(/ 5$/);
    expect(text).toMatch(/pulse_notification_deliveries_final_total\{[^}]*channel="email"[^}]*state="failed"[^}]*\} 1\n/);
    expect(text).toMatch(/pulse_notification_deliveries_final_total\{[^}]*channel="email"[^}]*state="sent"[^}]*\} 2\n/);
    expect(text).toMatch(/pulse_delivery_latency_seconds_count\{[^}]*channel="email"[^}]*priority="low"[^}]*\} 2\n/);
  });
});
