// The push stand-ins' checks must bite: a Web Push request with a forged or misaddressed VAPID JWT, or a payload not
// encrypted for the subscription, is refused; an FCM request that breaks Google's discovery document, or carries an
// assertion or token Google would refuse, is refused. A well-formed one passes.
import { generateKeyPairSync } from 'node:crypto';
import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedAssertion } from '../../services/notification/providers/fcm.js';
import { DiscoveryCheck } from '../support/discovery-check.js';
import { type FcmStandIn, startFcmStandIn } from '../support/fcm-standin.js';
import { startWebPushStandIn, type WebPushStandIn } from '../support/web-push-standin.js';

const VAPID = webpush.generateVAPIDKeys();
const vapid = (keys = VAPID) => ({ subject: 'mailto:ops@example.com', publicKey: keys.publicKey, privateKey: keys.privateKey });

describe('Web Push stand-in (RFC 8030, 8291, 8292)', () => {
  let service: WebPushStandIn;
  beforeAll(async () => {
    service = await startWebPushStandIn();
  });
  afterAll(() => service.close());

  async function push(details: ReturnType<typeof webpush.generateRequestDetails>, headers: Record<string, string> = {}) {
    const response = await fetch(details.endpoint, { method: 'POST', headers: { ...(details.headers as Record<string, string>), ...headers }, body: details.body ?? undefined });
    return response.status;
  }

  it('accepts a payload encrypted for the subscription under a valid VAPID JWT, and decrypts it', async () => {
    const s = service.subscribe();
    const details = webpush.generateRequestDetails({ endpoint: s.endpoint, keys: s }, 'héllo', { vapidDetails: vapid() });
    expect(await push(details)).toBe(201);
    expect(service.received.at(-1)?.payload).toBe('héllo');
  });

  it('refuses a payload encrypted for other keys, a JWT signed by another key, and a JWT for another origin', async () => {
    const s = service.subscribe();
    const other = service.subscribe();
    const problems = service.violations().length;
    const wrongKeys = webpush.generateRequestDetails({ endpoint: s.endpoint, keys: { p256dh: other.p256dh, auth: other.auth } }, 'x', { vapidDetails: vapid() });
    expect(await push(wrongKeys)).toBe(400);
    const good = webpush.generateRequestDetails({ endpoint: s.endpoint, keys: s }, 'x', { vapidDetails: vapid() });
    const forged = webpush.generateRequestDetails({ endpoint: s.endpoint, keys: s }, 'x', { vapidDetails: vapid(webpush.generateVAPIDKeys()) });
    const forgedToken = /t=([^,]+)/.exec(String(forged.headers.Authorization))![1];
    expect(await push(good, { Authorization: String(good.headers.Authorization).replace(/t=[^,]+/, `t=${forgedToken}`) })).toBe(400);
    const elsewhere = webpush.generateRequestDetails({ endpoint: `https://push.example.net/push/1`, keys: s }, 'x', { vapidDetails: vapid() });
    expect(await push(good, { Authorization: String(elsewhere.headers.Authorization) })).toBe(400);
    const found = service.violations().slice(problems);
    expect(found).toEqual([
      expect.stringContaining('Unsupported state or unable to authenticate data'),
      expect.stringContaining('JWT signature does not verify with k'),
      expect.stringContaining('aud must be the push service origin'),
    ]);
  });
});

describe('FCM stand-in checks requests against fcm.v1.json', () => {
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const account = { projectId: 'p1', clientEmail: 'svc@p1.iam.gserviceaccount.com' };
  let fcm: FcmStandIn;
  let token: string;
  beforeAll(async () => {
    fcm = await startFcmStandIn({ ...account, publicKey: key.publicKey });
    const assertion = signedAssertion({ ...account, privateKey: key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, tokenUri: fcm.tokenUri }, Date.now());
    const granted = await fetch(fcm.tokenUri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
    });
    token = ((await granted.json()) as { access_token: string }).access_token;
  });
  afterAll(() => fcm.close());

  const send = async (body: unknown, path = '/v1/projects/p1/messages:send', bearer = token) => {
    const before = fcm.violations().length;
    const response = await fetch(`${fcm.origin}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
      body: JSON.stringify(body),
    });
    return { status: response.status, violations: fcm.violations().slice(before) };
  };

  it('accepts a message the discovery document describes', async () => {
    const ok = await send({ message: { token: 't', notification: { title: 'a', body: 'b' }, data: { k: 'v' }, android: { priority: 'HIGH', ttl: '60s' } } });
    expect(ok).toEqual({ status: 200, violations: [] });
  });

  it.each([
    [{ message: { token: 't', notifcation: { title: 'a' } } }, 'body.message.notifcation: not a field of Message'],
    [{ message: { token: 't', android: { priority: 'URGENT' } } }, 'body.message.android.priority: must be one of NORMAL, HIGH'],
    [{ message: { token: 't', android: { ttl: 3600 } } }, 'body.message.android.ttl: must be a string'],
    [{ message: { token: 't', android: { ttl: '1h' } } }, 'body.message.android.ttl: must be a duration'],
    [{ message: { token: 't', data: { n: 1 } } }, 'body.message.data.n: must be a string'],
    [{ message: { token: 't', name: 'projects/p1/messages/1' } }, 'body.message.name: is output only'],
    [{ validateOnly: true }, 'body.message: is required'],
  ])('refuses %j', async (body, violation) => {
    const { status, violations } = await send(body);
    expect(status).toBe(400);
    expect(violations.map((v) => v.replace(/^send: /, ''))).toEqual([expect.stringContaining(violation)]);
  });

  it('refuses a wrong path and an access token it never granted', async () => {
    expect((await send({ message: { token: 't' } }, '/v1/projects/p1/messages:sendAll')).violations).toEqual([
      expect.stringContaining('does not match v1/{+parent}/messages:send'),
    ]);
    expect((await send({ message: { token: 't' } }, undefined, 'ya29.forged')).violations).toEqual([expect.stringContaining('access token the token endpoint granted')]);
  });

  it('reads the method from the vendored document', () => {
    expect(DiscoveryCheck.load('fcm.v1.json').method('fcm.projects.messages.send')).toMatchObject({ httpMethod: 'POST', path: 'v1/{+parent}/messages:send' });
  });
});
