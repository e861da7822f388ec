// The delivery worker, scheduler and dead-letter store, driven through the real module with fake providers.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import {
  type Notification,
  type SendNotificationRequest,
  SendNotificationRequestSchema,
} from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { DeliveryDecision } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { until } from '../../test/support/poll.js';
import { rejectionOf } from '../../test/support/rejection.js';
import type { DeliveryDoc } from './deliveries.js';
import { deliveryJob, laneRoutingKey } from './lanes.js';
import { ProviderError } from './providers/provider.js';
import { type Harness, startHarness } from './test-support.js';

type Overrides = Partial<Pick<SendNotificationRequest, 'priority' | 'expiresAt' | 'notificationType' | 'recipient'>>;

function request(key: string, userId: string, overrides: Overrides = {}): SendNotificationRequest {
  const req = create(SendNotificationRequestSchema, {
    idempotencyKey: key,
    recipient: { target: { case: 'userId', value: userId } },
    notificationType: 'account.notice',
    content: { title: `Notice ${key}`, body: 'Details inside' },
  });
  return Object.assign(req, overrides);
}

const TERMINAL = new Set([
  DeliveryState.SENT,
  DeliveryState.DELIVERED,
  DeliveryState.FAILED,
  DeliveryState.DEAD_LETTERED,
  DeliveryState.EXPIRED,
  DeliveryState.CANCELLED,
]);

async function settled(h: Harness, notificationId: string, timeoutMs = 10_000): Promise<Notification> {
  return until(
    `notification ${notificationId} settled`,
    async () => {
      const { notification } = await h.client.getNotification({ lookup: { case: 'notificationId', value: notificationId } });
      return notification!.deliveries.every((d) => TERMINAL.has(d.state)) && notification;
    },
    timeoutMs,
  );
}

describe('delivery outcomes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { NOTIFICATION_MAX_ATTEMPTS_EMAIL: '3', NOTIFICATION_MAX_ATTEMPTS_SLACK: '3' } });
  });
  afterAll(() => h.stop());
  const email = () => h.providers.get(Channel.EMAIL)!;
  const slack = () => h.providers.get(Channel.SLACK)!;

  it('retries retryable failures with backoff and sends on a later attempt', async () => {
    h.preference.users.set('r1', [{ channel: Channel.SLACK, address: 'U0R1' }]);
    slack().behaviour = (_, call) => {
      if (call <= 2) throw new ProviderError('retryable', 'slack 503');
      return { outcome: 'delivered' };
    };
    const { notification } = await h.client.sendNotification(request('d/retry', 'r1'));
    const done = await settled(h, notification!.notificationId);
    const [d] = done.deliveries;
    expect(d).toMatchObject({ state: DeliveryState.DELIVERED, attempts: 3, reason: '' });
    // PROCESSING is not reported: each attempt's outcome is.
    expect(h.statuses.states(d.deliveryId)).toEqual(['ACCEPTED#0', 'DEFERRED#2', 'DEFERRED#3', 'DELIVERED#3']);
    expect(h.statuses.of(d.deliveryId)[1].reason).toBe('retry: slack 503');
    expect(slack().sent.get(d.deliveryId)).toBe(1);
    slack().succeed();
  });

  it('dead-letters after the channel budget; a permanent failure fails at once; both listed and replayable', async () => {
    h.preference.users.set('p1', [{ channel: Channel.EMAIL, address: 'p1@example.com' }]);
    email().failWith('permanent', 'mailbox does not exist');
    const permanent = await h.client.sendNotification(request('d/permanent', 'p1'));
    const failed = await settled(h, permanent.notification!.notificationId);
    expect(failed.deliveries[0]).toMatchObject({ state: DeliveryState.FAILED, attempts: 1, reason: 'mailbox does not exist' });
    expect(failed.state).toBe(DeliveryState.FAILED);

    email().failWith('retryable', 'smtp 451 try later');
    const exhausted = await h.client.sendNotification(request('d/exhausted', 'p1', { priority: Priority.HIGH }));
    const dead = await settled(h, exhausted.notification!.notificationId);
    expect(dead.deliveries[0]).toMatchObject({ state: DeliveryState.DEAD_LETTERED, attempts: 3 });
    expect(dead.deliveries[0].reason).toBe('smtp 451 try later (gave up after 3 failed attempts)');

    const { deadLetters } = await h.client.listDeadLetters({ filter: { channel: Channel.EMAIL } });
    expect(deadLetters.map((l) => l.deliveryId)).toEqual([dead.deliveries[0].deliveryId, failed.deliveries[0].deliveryId]);
    expect(deadLetters[0]).toMatchObject({ priority: Priority.HIGH, attempts: 3, provider: 'fake-email' });
    const byReason = await h.client.listDeadLetters({ filter: { reason: 'MAILBOX' } });
    expect(byReason.deadLetters.map((l) => l.deliveryId)).toEqual([failed.deliveries[0].deliveryId]);
    expect((await h.client.listDeadLetters({ filter: { channel: Channel.SMS } })).deadLetters).toEqual([]);

    // Replay both: same delivery and notification ids, a new attempt, sent exactly once.
    email().succeed();
    const replay = await h.client.replayDeadLetters({ filter: { channel: Channel.EMAIL }, ratePerSecond: 10 });
    expect(replay.replayedCount).toBe(2);
    expect(new Set(replay.deliveryIds)).toEqual(new Set([failed.deliveries[0].deliveryId, dead.deliveries[0].deliveryId]));
    const resent = await until('replays sent', async () => {
      const a = (await h.client.getNotification({ lookup: { case: 'notificationId', value: failed.notificationId } })).notification!;
      const b = (await h.client.getNotification({ lookup: { case: 'notificationId', value: dead.notificationId } })).notification!;
      return a.state === DeliveryState.SENT && b.state === DeliveryState.SENT && [a, b];
    });
    expect(resent[0].deliveries[0]).toMatchObject({ deliveryId: failed.deliveries[0].deliveryId, attempts: 2 });
    expect(resent[1].deliveries[0]).toMatchObject({ deliveryId: dead.deliveries[0].deliveryId, attempts: 4 });
    expect(email().sent.get(failed.deliveries[0].deliveryId)).toBe(1);
    expect(email().sent.get(dead.deliveries[0].deliveryId)).toBe(1);
    expect(h.statuses.states(failed.deliveries[0].deliveryId)).toEqual(['ACCEPTED#0', 'FAILED#1', 'DEFERRED#2', 'SENT#2']);

    // Replayed letters leave the default listing, stay visible with include_replayed, and are not replayed twice.
    expect((await h.client.listDeadLetters({ filter: { channel: Channel.EMAIL } })).deadLetters).toEqual([]);
    const all = await h.client.listDeadLetters({ filter: { channel: Channel.EMAIL }, includeReplayed: true });
    expect(all.deadLetters.every((l) => l.replayedAt !== undefined)).toBe(true);
    expect((await h.client.replayDeadLetters({ filter: { channel: Channel.EMAIL } })).replayedCount).toBe(0);
  });

  it('dead-letters an unknown outcome on Slack for a person, and retries it on email (Message-ID dedup)', async () => {
    h.preference.users.set('u1', [
      { channel: Channel.SLACK, address: 'U0U1' },
      { channel: Channel.EMAIL, address: 'u1@example.com' },
    ]);
    slack().failWith('unknown_outcome', 'timeout after request was written');
    email().behaviour = (message) => {
      if (message.attempt === 1) throw new ProviderError('unknown_outcome', 'timeout after DATA');
      return { outcome: 'sent' };
    };
    const { notification } = await h.client.sendNotification(request('d/unknown', 'u1'));
    const done = await settled(h, notification!.notificationId);
    const bySlack = done.deliveries.find((d) => d.channel === Channel.SLACK)!;
    const byEmail = done.deliveries.find((d) => d.channel === Channel.EMAIL)!;
    expect(bySlack).toMatchObject({ state: DeliveryState.DEAD_LETTERED, attempts: 1, reason: 'outcome unknown: timeout after request was written' });
    expect(byEmail).toMatchObject({ state: DeliveryState.SENT, attempts: 2 });
    expect(slack().calls.filter((m) => m.deliveryId === bySlack.deliveryId)).toHaveLength(1);
    const letters = await h.client.listDeadLetters({ filter: { reason: 'outcome unknown' } });
    expect(letters.deadLetters.map((l) => l.deliveryId)).toContain(bySlack.deliveryId);
    slack().succeed();
    email().succeed();
  });

  it('pages dead letters newest first', async () => {
    h.preference.users.set('pg', [{ channel: Channel.SMS, address: '+14155550123' }]);
    h.providers.get(Channel.SMS)!.failWith('permanent', 'invalid number');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { notification } = await h.client.sendNotification(request(`d/page/${i}`, 'pg'));
      ids.push((await settled(h, notification!.notificationId)).deliveries[0].deliveryId);
    }
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await h.client.listDeadLetters({ filter: { channel: Channel.SMS }, pageSize: 2, pageToken });
      expect(page.deadLetters.length).toBeLessThanOrEqual(2);
      seen.push(...page.deadLetters.map((l) => l.deliveryId));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual([...ids].reverse());
    const bad = await rejectionOf(h.client.listDeadLetters({ pageToken: 'garbage' }));
    expect(bad.code).toBe(Code.InvalidArgument);
    h.providers.get(Channel.SMS)!.succeed();
  });

  it('pages dead letters matching a reason, and refuses a page token reused under other filters', async () => {
    h.preference.users.set('pr', [{ channel: Channel.SMS, address: '+14155550124' }]);
    const sms = h.providers.get(Channel.SMS)!;
    const unreachable: string[] = [];
    for (const [i, reason] of ['number unreachable', 'carrier refused', 'number unreachable', 'number unreachable'].entries()) {
      sms.failWith('permanent', reason);
      const { notification } = await h.client.sendNotification(request(`d/reason/${i}`, 'pr'));
      const id = (await settled(h, notification!.notificationId)).deliveries[0].deliveryId;
      if (reason === 'number unreachable') unreachable.push(id);
    }
    sms.succeed();
    const seen: string[] = [];
    const tokens: string[] = [];
    let pageToken = '';
    do {
      const page = await h.client.listDeadLetters({ filter: { reason: 'UNREACHABLE' }, pageSize: 1, pageToken });
      seen.push(...page.deadLetters.map((l) => l.deliveryId));
      pageToken = page.nextPageToken;
      tokens.push(pageToken);
    } while (pageToken);
    expect(seen).toEqual([...unreachable].reverse());

    const reused = await rejectionOf(h.client.listDeadLetters({ filter: { reason: 'carrier' }, pageSize: 1, pageToken: tokens[0] }));
    expect(reused.code).toBe(Code.InvalidArgument);
    expect(reused.rawMessage).toMatch(/^page_token: was issued for other filters/);
  });

  it('does not open the breaker on permanent failures: they are about the message, not the provider', async () => {
    const sms = h.providers.get(Channel.SMS)!;
    sms.failWith('permanent', 'invalid number');
    h.preference.users.set('bad-number', [{ channel: Channel.SMS, address: '+10000000000' }]);
    const sent = await Promise.all(Array.from({ length: 15 }, (_, i) => h.client.sendNotification(request(`d/bad-number/${i}`, 'bad-number'))));
    const done = await Promise.all(sent.map((r) => settled(h, r.notification!.notificationId)));
    expect(done.map((n) => n.deliveries[0].state)).toEqual(done.map(() => DeliveryState.FAILED));
    const breakers = await h.running.runtime.metrics.breakerState.get();
    expect(breakers.values.find((v) => v.labels.breaker === 'provider:fake-sms')?.value).toBe(0);
    sms.succeed();
  });

  it('drops a deferred delivery with EXPIRED when its notification expires first', async () => {
    h.preference.users.set('x1', [
      { channel: Channel.EMAIL, address: 'x1@example.com', decision: DeliveryDecision.DEFER, deliverAt: new Date(Date.now() + 3_600_000) },
    ]);
    const { notification } = await h.client.sendNotification(request('d/expiry', 'x1', { expiresAt: timestampFromDate(new Date(Date.now() + 300)) }));
    expect(notification!.deliveries[0].state).toBe(DeliveryState.DEFERRED);
    const done = await settled(h, notification!.notificationId);
    expect(done.deliveries[0]).toMatchObject({ state: DeliveryState.EXPIRED, attempts: 0, reason: 'expired before it could be sent' });
    expect(done.state).toBe(DeliveryState.EXPIRED);
    expect(email().calls.filter((m) => m.notificationId === notification!.notificationId)).toHaveLength(0);
  });

  it('drops a queued job whose notification expired before a worker got to it', async () => {
    const deliveries = h.store.collection<DeliveryDoc>('deliveries');
    h.preference.users.set('x2', [{ channel: Channel.EMAIL, address: 'x2@example.com', decision: DeliveryDecision.DEFER, deliverAt: new Date(Date.now() + 3_600_000) }]);
    const { notification } = await h.client.sendNotification(request('d/expiry-queued', 'x2', { expiresAt: timestampFromDate(new Date(Date.now() + 60_000)) }));
    const [d] = await deliveries.find({ notificationId: notification!.notificationId });
    // As if the scheduler released it and the job waited in its lane past the expiry.
    await deliveries.updateOne({ _id: d._id }, { $set: { dueAt: null, jobId: 'job_manual', expiresAt: new Date(Date.now() - 1) } });
    await h.publish(laneRoutingKey('medium'), deliveryJob(d, 'job_manual', 1, new Date()));
    const done = await settled(h, notification!.notificationId);
    expect(done.deliveries[0].state).toBe(DeliveryState.EXPIRED);
  });

  it('ignores a duplicate or outdated job', async () => {
    h.preference.users.set('dup', [{ channel: Channel.EMAIL, address: 'dup@example.com' }]);
    const { notification } = await h.client.sendNotification(request('d/dup-job', 'dup'));
    const done = await settled(h, notification!.notificationId);
    const [d] = await h.store.collection<DeliveryDoc>('deliveries').find({ notificationId: done.notificationId });
    await h.publish(laneRoutingKey('medium'), deliveryJob(d, d.jobId!, 1, new Date())); // redelivered with a new message id
    await h.publish(laneRoutingKey('medium'), deliveryJob(d, 'job_stale', 1, new Date()));
    await until('lane drained', async () => (await h.bus.queueDepth('pulse.notification.delivery.medium')) === 0);
    expect(email().sent.get(d._id)).toBe(1);
  });
});

describe('a worker lost mid-send', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { NOTIFICATION_SEND_TIMEOUT_MS: '100', NOTIFICATION_PROCESSING_LEASE_MS: '1000' } });
  });
  afterAll(() => h.stop());

  /** A delivery left PROCESSING by a worker that died after calling the provider, as the store would hold it. */
  async function orphan(key: string, channel: Channel, processingAgoMs: number): Promise<DeliveryDoc> {
    const user = `orphan-${key}`;
    h.preference.users.set(user, [{ channel, address: channel === Channel.EMAIL ? 'o@example.com' : 'U0ORPHAN', decision: DeliveryDecision.DEFER, deliverAt: new Date(Date.now() + 3_600_000) }]);
    const { notification } = await h.client.sendNotification(request(key, user));
    const deliveries = h.store.collection<DeliveryDoc>('deliveries');
    const [d] = await deliveries.find({ notificationId: notification!.notificationId });
    await deliveries.updateOne(
      { _id: d._id },
      { $set: { state: DeliveryState.PROCESSING, attempt: 1, attemptsMade: 1, dueAt: null, jobId: `job_${key}`, processingAt: new Date(Date.now() - processingAgoMs) } },
    );
    return (await deliveries.findOne({ _id: d._id }))!;
  }

  it('leaves a redelivered job alone while the lease runs, then settles it as an unknown outcome', async () => {
    const d = await orphan('lost-slack', Channel.SLACK, 0);
    await h.publish(laneRoutingKey('medium'), deliveryJob(d, d.jobId!, 1, new Date()));
    await until('lane drained', async () => (await h.bus.queueDepth('pulse.notification.delivery.medium')) === 0);
    expect((await h.store.collection<DeliveryDoc>('deliveries').findOne({ _id: d._id }))!.state).toBe(DeliveryState.PROCESSING);

    // The scheduler finds it once the lease has run out: Slack cannot recognise a resend, so a person decides.
    const done = await settled(h, d.notificationId);
    expect(done.deliveries[0]).toMatchObject({ state: DeliveryState.DEAD_LETTERED, reason: 'outcome unknown: the worker stopped while sending' });
    expect(h.providers.get(Channel.SLACK)!.calls.filter((m) => m.deliveryId === d._id)).toHaveLength(0);
  });

  it('retries a lost email attempt (the resend carries the same Message-ID)', async () => {
    const d = await orphan('lost-email', Channel.EMAIL, 5_000);
    await h.publish(laneRoutingKey('medium'), deliveryJob(d, d.jobId!, 1, new Date()));
    const done = await settled(h, d.notificationId);
    expect(done.deliveries[0]).toMatchObject({ state: DeliveryState.SENT, attempts: 2 });
    expect(h.statuses.states(d._id).slice(-2)).toEqual(['DEFERRED#2', 'SENT#2']);
  });
});

const WINDOW_MS = 1_000;

describe('LOW digests', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { NOTIFICATION_DIGEST_WINDOW_MS: String(WINDOW_MS) } });
  });
  afterAll(() => h.stop());

  it('combines LOW deliveries to one address within a window into one message; other priorities go at once', async () => {
    h.preference.users.set('dg', [
      { channel: Channel.EMAIL, address: 'dg@example.com' },
      { channel: Channel.IN_APP, address: 'dg' },
    ]);
    const email = h.providers.get(Channel.EMAIL)!;
    // Windows are aligned to the clock: start early in one, so the three sends cannot straddle a boundary.
    await until('the start of a digest window', () => Date.now() % WINDOW_MS < WINDOW_MS / 2, WINDOW_MS * 2);
    const low = await Promise.all(
      [1, 2, 3].map((i) => h.client.sendNotification(request(`dg/${i}`, 'dg', { priority: Priority.LOW }))),
    );
    const high = await h.client.sendNotification(request('dg/high', 'dg', { priority: Priority.HIGH }));
    for (const r of low) {
      const viaEmail = r.notification!.deliveries.find((d) => d.channel === Channel.EMAIL)!;
      expect(viaEmail).toMatchObject({ state: DeliveryState.DEFERRED, reason: 'digest window' });
    }
    const done = await Promise.all(low.map((r) => settled(h, r.notification!.notificationId)));
    await settled(h, high.notification!.notificationId);

    const lowIds = new Set(low.map((r) => r.notification!.notificationId));
    const digestCalls = email.calls.filter((m) => m.data.notification_ids?.split(',').some((id) => lowIds.has(id)));
    expect(digestCalls).toHaveLength(1);
    expect(digestCalls[0]).toMatchObject({ title: '3 notifications', notificationType: 'digest', address: 'dg@example.com' });
    expect(digestCalls[0].body).toContain('• Notice dg/1');
    for (const n of done) {
      const viaEmail = n.deliveries.find((d) => d.channel === Channel.EMAIL)!;
      expect(viaEmail).toMatchObject({ state: DeliveryState.SENT, digestSize: 3 });
      // In-app is never digested.
      expect(n.deliveries.find((d) => d.channel === Channel.IN_APP)).toMatchObject({ state: DeliveryState.SENT, digestSize: 0 });
    }
    expect(email.calls.filter((m) => m.notificationId === high.notification!.notificationId)).toHaveLength(1);
  });
});
