// A stand-in for a Web Push service (RFC 8030) on 127.0.0.1, playing the browser's side too: subscribe() makes a
// subscription as a browser would (a P-256 key pair from node:crypto ECDH and a random 16-byte auth secret), and
// every push to it is checked as a push service and a browser would: the VAPID header (RFC 8292: an ES256 JWT for
// the endpoint's origin, unexpired, at most 24 h ahead, with a contact, signed by the key it names), TTL, Urgency
// and Content-Encoding, then the body is decrypted with the subscription's private key (RFC 8291, aes128gcm,
// RFC 8188 framing). What reaches the "device" is the decrypted payload. A subscription can be made gone (410).
import { createECDH, createHmac, createDecipheriv, createPublicKey, randomBytes, verify } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInSubscription {
  endpoint: string;
  /** base64url, as PushSubscription.toJSON() gives them. */
  p256dh: string;
  auth: string;
}

export interface ReceivedPush {
  subscriptionId: string;
  headers: IncomingHttpHeaders;
  /** The decrypted payload, as the browser's service worker would get it. */
  payload: string;
  /** The VAPID JWT's claims. */
  claims: Record<string, unknown>;
}

export interface WebPushStandIn {
  origin: string;
  subscribe(): StandInSubscription;
  /** The next push to this subscription, and every later one, gets 410 Gone. */
  unsubscribe(endpoint: string): void;
  /** The next requests get these statuses, in order (e.g. 429, 503); then success again. */
  misbehave(...statuses: number[]): void;
  received: ReceivedPush[];
  /** Every problem with every request so far; tests assert it is empty. */
  violations(): string[];
  close(): Promise<void>;
}

interface Keys {
  ecdh: ReturnType<typeof createECDH>;
  auth: Buffer;
  gone: boolean;
}

const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest();

/** RFC 8291 section 3.4 and RFC 8188 section 2: one record, padding delimiter 0x02. */
export function decryptAes128gcm(body: Buffer, keys: Pick<Keys, 'ecdh' | 'auth'>): string {
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20];
  const senderPublic = body.subarray(21, 21 + idLength);
  const record = body.subarray(21 + idLength);
  if (idLength !== 65) throw new Error(`keyid must be the sender's 65-byte public key (got ${idLength} bytes)`);
  if (record.length > recordSize) throw new Error('more than one record');
  const sharedSecret = keys.ecdh.computeSecret(senderPublic);
  const prkKey = hmac(keys.auth, sharedSecret);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), keys.ecdh.getPublicKey(), senderPublic]);
  const ikm = hmac(prkKey, Buffer.concat([keyInfo, Buffer.from([1])]));
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01')).subarray(0, 12);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('last record must end with the 0x02 padding delimiter');
  return padded.subarray(0, end).toString('utf8');
}

/** RFC 8292: "vapid t=<JWT>, k=<public key>"; returns the claims or throws what is wrong. */
export function verifyVapid(authorization: string | undefined, origin: string, nowS: number): Record<string, unknown> {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!match) throw new Error(`Authorization must be "vapid t=..., k=..." (got ${authorization ? 'another form' : 'none'})`);
  const [, jwt, k] = match;
  const [header64, claims64, signature64] = jwt.split('.');
  const header = JSON.parse(Buffer.from(header64, 'base64url').toString('utf8')) as Record<string, unknown>;
  if (header.alg !== 'ES256') throw new Error(`JWT alg must be ES256 (got ${String(header.alg)})`);
  const raw = Buffer.from(k, 'base64url');
  if (raw.length !== 65 || raw[0] !== 4) throw new Error('k must be an uncompressed P-256 public key');
  const jwk = { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') };
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const signed = Buffer.from(`${header64}.${claims64}`);
  if (!verify('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature64 ?? '', 'base64url'))) {
    throw new Error('JWT signature does not verify with k');
  }
  const claims = JSON.parse(Buffer.from(claims64, 'base64url').toString('utf8')) as Record<string, unknown>;
  if (claims.aud !== origin) throw new Error(`aud must be the push service origin ${origin} (got ${String(claims.aud)})`);
  const exp = Number(claims.exp);
  if (!(exp > nowS && exp <= nowS + 24 * 3600)) throw new Error('exp must be in the future and at most 24 hours ahead');
  if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) throw new Error('sub must be a mailto: or https: contact');
  return claims;
}

export async function startWebPushStandIn(): Promise<WebPushStandIn> {
  const subscriptions = new Map<string, Keys>();
  const received: ReceivedPush[] = [];
  const problems: string[] = [];
  const queue: number[] = [];
  let messages = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answer = (status: number, headers: Record<string, string> = {}) => {
        res.writeHead(status, headers);
        res.end();
      };
      const id = /^\/push\/([0-9a-f]+)$/.exec(req.url ?? '')?.[1];
      const keys = id ? subscriptions.get(id) : undefined;
      if (req.method !== 'POST' || !id || !keys) return answer(404);
      if (keys.gone) return answer(410);
      const next = queue.shift();
      if (next !== undefined) return answer(next, next === 429 ? { 'retry-after': '7' } : {});
      const problem = (what: string) => {
        problems.push(`${req.url}: ${what}`);
        answer(400);
      };
      if (!/^\d+$/.test(String(req.headers.ttl ?? ''))) return problem('TTL header must be a number of seconds');
      if (req.headers['content-encoding'] !== 'aes128gcm') return problem('Content-Encoding must be aes128gcm');
      if (!['very-low', 'low', 'normal', 'high'].includes(String(req.headers.urgency ?? 'normal'))) return problem('Urgency must be very-low, low, normal or high');
      let claims: Record<string, unknown>;
      let payload: string;
      try {
        claims = verifyVapid(req.headers.authorization, origin, Math.floor(Date.now() / 1000));
        payload = decryptAes128gcm(Buffer.concat(chunks), keys);
      } catch (err) {
        return problem((err as Error).message);
      }
      received.push({ subscriptionId: id, headers: req.headers, payload, claims });
      messages += 1;
      answer(201, { location: `${origin}/message/${messages}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    received,
    subscribe() {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const id = randomBytes(8).toString('hex');
      const auth = randomBytes(16);
      subscriptions.set(id, { ecdh, auth, gone: false });
      return { endpoint: `${origin}/push/${id}`, p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') };
    },
    unsubscribe(endpoint) {
      const keys = subscriptions.get(endpoint.split('/').at(-1) ?? '');
      if (keys) keys.gone = true;
    },
    misbehave: (...statuses) => queue.push(...statuses),
    violations: () => [...problems],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
