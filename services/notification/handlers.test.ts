// NotificationService over HTTP against the real module: memory store, embedded bus, fake preference and providers.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, DeliveryState, Priority, RecipientSchema } from '../../gen/pulse/common/v1/delivery_pb.js';
import {
  type SendNotificationRequest,
  SendNotificationRequestSchema,
} from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { DeliveryDecision } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { until } from '../../test/support/poll.js';
import { rejectionOf } from '../../test/support/rejection.js';
import { type Harness, startHarness } from './test-support.js';

type Overrides = Partial<Pick<SendNotificationRequest, 'priority' | 'expiresAt' | 'notificationType' | 'recipient'>>;

function request(key: string, userId: string, overrides: Overrides = {}): SendNotificationRequest {
  const req = create(SendNotificationRequestSchema, {
    idempotencyKey: key,
    recipient: { target: { case: 'userId', value: userId } },
    notificationType: 'invoice.overdue',
    content: { title: 'Invoice overdue', body: 'Invoice inv-1 is 30 days overdue', data: { invoice: 'inv-1' } },
  });
  return Object.assign(req, overrides);
}

describe('SendNotification', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { NOTIFICATION_RATE_USER_PER_SECOND: '1', NOTIFICATION_RATE_USER_BURST: '30' } });
  });
  afterAll(() => h.stop());

  const count = (collection: string) => h.store.collection(collection).countDocuments();

  it('accepts, plans one delivery per channel, and sends them (in-app through the inbox status)', async () => {
    h.preference.users.set('ann', [
      { channel: Channel.EMAIL, address: 'ann@example.com' },
      { channel: Channel.IN_APP, address: 'ann' },
    ]);
    const { notification, duplicate } = await h.client.sendNotification(request('t1/first', 'ann'));
    expect(duplicate).toBe(false);
    expect(notification).toMatchObject({ idempotencyKey: 't1/first', priority: Priority.MEDIUM, source: 'tester', state: DeliveryState.SENT });
    // The in-app delivery was handed to the inbox by the acceptance itself.
    expect(notification!.deliveries.map((d) => [d.channel, d.state, d.provider])).toEqual([
      [Channel.EMAIL, DeliveryState.ACCEPTED, 'fake-email'],
      [Channel.IN_APP, DeliveryState.SENT, 'inbox'],
    ]);

    const sent = await until('both deliveries sent', async () => {
      const { notification: n } = await h.client.getNotification({ lookup: { case: 'idempotencyKey', value: 't1/first' } });
      return n!.deliveries.every((d) => d.state === DeliveryState.SENT) && n;
    });
    expect(sent.state).toBe(DeliveryState.SENT);
    const [email, inApp] = sent.deliveries;
    expect(email).toMatchObject({ attempts: 1, provider: 'fake-email', providerMessageId: `fake-email-${email.deliveryId}-1` });
    expect(inApp).toMatchObject({ attempts: 1, provider: 'inbox' });

    expect(h.statuses.states(email.deliveryId)).toEqual(['ACCEPTED#0', 'SENT#1']);
    const inboxChanges = h.statuses.of(inApp.deliveryId);
    expect(inboxChanges.map((e) => `${DeliveryState[e.state]}#${e.attempt}`)).toEqual(['ACCEPTED#0', 'SENT#1']);
    expect(inboxChanges[1].inbox).toMatchObject({ title: 'Invoice overdue', body: 'Invoice inv-1 is 30 days overdue', data: { invoice: 'inv-1' } });
    // One event reports the acceptance: the notification, then each delivery's changes in the same unit of work.
    const accepted = h.statuses.events.filter((e) => e.notificationId === notification!.notificationId && e.deliveryId === '');
    expect(accepted).toHaveLength(1);
    expect(accepted[0].state).toBe(DeliveryState.ACCEPTED);
    expect(accepted[0].deliveryChanges.map((c) => [c.deliveryId, DeliveryState[c.state]])).toEqual([
      [email.deliveryId, 'ACCEPTED'],
      [inApp.deliveryId, 'ACCEPTED'],
      [inApp.deliveryId, 'SENT'],
    ]);
    expect(h.providers.get(Channel.EMAIL)!.calls.find((m) => m.deliveryId === email.deliveryId)).toMatchObject({
      address: 'ann@example.com',
      title: 'Invoice overdue',
      attempt: 1,
    });
  });

  it('creates one notification and one delivery per channel when the same key is sent 20 times at once', async () => {
    h.preference.users.set('bob', [
      { channel: Channel.EMAIL, address: 'bob@example.com' },
      { channel: Channel.IN_APP, address: 'bob' },
    ]);
    const before = { notifications: await count('notifications'), deliveries: await count('deliveries') };
    const results = await Promise.all(Array.from({ length: 20 }, () => h.client.sendNotification(request('t2/concurrent', 'bob'))));
    const ids = new Set(results.map((r) => r.notification!.notificationId));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(await count('notifications')).toBe(before.notifications + 1);
    expect(await count('deliveries')).toBe(before.deliveries + 2);
    for (const r of results) expect(r.notification!.deliveries).toHaveLength(2);

    const [id] = ids;
    await until('sent', async () => {
      const { notification } = await h.client.getNotification({ lookup: { case: 'notificationId', value: id } });
      return notification!.state === DeliveryState.SENT && notification!.deliveries.every((d) => d.state === DeliveryState.SENT);
    });
    const email = h.providers.get(Channel.EMAIL)!;
    const emailDeliveries = email.calls.filter((m) => m.notificationId === id);
    expect(emailDeliveries).toHaveLength(1);
  });

  it('returns the first notification for a repeat, and already_exists for a different request under the key', async () => {
    const first = await h.client.sendNotification(request('t3/key', 'cat'));
    const again = await h.client.sendNotification(request('t3/key', 'cat', { priority: Priority.MEDIUM }));
    expect(again).toMatchObject({ duplicate: true });
    expect(again.notification!.notificationId).toBe(first.notification!.notificationId);

    const changed = request('t3/key', 'cat');
    changed.content!.body = 'something else';
    const err = await rejectionOf(h.client.sendNotification(changed));
    expect(err.code).toBe(Code.AlreadyExists);
    expect(err.rawMessage).toContain('idempotency_key "t3/key"');
    expect(err.rawMessage).not.toContain('something else');
  });

  it('rejects bad input naming each field, and writes nothing', async () => {
    const before = await count('notifications');
    const bad = request('', 'dan', { notificationType: 'Not Valid', expiresAt: timestampFromDate(new Date(Date.now() - 1_000)) });
    bad.content!.title = '';
    const err = await rejectionOf(h.client.sendNotification(bad));
    expect(err.code).toBe(Code.InvalidArgument);
    for (const field of ['idempotency_key', 'notification_type', 'content.title', 'expires_at']) expect(err.rawMessage).toContain(field);
    expect(await count('notifications')).toBe(before);
  });

  it('passes on not_found for a topic without routes, and writes nothing', async () => {
    const before = await count('notifications');
    const err = await rejectionOf(h.client.sendNotification(request('t5/topic', 'x', { recipient: create(RecipientSchema, { target: { case: 'topic', value: 'nowhere' } }) })));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toContain('nowhere');
    expect(await count('notifications')).toBe(before);
  });

  it('answers unavailable when preference is down, writes nothing, and accepts the same key later', async () => {
    const before = { notifications: await count('notifications'), outbox: await count('outbox') };
    h.preference.unavailable = true;
    try {
      const err = await rejectionOf(h.client.sendNotification(request('t6/down', 'eve')));
      expect(err.code).toBe(Code.Unavailable);
      expect(await count('notifications')).toBe(before.notifications);
      expect(await count('outbox')).toBe(before.outbox);
    } finally {
      h.preference.unavailable = false;
    }
    const later = await h.client.sendNotification(request('t6/down', 'eve'));
    expect(later.duplicate).toBe(false);
  });

  it('reuses a cached plan and drops it when the user\'s preferences change', async () => {
    const asked = () => h.preference.requests.filter((r) => r.recipient?.target.value === 'fay').length;
    await h.client.sendNotification(request('t7/a', 'fay'));
    await h.client.sendNotification(request('t7/b', 'fay'));
    expect(asked()).toBe(1);
    await h.publish('preference.changed', {
      $typeName: 'pulse.events.v1.PreferencesChanged',
      eventId: 'evt-pref-fay',
      subject: { case: 'userId', value: 'fay' },
    });
    await until('cache dropped', async () => {
      await h.client.sendNotification(request(`t7/${Math.random()}`, 'fay'));
      return asked() >= 2;
    });
  });

  it('accepts a batch item by item', async () => {
    const bad = request('t8/bad', 'gus');
    bad.content!.title = '';
    const { results, acceptedCount, duplicateCount, rejectedCount } = await h.client.sendNotifications({
      notifications: [request('t8/a', 'gus'), bad, request('t8/a', 'gus')],
    });
    expect({ acceptedCount, duplicateCount, rejectedCount }).toEqual({ acceptedCount: 1, duplicateCount: 1, rejectedCount: 1 });
    expect(results[1]).toMatchObject({ index: 1, errorCode: 'invalid_argument' });
    expect(results[1].errorMessage).toContain('notifications[1].content.title');
    expect(results[2].notification!.notificationId).toBe(results[0].notification!.notificationId);
    const empty = await rejectionOf(h.client.sendNotifications({ notifications: [] }));
    expect(empty.code).toBe(Code.InvalidArgument);
  });

  it('answers each batch item on its own: stored before, repeated with another body, new', async () => {
    await h.client.sendNotification(request('t11/old', 'kim'));
    const other = request('t11/new', 'kim');
    other.content!.body = 'Another body';
    const before = await count('notifications');
    const { results } = await h.client.sendNotifications({
      notifications: [request('t11/new', 'kim'), request('t11/old', 'kim'), other, request('t11/second', 'kim')],
    });
    expect(results.map((r) => [r.errorCode, r.duplicate])).toEqual([
      ['', false],
      ['', true],
      ['already_exists', false],
      ['', false],
    ]);
    expect(results[2].errorMessage).toContain('idempotency_key "t11/new" was already used for a different request');
    expect(await count('notifications')).toBe(before + 2);
  });

  it('settles a key taken by another request while its batch was being accepted: the batch item becomes the duplicate', async () => {
    // The batch looks its keys up, then asks preference for plans; while it waits there, a single send of one of
    // its keys commits. The batch's unit of work then meets the taken key and falls back to one unit per item.
    // (Held on the other item's plan: the raced item's own plan is shared with the single send's.)
    let raced: ReturnType<typeof h.client.sendNotification> | undefined;
    h.preference.beforeAnswer = async (req) => {
      if (req.recipient?.target.value !== 'max-other' || raced) return;
      raced = h.client.sendNotification(request('t10/raced', 'max'));
      await raced;
    };
    try {
      const batch = await h.client.sendNotifications({ notifications: [request('t10/other', 'max-other'), request('t10/raced', 'max')] });
      const single = await raced!;
      expect(single.duplicate).toBe(false);
      expect(batch.results.map((r) => [r.errorCode, r.duplicate])).toEqual([
        ['', false],
        ['', true],
      ]);
      expect(batch.results[1].notification!.notificationId).toBe(single.notification!.notificationId);
      expect(await h.store.collection('notifications').countDocuments({ idempotencyKey: { $in: ['t10/other', 't10/raced'] } })).toBe(2);
    } finally {
      h.preference.beforeAnswer = undefined;
    }
  });

  it('refuses sends over the per-user rate with resource_exhausted, saying when to retry', async () => {
    const sends = Array.from({ length: 30 }, (_, i) => h.client.sendNotification(request(`t9/${i}`, 'hal')));
    await Promise.all(sends);
    const err = await rejectionOf(h.client.sendNotification(request('t9/over', 'hal')));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/rate limit per recipient user exceeded; retry in \d+(\.\d)? s/);
    expect(Number(err.metadata.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another user is unaffected; a repeat of an accepted key is answered without a token.
    await h.client.sendNotification(request('t9/other', 'ivy'));
    expect((await h.client.sendNotification(request('t9/0', 'hal'))).duplicate).toBe(true);
  });
});

describe('GetNotification and CancelNotification', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.stop());

  it('finds a notification by id or key, and says not_found otherwise', async () => {
    const { notification } = await h.client.sendNotification(request('g1', 'joe'));
    const byId = await h.client.getNotification({ lookup: { case: 'notificationId', value: notification!.notificationId } });
    expect(byId.notification!.idempotencyKey).toBe('g1');
    expect((await rejectionOf(h.client.getNotification({ lookup: { case: 'idempotencyKey', value: 'nope' } }))).code).toBe(Code.NotFound);
    expect((await rejectionOf(h.client.getNotification({}))).code).toBe(Code.InvalidArgument);
  });

  it('cancels deliveries still waiting, with status events, and refuses when nothing is left', async () => {
    const later = new Date(Date.now() + 3_600_000);
    h.preference.users.set('kim', [
      { channel: Channel.EMAIL, address: 'kim@example.com', decision: DeliveryDecision.DEFER, deliverAt: later },
      { channel: Channel.SMS, address: '+14155550100', decision: DeliveryDecision.DEFER, deliverAt: later },
    ]);
    const { notification } = await h.client.sendNotification(request('c1', 'kim'));
    expect(notification!.deliveries.map((d) => d.state)).toEqual([DeliveryState.DEFERRED, DeliveryState.DEFERRED]);
    expect(notification!.deliveries[0].reason).toBe('quiet hours');

    const res = await h.client.cancelNotification({ notificationId: notification!.notificationId, reason: 'customer paid' });
    expect(res.cancelledCount).toBe(2);
    expect(res.notification!.state).toBe(DeliveryState.CANCELLED);
    expect(res.notification!.deliveries.map((d) => [d.state, d.reason])).toEqual([
      [DeliveryState.CANCELLED, 'customer paid'],
      [DeliveryState.CANCELLED, 'customer paid'],
    ]);
    await until('cancel events', () => res.notification!.deliveries.every((d) => h.statuses.states(d.deliveryId).includes('CANCELLED#1')));

    const again = await rejectionOf(h.client.cancelNotification({ notificationId: notification!.notificationId }));
    expect(again.code).toBe(Code.FailedPrecondition);
    expect((await rejectionOf(h.client.cancelNotification({ notificationId: 'ntf_missing' }))).code).toBe(Code.NotFound);
  });
});
