// The push provider end to end: Web Push against the RFC 8030 stand-in, which checks the VAPID JWT and decrypts
// every payload with the subscription's private key (RFC 8291), and FCM HTTP v1 against the FCM stand-in, which
// checks the OAuth assertion and every request against Google's discovery document. Devices come from an
// in-memory stand-in for preference's GetDevice / PruneDevice.
import { generateKeyPairSync } from 'node:crypto';
import { pino } from 'pino';
import webpush from 'web-push';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { ProviderError } from '../../services/notification/providers/provider.js';
import { type PushDevices, PushProvider, type PushTarget } from '../../services/notification/providers/push.js';
import { readPushConfig } from '../../services/notification/providers/push-config.js';
import { EnvReader } from '../../services/platform/config.js';
import { type FcmStandIn, startFcmStandIn } from '../support/fcm-standin.js';
import { rejectionOf } from '../support/rejection.js';
import { startWebPushStandIn, type WebPushStandIn } from '../support/web-push-standin.js';
import { outgoingMessage } from './outgoing-message.js';

const VAPID = webpush.generateVAPIDKeys();
const SERVICE_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PROJECT = 'pulse-test';

class Devices implements PushDevices {
  readonly targets = new Map<string, PushTarget>();
  readonly pruned: Array<[string, string]> = [];
  async get(deviceId: string) {
    return this.targets.get(deviceId) ?? null;
  }
  async prune(deviceId: string, reason: string) {
    this.pruned.push([deviceId, reason]);
    this.targets.delete(deviceId);
  }
}

let pushService: WebPushStandIn;
let fcm: FcmStandIn;
const providers: PushProvider[] = [];

function provider(devices: Devices, env: Record<string, string | undefined> = {}): PushProvider {
  const reader = new EnvReader({
    VAPID_PUBLIC_KEY: VAPID.publicKey,
    VAPID_PRIVATE_KEY: VAPID.privateKey,
    VAPID_SUBJECT: 'mailto:ops@example.com',
    FCM_CREDENTIALS_JSON: JSON.stringify({
      type: 'service_account',
      project_id: PROJECT,
      client_email: 'pulse@pulse-test.iam.gserviceaccount.com',
      private_key: SERVICE_KEY.privateKey.export({ type: 'pkcs8', format: 'pem' }),
      token_uri: fcm.tokenUri,
    }),
    FCM_API_URL: fcm.origin,
    PUSH_TTL_SECONDS: '3600',
    PUSH_TIMEOUT_MS: '2000',
    ...env,
  });
  const config = readPushConfig(reader);
  reader.check();
  const created = new PushProvider(config!, devices, pino({ level: 'silent' }));
  providers.push(created);
  return created;
}

const signal = () => new AbortController().signal;

beforeAll(async () => {
  pushService = await startWebPushStandIn();
  fcm = await startFcmStandIn({ projectId: PROJECT, clientEmail: 'pulse@pulse-test.iam.gserviceaccount.com', publicKey: SERVICE_KEY.publicKey });
});

afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
  expect(pushService.violations()).toEqual([]);
  expect(fcm.violations()).toEqual([]);
});

afterAll(async () => {
  await pushService.close();
  await fcm.close();
});

describe('push to a browser through Web Push', () => {
  it('delivers an encrypted payload the browser can read, signed with VAPID, urgent for HIGH', async () => {
    const devices = new Devices();
    devices.targets.set('dev_browser', { kind: 'web_push', subscription: pushService.subscribe() });
    const result = await provider(devices).send(outgoingMessage(Channel.PUSH, { address: 'dev_browser' }), signal());

    expect(result.outcome).toBe('sent');
    expect(result.providerMessageId).toMatch(/\/message\/\d+$/);
    const push = pushService.received.at(-1)!;
    expect(JSON.parse(push.payload)).toEqual({
      title: 'Conversation needs review',
      body: 'Customer threatened to cancel.\nSentiment dropped to -0.8.',
      data: { notification_id: 'ntf_01HZX3', notification_type: 'review.required', conversation_id: 'conv_42', score: '-0.8' },
    });
    expect(push.headers).toMatchObject({ ttl: '3600', urgency: 'high', 'content-encoding': 'aes128gcm' });
    expect(push.claims).toMatchObject({ aud: pushService.origin, sub: 'mailto:ops@example.com' });
  });

  it("sends the template's title and body when the type has one, and low urgency for LOW", async () => {
    const devices = new Devices();
    devices.targets.set('dev_b2', { kind: 'web_push', subscription: pushService.subscribe() });
    const rendered = { title: 'Facture 42', body: 'Payez vendredi', html: '', slackBlocks: '' };
    await provider(devices).send(outgoingMessage(Channel.PUSH, { address: 'dev_b2', rendered, priority: Priority.LOW }), signal());
    const push = pushService.received.at(-1)!;
    expect(JSON.parse(push.payload)).toMatchObject({ title: 'Facture 42', body: 'Payez vendredi' });
    expect(push.headers.urgency).toBe('low');
  });

  it('prunes a subscription the push service reports gone and fails the delivery for good', async () => {
    const devices = new Devices();
    const subscription = pushService.subscribe();
    devices.targets.set('dev_gone', { kind: 'web_push', subscription });
    pushService.unsubscribe(subscription.endpoint);
    const err = await rejectionOf(provider(devices).send(outgoingMessage(Channel.PUSH, { address: 'dev_gone' }), signal()), ProviderError);
    expect(err).toMatchObject({ kind: 'permanent', message: 'web push 410: subscription gone' });
    expect(devices.pruned).toEqual([['dev_gone', 'web push 410: subscription gone']]);
  });

  it('classifies throttling and outages as retryable, keeping Retry-After', async () => {
    const devices = new Devices();
    devices.targets.set('dev_busy', { kind: 'web_push', subscription: pushService.subscribe() });
    const push = provider(devices);
    pushService.misbehave(429, 503);
    const throttled = await rejectionOf(push.send(outgoingMessage(Channel.PUSH, { address: 'dev_busy' }), signal()), ProviderError);
    expect(throttled).toMatchObject({ kind: 'retryable', message: 'web push 429', retryAfterMs: 7000 });
    const down = await rejectionOf(push.send(outgoingMessage(Channel.PUSH, { address: 'dev_busy' }), signal()), ProviderError);
    expect(down).toMatchObject({ kind: 'retryable', message: 'web push 503' });
    expect(devices.pruned).toEqual([]);
  });

  it('fails a device removed meanwhile, or of a kind not configured, without a request', async () => {
    const devices = new Devices();
    const before = pushService.received.length + fcm.requests.length;
    const removed = await rejectionOf(provider(devices).send(outgoingMessage(Channel.PUSH, { address: 'dev_none' }), signal()), ProviderError);
    expect(removed).toMatchObject({ kind: 'permanent', message: 'device no longer registered' });
    devices.targets.set('dev_phone', { kind: 'fcm', token: 'token-1' });
    const unconfigured = provider(devices, { FCM_CREDENTIALS_JSON: undefined });
    const err = await rejectionOf(unconfigured.send(outgoingMessage(Channel.PUSH, { address: 'dev_phone' }), signal()), ProviderError);
    expect(err).toMatchObject({ kind: 'permanent', message: 'FCM is not configured (FCM_CREDENTIALS_* settings)' });
    expect(pushService.received.length + fcm.requests.length).toBe(before);
  });
});

describe('push to a phone through FCM HTTP v1', () => {
  it('gets an access token with a signed assertion once, and sends messages:send as the discovery document describes', async () => {
    const devices = new Devices();
    devices.targets.set('dev_p1', { kind: 'fcm', token: 'fcm-registration-1' });
    const push = provider(devices);
    const first = await push.send(outgoingMessage(Channel.PUSH, { address: 'dev_p1' }), signal());
    const second = await push.send(outgoingMessage(Channel.PUSH, { address: 'dev_p1', priority: Priority.MEDIUM }), signal());

    expect(first).toMatchObject({ outcome: 'sent', providerMessageId: expect.stringMatching(new RegExp(`^projects/${PROJECT}/messages/\\d+$`)) });
    expect(second.outcome).toBe('sent');
    const tokens = fcm.requests.filter((r) => r.kind === 'token');
    expect(tokens.slice(-1)[0].claims).toMatchObject({ scope: 'https://www.googleapis.com/auth/firebase.messaging', aud: fcm.tokenUri });
    const sends = fcm.requests.filter((r) => r.kind === 'send').slice(-2);
    expect(sends[0].body).toEqual({
      message: {
        token: 'fcm-registration-1',
        notification: { title: 'Conversation needs review', body: 'Customer threatened to cancel.\nSentiment dropped to -0.8.' },
        data: { notification_id: 'ntf_01HZX3', notification_type: 'review.required', conversation_id: 'conv_42', score: '-0.8' },
        android: { priority: 'HIGH', ttl: '3600s' },
        apns: { headers: { 'apns-priority': '10' } },
      },
    });
    expect(sends[1].body).toMatchObject({ message: { android: { priority: 'NORMAL' }, apns: { headers: { 'apns-priority': '5' } } } });
    expect(sends.map((s) => s.accessToken)).toEqual([sends[0].accessToken, sends[0].accessToken]); // one token for both
  });

  it('prunes a token FCM reports UNREGISTERED and fails the delivery for good', async () => {
    const devices = new Devices();
    devices.targets.set('dev_p2', { kind: 'fcm', token: 'fcm-uninstalled' });
    fcm.unregister('fcm-uninstalled');
    const err = await rejectionOf(provider(devices).send(outgoingMessage(Channel.PUSH, { address: 'dev_p2' }), signal()), ProviderError);
    expect(err).toMatchObject({ kind: 'permanent', message: 'fcm UNREGISTERED: registration token gone' });
    expect(devices.pruned).toEqual([['dev_p2', 'fcm UNREGISTERED: registration token gone']]);
  });

  it('retries FCM throttling and outages, and a refused access token with a new one', async () => {
    const devices = new Devices();
    devices.targets.set('dev_p3', { kind: 'fcm', token: 'fcm-registration-3' });
    const push = provider(devices);
    fcm.misbehave(429, 503, 401);
    const throttled = await rejectionOf(push.send(outgoingMessage(Channel.PUSH, { address: 'dev_p3' }), signal()), ProviderError);
    expect(throttled).toMatchObject({ kind: 'retryable', message: 'fcm 429 QUOTA_EXCEEDED', retryAfterMs: 5000 });
    const down = await rejectionOf(push.send(outgoingMessage(Channel.PUSH, { address: 'dev_p3' }), signal()), ProviderError);
    expect(down).toMatchObject({ kind: 'retryable', message: 'fcm 503 UNAVAILABLE' });
    const refused = await rejectionOf(push.send(outgoingMessage(Channel.PUSH, { address: 'dev_p3' }), signal()), ProviderError);
    expect(refused).toMatchObject({ kind: 'retryable', message: 'fcm 401: access token refused' });
    const tokensBefore = fcm.requests.filter((r) => r.kind === 'token').length;
    expect((await push.send(outgoingMessage(Channel.PUSH, { address: 'dev_p3' }), signal())).outcome).toBe('sent');
    expect(fcm.requests.filter((r) => r.kind === 'token').length).toBe(tokensBefore + 1);
    expect(devices.pruned).toEqual([]);
  });
});
