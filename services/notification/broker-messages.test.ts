// What one notification costs the broker: every message notification publishes for it, counted on the embedded bus.
import { create } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import { SendNotificationRequestSchema } from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { until } from '../../test/support/poll.js';
import { type Harness, startHarness } from './test-support.js';

describe('broker messages per notification', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.stop());

  it('are three for in-app + email: the acceptance (which hands in-app to the inbox), the email job, its outcome', async () => {
    h.preference.users.set('mia', [
      { channel: Channel.IN_APP, address: 'mia' },
      { channel: Channel.EMAIL, address: 'mia@example.com' },
    ]);
    const { notification } = await h.client.sendNotification(
      create(SendNotificationRequestSchema, {
        idempotencyKey: 'count/two-channel',
        recipient: { target: { case: 'userId', value: 'mia' } },
        notificationType: 'invoice.overdue',
        content: { title: 'Invoice overdue' },
      }),
    );
    const id = notification!.notificationId;
    const [email] = notification!.deliveries.filter((d) => d.channel === Channel.EMAIL);
    await until('the email outcome to be reported', () => h.statuses.states(email.deliveryId).includes('SENT#1'));
    // Anything late would have arrived by now: the embedded bus delivers as soon as the outbox publishes.
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(h.messages.of(id).sort()).toEqual(['notification.delivery.medium', 'notification.status.changed', 'notification.status.changed']);
    expect(h.providers.get(Channel.EMAIL)!.sent.get(email.deliveryId)).toBe(1);
    const { notification: done } = await h.client.getNotification({ lookup: { case: 'notificationId', value: id } });
    expect(done!.deliveries.map((d) => [d.channel, d.state])).toEqual([
      [Channel.IN_APP, DeliveryState.SENT],
      [Channel.EMAIL, DeliveryState.SENT],
    ]);
  });
});
