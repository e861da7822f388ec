// Priority lanes: a CRITICAL notification submitted behind a backlog of 10,000 LOW ones is delivered first.
import { create } from '@bufbuild/protobuf';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { SendNotificationRequestSchema } from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { until } from '../../test/support/poll.js';
import { mapConcurrent } from '../platform/concurrency.js';
import { laneQueue } from './lanes.js';
import { FakeProvider, type Harness, startHarness } from './test-support.js';

const LOW_COUNT = 10_000;
const BATCH = 500;
const LOW_SEND_MS = 20;

let h: Harness;
const email = new FakeProvider('fake-email', Channel.EMAIL);

beforeAll(async () => {
  // A slow-ish provider for bulk mail: the LOW lane (prefetch 8) drains at most ~400 per second.
  email.behaviour = async (message) => {
    if (message.priority === Priority.LOW) await new Promise((resolve) => setTimeout(resolve, LOW_SEND_MS));
    return { outcome: 'sent' };
  };
  h = await startHarness({
    providers: [email],
    env: {
      NOTIFICATION_PREFETCH_LOW: '8',
      // Nothing here waits in the store; the default interval keeps the memory store's scans out of the way.
      NOTIFICATION_SCHEDULER_INTERVAL_MS: '1000',
      NOTIFICATION_RATE_CALLER_PER_SECOND: '0',
      NOTIFICATION_RATE_USER_PER_SECOND: '0',
      NOTIFICATION_RATE_CHANNEL_PER_SECOND: '0',
      NOTIFICATION_RATE_GLOBAL_PER_SECOND: '0',
      // The backlog is built as fast as the process can take it, on purpose: no load shedding (load-shed.ts).
      PULSE_MAX_IN_FLIGHT: '0',
      PULSE_MAX_EVENT_LOOP_DELAY_MS: '0',
    },
  });
  h.preference.users.set('bulk', [{ channel: Channel.EMAIL, address: 'bulk@example.com' }]);
  h.preference.users.set('oncall', [{ channel: Channel.EMAIL, address: 'oncall@example.com' }]);
});
afterAll(() => h.stop());

it('delivers a CRITICAL notification submitted behind 10,000 queued LOW ones before the LOW backlog drains', { timeout: 180_000 }, async () => {
  const batches = Array.from({ length: LOW_COUNT / BATCH }, (_, b) =>
    Array.from({ length: BATCH }, (_, i) =>
      create(SendNotificationRequestSchema, {
        idempotencyKey: `bulk/${b * BATCH + i}`,
        recipient: { target: { case: 'userId', value: 'bulk' } },
        notificationType: 'newsletter',
        priority: Priority.LOW,
        content: { title: `Newsletter ${b * BATCH + i}` },
      }),
    ),
  );
  const submitStarted = Date.now();
  const accepted = await mapConcurrent(batches, 4, async (notifications) => (await h.client.sendNotifications({ notifications })).acceptedCount);
  expect(accepted.reduce((a, b) => a + b, 0)).toBe(LOW_COUNT);
  const submitMs = Date.now() - submitStarted;
  const lowQueued = (await h.bus.queueDepth(laneQueue('low'))) ?? 0;
  const lowSentBefore = email.sent.size;

  const started = Date.now();
  const { notification } = await h.client.sendNotification(
    create(SendNotificationRequestSchema, {
      idempotencyKey: 'incident/1',
      recipient: { target: { case: 'userId', value: 'oncall' } },
      notificationType: 'incident',
      priority: Priority.CRITICAL,
      content: { title: 'Checkout is down' },
    }),
  );
  const criticalId = notification!.deliveries[0].deliveryId;
  const sentAt = await until('the CRITICAL delivery sent', () => email.sentAt.get(criticalId), 30_000);
  const lowSentBy = [...email.sent.keys()].filter((id) => id !== criticalId).length;
  const lowLeft = (await h.bus.queueDepth(laneQueue('low'))) ?? 0;

  console.log(
    `CRITICAL behind LOW: ${LOW_COUNT} LOW accepted in ${submitMs} ms; ${lowQueued} LOW jobs queued (${lowSentBefore} already sent) ` +
      `when CRITICAL was submitted; CRITICAL wait accept->sent ${sentAt - started} ms; LOW sent by then ${lowSentBy}, still queued ${lowLeft}`,
  );
  expect(lowQueued).toBeGreaterThan(1_000);
  expect(lowLeft).toBeGreaterThan(0);
  expect(lowSentBy).toBeLessThan(LOW_COUNT);
  const { notification: critical } = await h.client.getNotification({ lookup: { case: 'idempotencyKey', value: 'incident/1' } });
  expect(critical!.state).toBe(DeliveryState.SENT);
});
