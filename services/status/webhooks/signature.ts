// Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over "<id>.<timestamp>.<body>" with
// the secret's bytes, sent as "v1,<base64>" in webhook-signature beside webhook-id and webhook-timestamp. Signing
// is what Pulse does; verifying is what a receiver does (README "Status webhooks"), and what the tests do.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'whsec_';
/** How far a receiver lets webhook-timestamp stray from its clock: the convention's five minutes. */
export const TOLERANCE_SECONDS = 5 * 60;

/** A new secret: "whsec_" and base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

/** The secret's key bytes, or null when it is not "whsec_" + base64 of 24-64 bytes. */
export function secretKey(secret: string): Buffer | null {
  if (!secret.startsWith(PREFIX)) return null;
  const encoded = secret.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return null;
  const key = Buffer.from(encoded, 'base64');
  return key.length >= 24 && key.length <= 64 ? key : null;
}

function signatureOf(key: Buffer, id: string, timestamp: number, body: string): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
}

/** The three headers of one attempt. */
export function webhookHeaders(key: Buffer, id: string, timestamp: number, body: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': `v1,${signatureOf(key, id, timestamp, body)}`,
  };
}

/** Verifies a request as a receiver should: why it is refused, or null when it is genuine and fresh. */
export function verifyWebhook(
  key: Buffer,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): string | null {
  const one = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const id = one('webhook-id');
  const timestamp = Number(one('webhook-timestamp'));
  const signatures = one('webhook-signature');
  if (!id || !signatures || !Number.isInteger(timestamp)) return 'missing webhook-id, webhook-timestamp or webhook-signature';
  if (Math.abs(nowSeconds - timestamp) > TOLERANCE_SECONDS) return 'webhook-timestamp is too far from now';
  const expected = Buffer.from(signatureOf(key, id, timestamp, body));
  // Several signatures may be sent (space separated) while a secret is rotated; one match is enough.
  const match = signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',', 2);
    const given = Buffer.from(signature ?? '');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
  return match ? null : 'no signature matches';
}
