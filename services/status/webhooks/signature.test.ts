import { expect, it } from 'vitest';
import { newWebhookSecret, secretKey, verifyWebhook, webhookHeaders } from './signature.js';

// The signing example of the Standard Webhooks reference libraries.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TIMESTAMP = 1614265330;
const BODY = '{"test": 2432232314}';

it('signs as the Standard Webhooks reference does', () => {
  expect(webhookHeaders(secretKey(SECRET)!, ID, TIMESTAMP, BODY)).toEqual({
    'webhook-id': ID,
    'webhook-timestamp': '1614265330',
    'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  });
});

it('verifies a genuine, fresh request and refuses a tampered, stale or unsigned one', () => {
  const key = secretKey(newWebhookSecret())!;
  const now = 1_800_000_000;
  const headers = webhookHeaders(key, 'msg_1', now, BODY);
  expect(verifyWebhook(key, headers, BODY, now)).toBeNull();
  expect(verifyWebhook(key, { ...headers, 'webhook-signature': `v1,bogus ${headers['webhook-signature']}` }, BODY, now)).toBeNull();
  expect(verifyWebhook(key, headers, BODY.replace('2432', '9999'), now)).toBe('no signature matches');
  expect(verifyWebhook(key, headers, BODY, now + 301)).toBe('webhook-timestamp is too far from now');
  expect(verifyWebhook(secretKey(newWebhookSecret())!, headers, BODY, now)).toBe('no signature matches');
  expect(verifyWebhook(key, { 'webhook-id': 'msg_1' }, BODY, now)).toMatch(/^missing/);
});

it('accepts only "whsec_" and base64 of 24 to 64 bytes as a secret', () => {
  expect(secretKey(newWebhookSecret())).toHaveLength(32);
  expect(secretKey('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).toBeNull();
  expect(secretKey('whsec_c2hvcnQ=')).toBeNull(); // 5 bytes
  expect(secretKey('whsec_not base64!')).toBeNull();
});
