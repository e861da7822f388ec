// How long notification keeps a notification and its deliveries (common/history.ts), against the real module: the
// store's TTL sweep is run with chosen clocks instead of waiting for its minute.
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { SendNotificationRequestSchema } from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { DeliveryDecision, DeliveryPlanSchema, RouteKind } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { interleaving, testPlatform } from '../../test/support/platform.js';
import { until } from '../../test/support/poll.js';
import { DeliveryRepository } from './deliveries.js';
import { type NotificationDoc, NotificationRepository } from './notifications.js';
import { planDeliveries } from './planning.js';
import { type Harness, startHarness } from './test-support.js';

const RETENTION_S = 600;
const HOUR_MS = 3_600_000;

const request = (key: string, userId: string) =>
  create(SendNotificationRequestSchema, {
    idempotencyKey: key,
    recipient: { target: { case: 'userId', value: userId } },
    notificationType: 'invoice.overdue',
    content: { title: 'Invoice overdue', body: 'Invoice inv-1 is overdue' },
  });

describe('history retention', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { PULSE_HISTORY_RETENTION_SECONDS: String(RETENTION_S) } });
  });
  afterAll(() => h.stop());

  const find = (key: string) =>
    h.client.getNotification({ lookup: { case: 'idempotencyKey', value: key } }).then(
      (res) => res.notification!,
      (err: unknown) => ConnectError.from(err).code,
    );
  /** Waits until the first delivery of the notification sent under key is in state. */
  const firstDeliveryIn = (key: string, state: DeliveryState) =>
    until(`${key}: first delivery ${DeliveryState[state]}`, async () => {
      const n = await find(key);
      return typeof n !== 'number' && n.deliveries[0].state === state;
    });
  const held = async (notificationId: string) => ({
    notification: await h.store.collection('notifications').countDocuments({ _id: notificationId }),
    deliveries: await h.store.collection('deliveries').countDocuments({ notificationId }),
  });

  it('keeps a notification while a delivery waits, then for the retention after the last came to rest', async () => {
    h.preference.users.set('rey', [
      { channel: Channel.EMAIL, address: 'rey@example.com' },
      { channel: Channel.SMS, address: '+14155550101', decision: DeliveryDecision.DEFER, deliverAt: new Date(Date.now() + HOUR_MS) },
    ]);
    const { notification } = await h.client.sendNotification(request('h1', 'rey'));
    const id = notification!.notificationId;
    await firstDeliveryIn('h1', DeliveryState.SENT);

    // The SMS waits for the morning: nothing of the notification goes, however much time passes.
    await h.store.sweepExpired(new Date(Date.now() + 365 * 24 * HOUR_MS));
    expect(await held(id)).toEqual({ notification: 1, deliveries: 2 });

    const cancelledAt = Date.now();
    await h.client.cancelNotification({ notificationId: id, reason: 'paid' });
    await h.store.sweepExpired(new Date(cancelledAt + (RETENTION_S - 5) * 1000));
    expect(await held(id)).toEqual({ notification: 1, deliveries: 2 });

    await h.store.sweepExpired(new Date(Date.now() + (RETENTION_S + 1) * 1000));
    expect(await held(id)).toEqual({ notification: 0, deliveries: 0 });
    expect(await find('h1')).toBe(Code.NotFound);
    const again = await h.client.sendNotification(request('h1', 'rey'));
    expect(again.duplicate).toBe(false); // the key is free once the notification is gone
    expect(again.notification!.notificationId).not.toBe(id);
  });

  it('keeps a failed delivery with its dead letter for the retention, and keeps it while a replay works on it', async () => {
    h.preference.users.set('sam', [{ channel: Channel.EMAIL, address: 'sam@example.com' }]);
    const email = h.providers.get(Channel.EMAIL)!;
    email.failWith('permanent', 'mailbox does not exist');
    const { notification } = await h.client.sendNotification(request('h2', 'sam'));
    const id = notification!.notificationId;
    await firstDeliveryIn('h2', DeliveryState.FAILED);
    const failedAt = Date.now();
    const letters = () => h.store.collection('dead_letters').countDocuments({ notificationId: id });
    await h.store.sweepExpired(new Date(failedAt + (RETENTION_S - 5) * 1000));
    expect({ ...(await held(id)), letters: await letters() }).toEqual({ notification: 1, deliveries: 1, letters: 1 });

    // A replay puts the delivery back to work: while the provider holds the send, nothing of it goes.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    email.behaviour = async () => {
      await gate;
      return { outcome: 'sent' };
    };
    await h.client.replayDeadLetters({ filter: { channel: Channel.EMAIL }, ratePerSecond: 10 });
    await until('the replay at the provider', () => email.calls.length >= 2);
    await h.store.sweepExpired(new Date(Date.now() + 365 * 24 * HOUR_MS));
    expect(await held(id)).toEqual({ notification: 1, deliveries: 1 });

    release();
    await firstDeliveryIn('h2', DeliveryState.SENT);
    await h.store.sweepExpired(new Date(Date.now() + (RETENTION_S + 1) * 1000));
    expect(await held(id)).toEqual({ notification: 0, deliveries: 0 });
  });

  it('lets a notification that was suppressed everywhere go after the retention', async () => {
    h.preference.users.set('kit', [{ channel: Channel.EMAIL, address: 'kit@example.com', decision: DeliveryDecision.SUPPRESS }]);
    const { notification } = await h.client.sendNotification(request('h3', 'kit'));
    expect(notification!.state).toBe(DeliveryState.SUPPRESSED);
    await h.store.sweepExpired(new Date(Date.now() + (RETENTION_S - 5) * 1000));
    expect(await held(notification!.notificationId)).toEqual({ notification: 1, deliveries: 1 });
    await h.store.sweepExpired(new Date(Date.now() + (RETENTION_S + 1) * 1000));
    expect(await held(notification!.notificationId)).toEqual({ notification: 0, deliveries: 0 });
  });
});

describe('deciding when a notification leaves', () => {
  it('counts again when a sibling came to rest between its count and its write (compare-and-set)', async () => {
    const platform = await testPlatform('notification');
    try {
      const notifications = new NotificationRepository(platform.store);
      const deliveries = new DeliveryRepository(platform.store, notifications, RETENTION_S);
      await notifications.init();
      await deliveries.init();
      const at = new Date();
      const notification: NotificationDoc = {
        _id: 'ntf-cas',
        idempotencyKey: 'cas',
        fingerprint: '',
        recipient: { userId: 'ann' },
        notificationType: 'invoice.overdue',
        priority: Priority.MEDIUM,
        routeKind: RouteKind.PRIMARY,
        content: { title: 't', body: 'b', data: {} },
        source: 'test',
        causeId: '',
        createdAt: at,
        expiresAt: null,
      };
      const plans = [Channel.EMAIL, Channel.SMS].map((channel) => create(DeliveryPlanSchema, { channel, address: 'x', decision: DeliveryDecision.DELIVER_NOW }));
      const [first, second] = planDeliveries(notification, plans, { now: at, providerName: () => 'fake', digestWindowMs: 0 });
      await platform.transaction(async (tx) => {
        await notifications.insert(tx, notification, null);
        await deliveries.insert(tx, [first, second], null);
      });
      const sent = { state: DeliveryState.SENT, attempt: 1 };

      // The second delivery comes to rest, and decides, between the first one's count and its write.
      await platform.transaction(async (tx) => {
        const race = interleaving(tx, 'deliveries', 'updateMany', () => platform.transaction((other) => deliveries.update(other, second, sent, at)));
        await deliveries.update(race.scope, first, sent, at);
        expect(race.ran()).toBe(true);
      });
      const kept = await notifications.get('ntf-cas');
      expect(kept!.purgeAt).toEqual(new Date(at.getTime() + RETENTION_S * 1000));
      expect((await deliveries.byNotification('ntf-cas')).map((d) => d.purgeAt)).toEqual([kept!.purgeAt, kept!.purgeAt]);
    } finally {
      await platform.close();
    }
  });
});
