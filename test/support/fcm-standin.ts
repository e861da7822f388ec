// A stand-in for Google's OAuth token endpoint and FCM HTTP v1 on 127.0.0.1. The token endpoint checks the
// service-account assertion as Google documents it (grant type jwt-bearer; an RS256 JWT from the account, for the
// firebase.messaging scope, with the token URI as audience, at most an hour long, signed by the account's key) and
// grants an access token. messages:send checks the bearer token it granted and every request against Google's
// discovery document of the API (provider-specs/fcm.v1.json), then answers with the message's name, or with FCM's
// documented errors: 404 UNREGISTERED for a token made gone, 429 QUOTA_EXCEEDED, 503 UNAVAILABLE, 401.
import { type KeyObject, randomBytes, verify } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DiscoveryCheck } from './discovery-check.js';

export interface FcmRequest {
  kind: 'token' | 'send';
  /** token: the assertion's claims; send: the JSON body. */
  claims?: Record<string, unknown>;
  body?: unknown;
  /** send: the bearer token it carried. */
  accessToken?: string;
}

export interface FcmStandIn {
  origin: string;
  /** For the service account's token_uri. */
  tokenUri: string;
  requests: FcmRequest[];
  /** Sends to this registration token get 404 UNREGISTERED. */
  unregister(token: string): void;
  /** The next sends get these statuses, in order (429, 503, 401); then success again. */
  misbehave(...statuses: number[]): void;
  violations(): string[];
  close(): Promise<void>;
}

export interface ServiceAccountView {
  projectId: string;
  clientEmail: string;
  publicKey: KeyObject;
}

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const ERRORS: Record<number, { status: string; errorCode: string }> = {
  401: { status: 'UNAUTHENTICATED', errorCode: 'THIRD_PARTY_AUTH_ERROR' },
  404: { status: 'NOT_FOUND', errorCode: 'UNREGISTERED' },
  429: { status: 'RESOURCE_EXHAUSTED', errorCode: 'QUOTA_EXCEEDED' },
  503: { status: 'UNAVAILABLE', errorCode: 'UNAVAILABLE' },
};

function fcmError(code: number): string {
  const { status, errorCode } = ERRORS[code] ?? { status: 'INTERNAL', errorCode: 'INTERNAL' };
  return JSON.stringify({
    error: { code, message: `stand-in ${status}`, status, details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] },
  });
}

export async function startFcmStandIn(account: ServiceAccountView): Promise<FcmStandIn> {
  const discovery = DiscoveryCheck.load('fcm.v1.json');
  const requests: FcmRequest[] = [];
  const problems: string[] = [];
  const granted = new Set<string>();
  const gone = new Set<string>();
  const queue: number[] = [];
  let sent = 0;

  const checkAssertion = (assertion: string, tokenUri: string): Record<string, unknown> => {
    const [header64, claims64, signature64] = assertion.split('.');
    const header = JSON.parse(Buffer.from(header64, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (header.alg !== 'RS256') throw new Error('assertion alg must be RS256');
    if (!verify('RSA-SHA256', Buffer.from(`${header64}.${claims64}`), account.publicKey, Buffer.from(signature64 ?? '', 'base64url'))) {
      throw new Error("assertion is not signed with the service account's key");
    }
    const claims = JSON.parse(Buffer.from(claims64, 'base64url').toString('utf8')) as Record<string, unknown>;
    const now = Math.floor(Date.now() / 1000);
    const [iat, exp] = [Number(claims.iat), Number(claims.exp)];
    if (claims.iss !== account.clientEmail) throw new Error('iss must be the client_email');
    if (claims.aud !== tokenUri) throw new Error('aud must be the token_uri');
    if (!String(claims.scope ?? '').split(' ').includes(SCOPE)) throw new Error(`scope must include ${SCOPE}`);
    if (!(iat <= now + 60 && exp > now && exp - iat <= 3600)) throw new Error('iat/exp must be now and at most one hour apart');
    return claims;
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reply = (status: number, body: string) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(body);
      };
      const text = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/token') {
        const form = new URLSearchParams(text);
        try {
          if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') throw new Error('token request must be a form');
          if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') throw new Error('grant_type must be jwt-bearer');
          const claims = checkAssertion(form.get('assertion') ?? '', tokenUri);
          requests.push({ kind: 'token', claims });
        } catch (err) {
          problems.push(`token: ${(err as Error).message}`);
          return reply(400, JSON.stringify({ error: 'invalid_grant', error_description: (err as Error).message }));
        }
        const token = `ya29.${randomBytes(12).toString('hex')}`;
        granted.add(token);
        return reply(200, JSON.stringify({ access_token: token, expires_in: 3599, token_type: 'Bearer' }));
      }
      const accessToken = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      requests.push({ kind: 'send', body, accessToken });
      const violations = discovery.check('fcm.projects.messages.send', { method: req.method ?? '', path, body });
      if (req.headers['content-type'] !== 'application/json') violations.push('Content-Type must be application/json');
      if (!granted.has(accessToken)) violations.push('Authorization must carry an access token the token endpoint granted');
      if (violations.length > 0) {
        problems.push(...violations.map((v) => `send: ${v}`));
        return reply(400, fcmError(400));
      }
      const next = queue.shift();
      if (next !== undefined) {
        if (next === 401) granted.delete(accessToken);
        res.setHeader('retry-after', next === 429 ? '5' : '0');
        return reply(next, fcmError(next));
      }
      const message = (body as { message: { token?: string } }).message;
      if (message.token && gone.has(message.token)) return reply(404, fcmError(404));
      sent += 1;
      return reply(200, JSON.stringify({ name: `projects/${path.split('/')[3]}/messages/${sent}` }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tokenUri = `${origin}/token`;

  return {
    origin,
    tokenUri,
    requests,
    unregister: (token) => gone.add(token),
    misbehave: (...statuses) => queue.push(...statuses),
    violations: () => [...problems],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
