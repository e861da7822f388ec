// A provider outage: the provider fails (retryable) for a while, its breaker opens, jobs wait for it in the store
// without using up their attempts, the provider recovers, and every delivery is delivered exactly once.
import { create } from '@bufbuild/protobuf';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import { SendNotificationRequestSchema } from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { until } from '../../test/support/poll.js';
import type { DeliveryDoc } from './deliveries.js';
import { ProviderError } from './providers/provider.js';
import { FakeProvider, type Harness, startHarness } from './test-support.js';

const COUNT = 40;
const MAX_ATTEMPTS = 4;
const OUTAGE_MS = 2_000;

let h: Harness;
const email = new FakeProvider('fake-smtp', Channel.EMAIL);
let down = true;
const failedCalls = new Map<string, number>();

beforeAll(async () => {
  email.behaviour = (message) => {
    if (down) {
      failedCalls.set(message.deliveryId, (failedCalls.get(message.deliveryId) ?? 0) + 1);
      throw new ProviderError('retryable', 'smtp 421 service not available');
    }
    return { outcome: 'sent' };
  };
  h = await startHarness({
    providers: [email],
    env: {
      NOTIFICATION_MAX_ATTEMPTS_EMAIL: String(MAX_ATTEMPTS),
      NOTIFICATION_RETRY_BASE_MS: '20',
      NOTIFICATION_RETRY_MAX_DELAY_MS: '100',
      PULSE_BREAKER_VOLUME: '5',
      PULSE_BREAKER_ERROR_PERCENT: '50',
      PULSE_BREAKER_RESET_MS: '200',
      PULSE_BREAKER_WINDOW_MS: '5000',
      NOTIFICATION_RATE_USER_PER_SECOND: '0',
    },
  });
});
afterAll(() => h.stop());

it('waits out a provider outage behind the breaker and then delivers everything exactly once', { timeout: 60_000 }, async () => {
  const ids: string[] = [];
  for (let i = 0; i < COUNT; i++) {
    const user = `outage-${i}`;
    h.preference.users.set(user, [{ channel: Channel.EMAIL, address: `${user}@example.com` }]);
    const { notification } = await h.client.sendNotification(
      create(SendNotificationRequestSchema, {
        idempotencyKey: `outage/${i}`,
        recipient: { target: { case: 'userId', value: user } },
        notificationType: 'statement.ready',
        content: { title: `Statement ${i}` },
      }),
    );
    ids.push(notification!.deliveries[0].deliveryId);
  }
  const outageStarted = Date.now();
  const circuitWaits = () => h.running.runtime.metrics.registry.getSingleMetric('pulse_deliveries_deferred_total')!.get();
  const waits = async () => (await circuitWaits()).values.filter((v) => v.labels.reason === 'circuit_open').reduce((a, v) => a + v.value, 0);
  // The outage lasts long enough for many breaker cycles: far more waits than the attempt budget.
  await until('an outage with the breaker open', async () => Date.now() - outageStarted >= OUTAGE_MS && (await waits()) > COUNT * MAX_ATTEMPTS, 20_000);
  const callsDuringOutage = email.calls.length;
  const deliveries = h.store.collection<DeliveryDoc>('deliveries');
  const duringOutage = await deliveries.find({ _id: { $in: ids } });
  expect(duringOutage.filter((d) => d.state === DeliveryState.DEAD_LETTERED)).toEqual([]);
  expect(Math.max(...duringOutage.map((d) => d.failures))).toBeLessThan(MAX_ATTEMPTS);

  down = false;
  const done = await until(
    'every delivery sent',
    async () => {
      const all = await deliveries.find({ _id: { $in: ids } });
      return all.every((d) => d.state === DeliveryState.SENT) && all;
    },
    20_000,
  );

  const sentCounts = ids.map((id) => email.sent.get(id) ?? 0);
  const sent = sentCounts.filter((n) => n > 0).length;
  const duplicates = sentCounts.reduce((a, n) => a + Math.max(0, n - 1), 0);
  const lost = sentCounts.filter((n) => n === 0).length;
  const deadLetters = await h.store.collection('dead_letters').countDocuments({ deliveryId: { $in: ids } });
  console.log(
    `outage: ${COUNT} deliveries; provider calls during the outage ${callsDuringOutage} (failed ${[...failedCalls.values()].reduce((a, b) => a + b, 0)}), ` +
      `waits for the open breaker ${await waits()}; after recovery: sent ${sent}, delivered (state SENT) ${done.length}, ` +
      `duplicates ${duplicates}, lost ${lost}, dead letters ${deadLetters}, most failures counted on one delivery ${Math.max(...done.map((d) => d.failures))}`,
  );
  expect({ sent, duplicates, lost, deadLetters }).toEqual({ sent: COUNT, duplicates: 0, lost: 0, deadLetters: 0 });
  expect(callsDuringOutage).toBeLessThan(COUNT * MAX_ATTEMPTS);
  for (const d of done) expect(d.providerMessageId).toBe(`fake-smtp-${d._id}-${d.attempt}`);
});
