// Push through the real notification module: preference plans one push delivery per device, the worker sends each
// through the real push provider to the Web Push stand-in (which decrypts what would reach the browser), in the
// recipient's locale when the type has a template; a device its push service reports gone is pruned and its
// delivery fails with a dead letter, while the other device still gets the message.
import { pino } from 'pino';
import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import { until } from '../../test/support/poll.js';
import { startWebPushStandIn, type WebPushStandIn } from '../../test/support/web-push-standin.js';
import { EnvReader } from '../platform/config.js';
import { type PushDevices, PushProvider, type PushTarget } from './providers/push.js';
import { readPushConfig } from './providers/push-config.js';
import { FakeProvider, type Harness, startHarness } from './test-support.js';

describe('push deliveries', () => {
  let h: Harness;
  let pushService: WebPushStandIn;
  let push: PushProvider;
  const targets = new Map<string, PushTarget>();
  const pruned: string[] = [];

  beforeAll(async () => {
    pushService = await startWebPushStandIn();
    const keys = webpush.generateVAPIDKeys();
    const reader = new EnvReader({ VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey, VAPID_SUBJECT: 'https://pulse.example.com' });
    const devices: PushDevices = {
      get: async (id) => targets.get(id) ?? null,
      prune: async (id) => {
        pruned.push(id);
        targets.delete(id);
      },
    };
    push = new PushProvider(readPushConfig(reader)!, devices, pino({ level: 'silent' }));
    reader.check();
    const pushFake = new FakeProvider('push', Channel.PUSH);
    pushFake.behaviour = (message) => push.send(message, new AbortController().signal);
    h = await startHarness({ providers: [new FakeProvider('fake-email', Channel.EMAIL), pushFake] });
  });
  afterAll(async () => {
    await h.stop();
    await push.close();
    await pushService.close();
    expect(pushService.violations()).toEqual([]);
  });

  it("reaches each of the user's browsers in their language, and prunes one that is gone", async () => {
    const laptop = pushService.subscribe();
    const phone = pushService.subscribe();
    targets.set('dev_laptop', { kind: 'web_push', subscription: laptop });
    targets.set('dev_phone', { kind: 'web_push', subscription: phone });
    pushService.unsubscribe(phone.endpoint);
    h.preference.users.set('ana', [
      { channel: Channel.PUSH, address: 'dev_laptop', locale: 'fr-CA' },
      { channel: Channel.PUSH, address: 'dev_phone', locale: 'fr-CA' },
    ]);
    await h.client.upsertTemplate({
      template: { notificationType: 'invoice.overdue', channel: Channel.PUSH, locale: 'fr', title: 'Facture {{ data.invoice }}', body: '{{ body }}' },
    });
    await h.client.sendNotification({
      idempotencyKey: 'push/1',
      recipient: { target: { case: 'userId', value: 'ana' } },
      notificationType: 'invoice.overdue',
      content: { title: 'Invoice 42', body: 'Payez avant vendredi', data: { invoice: '42' } },
    });
    const deliveries = await until('both push deliveries settled', async () => {
      const found = (await h.client.getNotification({ lookup: { case: 'idempotencyKey', value: 'push/1' } })).notification?.deliveries ?? [];
      return found.length === 2 && found.every((d) => d.state === DeliveryState.SENT || d.state === DeliveryState.FAILED) ? found : undefined;
    });
    const byAddress = new Map(deliveries.map((d) => [d.address, d]));
    expect(byAddress.get('dev_laptop')).toMatchObject({ state: DeliveryState.SENT, provider: 'push' });
    expect(byAddress.get('dev_phone')).toMatchObject({ state: DeliveryState.FAILED, reason: 'web push 410: subscription gone' });
    expect(pruned).toEqual(['dev_phone']);
    const received = pushService.received.filter((r) => laptop.endpoint.endsWith(r.subscriptionId));
    expect(received.map((r) => JSON.parse(r.payload))).toEqual([
      { title: 'Facture 42', body: 'Payez avant vendredi', data: expect.objectContaining({ invoice: '42', notification_type: 'invoice.overdue' }) },
    ]);
    const letters = await h.client.listDeadLetters({ filter: { channel: Channel.PUSH } });
    expect(letters.deadLetters.map((l) => l.deliveryId)).toEqual([byAddress.get('dev_phone')!.deliveryId]);
  });
});
