// Push devices through PreferenceService: register (idempotent per subscription or token), list without secrets,
// remove, read for the push provider, prune; and ResolveDelivery planning one push delivery per device, with the
// user's locale.
import { createECDH, randomBytes } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { FieldMaskSchema } from '@bufbuild/protobuf/wkt';
import { type Client, createClient, createRouterTransport } from '@connectrpc/connect';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import { DeliveryDecision, PreferenceService, SuppressionReason } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { type TestPlatform, testPlatform } from '../../test/support/platform.js';
import { failureOf } from '../../test/support/rejection.js';
import { asCaller } from '../platform/access.js';
import { fullAccessCaller } from '../platform/auth.js';
import { DevicesRepository } from './devices.js';
import { GroupsRepository } from './groups.js';
import { preferenceHandlers } from './handlers.js';
import { PreferencesRepository } from './preferences.js';
import { RoutesRepository } from './routes.js';

let platform: TestPlatform;
let api: Client<typeof PreferenceService>;

beforeEach(async () => {
  platform = await testPlatform('preference');
  const devices = new DevicesRepository(platform.store);
  await devices.init();
  const handlers = preferenceHandlers({
    preferences: new PreferencesRepository(platform.store),
    routes: new RoutesRepository(platform.store),
    groups: new GroupsRepository(platform.store),
    devices,
    transaction: platform.transaction,
  });
  const router = { interceptors: [asCaller(fullAccessCaller('tester'))] };
  api = createClient(PreferenceService, createRouterTransport((r) => r.service(PreferenceService, handlers), { router }));
});

afterEach(() => platform.close());

function subscription(endpoint = `https://push.example.net/wpush/${randomBytes(8).toString('hex')}`) {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { endpoint, p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
}

describe('push devices', () => {
  it('registers browsers and phones, once per subscription or token, and lists them without secrets', async () => {
    const browser = subscription();
    const first = await api.registerDevice({ userId: 'ana', device: { label: 'Firefox', registration: { case: 'webPush', value: browser } } });
    const again = await api.registerDevice({ userId: 'ana', device: { label: 'Firefox (laptop)', registration: { case: 'webPush', value: browser } } });
    const phone = await api.registerDevice({ userId: 'ana', device: { registration: { case: 'fcmToken', value: 'fcm-token-1' } } });
    expect([first.created, again.created, phone.created]).toEqual([true, false, true]);
    expect(again.device?.deviceId).toBe(first.device?.deviceId);

    const { devices } = await api.listDevices({ userId: 'ana' });
    expect(devices.map((d) => [d.deviceId, d.label])).toEqual([
      [first.device!.deviceId, 'Firefox (laptop)'],
      [phone.device!.deviceId, ''],
    ]);
    expect(devices[0].registration).toEqual({ case: 'webPush', value: expect.objectContaining({ endpoint: browser.endpoint, p256dh: '', auth: '' }) });
    expect(devices[1].registration).toEqual({ case: 'fcmToken', value: '' });

    const read = await api.getDevice({ deviceId: first.device!.deviceId });
    expect(read.device?.registration).toEqual({ case: 'webPush', value: expect.objectContaining(browser) });
    expect((await platform.emitted('preference.changed')).filter((e) => e.subject.value === 'ana')).toHaveLength(3);
  });

  it('refuses registrations that cannot work, naming the field', async () => {
    const bad = { endpoint: 'http://push.example.net/x', p256dh: 'AAAA', auth: randomBytes(8).toString('base64url') };
    expect(await failureOf(api.registerDevice({ userId: 'ana', device: { registration: { case: 'webPush', value: bad } } }))).toBe(
      'InvalidArgument: device.web_push.endpoint: must be an https URL; device.web_push.p256dh: must be an uncompressed P-256 public key (65 bytes), base64url; device.web_push.auth: must be a 16-byte secret, base64url',
    );
    expect(await failureOf(api.registerDevice({ userId: 'ana', device: {} }))).toBe('InvalidArgument: device.registration: is required: set web_push or fcm_token');
  });

  it('removes a device of its user only, and prunes one reported gone once', async () => {
    const { device } = await api.registerDevice({ userId: 'ana', device: { registration: { case: 'fcmToken', value: 'fcm-token-2' } } });
    expect(await failureOf(api.removeDevice({ userId: 'bob', deviceId: device!.deviceId }))).toMatch(/^NotFound: user "bob" has no device/);
    expect(await api.pruneDevice({ deviceId: device!.deviceId, reason: 'fcm UNREGISTERED' })).toMatchObject({ removed: true });
    expect(await api.pruneDevice({ deviceId: device!.deviceId })).toMatchObject({ removed: false });
    expect((await api.listDevices({ userId: 'ana' })).devices).toEqual([]);
    expect(await failureOf(api.getDevice({ deviceId: device!.deviceId }))).toMatch(/^NotFound/);
    const other = await api.registerDevice({ userId: 'ana', device: { registration: { case: 'fcmToken', value: 'fcm-token-3' } } });
    expect(await api.removeDevice({ userId: 'ana', deviceId: other.device!.deviceId })).toMatchObject({ remainingDevices: 0 });
  });

  it('plans one push delivery per device in the user locale, and none without a device', async () => {
    await api.updatePreferences({
      preferences: { userId: 'ana', locale: 'fr-ca', defaultChannels: [Channel.PUSH, Channel.IN_APP] },
      updateMask: create(FieldMaskSchema, { paths: ['locale', 'default_channels'] }),
    });
    const resolve = () => api.resolveDelivery({ recipient: { target: { case: 'userId', value: 'ana' } }, notificationType: 'alert' });
    const none = await resolve();
    expect(none.plans.map((p) => [p.channel, p.decision, p.suppressionReason, p.locale])).toEqual([
      [Channel.PUSH, DeliveryDecision.SUPPRESS, SuppressionReason.NO_CONTACT, 'fr-CA'],
      [Channel.IN_APP, DeliveryDecision.DELIVER_NOW, SuppressionReason.UNSPECIFIED, 'fr-CA'],
    ]);
    const a = await api.registerDevice({ userId: 'ana', device: { registration: { case: 'webPush', value: subscription() } } });
    const b = await api.registerDevice({ userId: 'ana', device: { registration: { case: 'fcmToken', value: 'fcm-token-4' } } });
    const { plans } = await resolve();
    expect(plans.map((p) => [p.channel, p.address, p.decision])).toEqual([
      [Channel.PUSH, a.device!.deviceId, DeliveryDecision.DELIVER_NOW],
      [Channel.PUSH, b.device!.deviceId, DeliveryDecision.DELIVER_NOW],
      [Channel.IN_APP, 'ana', DeliveryDecision.DELIVER_NOW],
    ]);
  });

  it('refuses a locale that is not a language tag', async () => {
    const attempt = api.updatePreferences({ preferences: { userId: 'ana', locale: 'fr_CA!' }, updateMask: create(FieldMaskSchema, { paths: ['locale'] }) });
    expect(await failureOf(attempt)).toMatch(/^InvalidArgument: preferences\.locale: must be a BCP 47 language tag/);
  });
});
