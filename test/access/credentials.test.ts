// Missing, bad and foreign credentials, over every protocol a port speaks (Connect JSON unary and streaming over
// HTTP/1.1, gRPC over h2c, gRPC-Web): `unauthenticated` for a missing or bad credential, `permission_denied` naming
// the caller and the scope for a known caller outside its scope, and never the credential itself in the status
// line, headers, trailers, body or the service's logs.
import { create, toBinary } from '@bufbuild/protobuf';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListInboxRequestSchema } from '../../gen/pulse/status/v1/status_service_pb.js';
import { type RunningService, startService } from '../../services/platform/service.js';
import { status } from '../../services/status/service.js';
import { AUDIENCE, claims, grpcFrame, h2Request, identities, ISSUER, mint, type RawResponse, SECRET } from './support.js';

const callers = identities({ 'bot-1': 'bot', 'alice': 'user' });
const logLines: string[] = [];
let service: RunningService;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  service = await startService(status, {
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      PULSE_API_TOKENS: callers.spec,
      PULSE_JWT_SECRET: SECRET,
      PULSE_JWT_ISSUER: ISSUER,
      PULSE_JWT_AUDIENCE: AUDIENCE,
    },
    log: pino({ level: 'trace' }, sink),
  });
});

afterAll(() => service?.stop());

const LIST_INBOX = '/pulse.status.v1.StatusService/ListInbox';
const WATCH = '/pulse.status.v1.StatusService/WatchStatus';
const binary = Buffer.from(toBinary(ListInboxRequestSchema, create(ListInboxRequestSchema, { userId: 'alice' })));

function envelope(json: object): Buffer {
  const data = Buffer.from(JSON.stringify(json));
  return grpcFrame(data);
}

async function fetchRaw(path: string, headers: Record<string, string>, body: Buffer): Promise<RawResponse> {
  const res = await fetch(`${service.url}${path}`, { method: 'POST', headers, body });
  return { status: res.status, headers: Object.fromEntries(res.headers), trailers: {}, body: Buffer.from(await res.arrayBuffer()) };
}

interface Outcome {
  /** Connect code name or gRPC status number, as the protocol says it. */
  code: string;
  message: string;
  raw: RawResponse;
}

const protocols: Record<string, (authorization: string | undefined) => Promise<Outcome>> = {
  'Connect JSON (HTTP/1.1)': async (authorization) => {
    const raw = await fetchRaw(LIST_INBOX, { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, Buffer.from('{"userId":"alice"}'));
    const json = JSON.parse(raw.body.toString()) as { code?: string; message?: string };
    return { code: raw.status === 200 ? 'ok' : json.code!, message: json.message ?? '', raw };
  },
  'Connect streaming (HTTP/1.1)': async (authorization) => {
    const raw = await fetchRaw(
      WATCH,
      // A watch that is let in stays open: its deadline ends it.
      { 'content-type': 'application/connect+json', 'connect-timeout-ms': '500', ...(authorization ? { authorization } : {}) },
      envelope({ userId: 'alice' }),
    );
    // The end-of-stream message is the last envelope (flag 0x02).
    let offset = 0;
    let end: { error?: { code: string; message: string } } = {};
    while (offset + 5 <= raw.body.length) {
      const length = raw.body.readUInt32BE(offset + 1);
      if (raw.body[offset] & 0x02) end = JSON.parse(raw.body.subarray(offset + 5, offset + 5 + length).toString());
      offset += 5 + length;
    }
    return { code: end.error?.code ?? 'ok', message: end.error?.message ?? '', raw };
  },
  'gRPC (h2c)': async (authorization) => {
    const raw = await h2Request(
      service.url,
      LIST_INBOX,
      { 'content-type': 'application/grpc', te: 'trailers', ...(authorization ? { authorization } : {}) },
      grpcFrame(binary),
    );
    const meta = { ...raw.headers, ...raw.trailers };
    return { code: meta['grpc-status'], message: decodeURIComponent(meta['grpc-message'] ?? ''), raw };
  },
  'gRPC-Web (HTTP/1.1)': async (authorization) => {
    const raw = await fetchRaw(
      LIST_INBOX,
      { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', ...(authorization ? { authorization } : {}) },
      grpcFrame(binary),
    );
    const trailers: Record<string, string> = { ...raw.headers };
    let offset = 0;
    while (offset + 5 <= raw.body.length) {
      const length = raw.body.readUInt32BE(offset + 1);
      if (raw.body[offset] & 0x80) {
        for (const line of raw.body.subarray(offset + 5, offset + 5 + length).toString().split('\r\n')) {
          const colon = line.indexOf(':');
          if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
      }
      offset += 5 + length;
    }
    raw.trailers = trailers;
    return { code: trailers['grpc-status'], message: decodeURIComponent(trailers['grpc-message'] ?? ''), raw };
  },
};

const UNAUTHENTICATED: Record<string, string> = {
  'Connect JSON (HTTP/1.1)': 'unauthenticated',
  'Connect streaming (HTTP/1.1)': 'unauthenticated',
  'gRPC (h2c)': '16',
  'gRPC-Web (HTTP/1.1)': '16',
};
const PERMISSION_DENIED: Record<string, string> = {
  'Connect JSON (HTTP/1.1)': 'permission_denied',
  'Connect streaming (HTTP/1.1)': 'permission_denied',
  'gRPC (h2c)': '7',
  'gRPC-Web (HTTP/1.1)': '7',
};

/** Everything a caller gets back, as text: status, headers, trailers, body (also percent-decoded). */
function everything(raw: RawResponse): string {
  const text = [String(raw.status), ...Object.entries(raw.headers).flat(), ...Object.entries(raw.trailers).flat(), raw.body.toString('latin1')].join('\n');
  let decoded = text;
  try {
    decoded = decodeURIComponent(text);
  } catch {
    // not percent-encoded
  }
  return `${text}\n${decoded}`;
}

/** Pieces of a credential that must not come back: the whole and every 12-character window. */
function fragments(credential: string): string[] {
  const out = new Set([credential]);
  for (let i = 0; i + 12 <= credential.length; i += 6) out.add(credential.slice(i, i + 12));
  return [...out];
}

const now = Math.floor(Date.now() / 1000);
const badCredentials: [string, string | undefined, string][] = [
  ['no Authorization header', undefined, 'missing bearer token'],
  ['a wrong scheme', `Basic ${Buffer.from(`alice:${callers.tokens.alice}`).toString('base64')}`, 'malformed Authorization header'],
  ['an unknown token', 'Bearer not-a-known-token-but-long-enough-0123', 'invalid bearer token'],
  ['a known token with one character more', `Bearer ${callers.tokens.alice}x`, 'invalid bearer token'],
  ['a known token in lower case', `Bearer ${callers.tokens.alice.toLowerCase()}`, 'invalid bearer token'],
  ['an expired JWT', `Bearer ${mint({ alg: 'HS256', secret: SECRET }, claims({ exp: now - 600, roles: ['admin'] }))}`, 'invalid bearer token: JWT has expired'],
  ['a JWT signed with another secret', `Bearer ${mint({ alg: 'HS256', secret: 'another-secret-another-secret-another-secret' }, claims({ roles: ['admin'] }))}`, 'invalid bearer token: JWT signature does not verify'],
  ['an unsigned JWT', `Bearer ${mint({ alg: 'none' }, claims({ roles: ['admin'] }))}x`, 'invalid bearer token: unsigned JWTs (alg none) are not accepted'],
];

describe.each(Object.keys(protocols))('%s', (protocol) => {
  it.each(badCredentials)('answers %s with unauthenticated, not echoing it', async (_what, authorization, message) => {
    const outcome = await protocols[protocol](authorization);
    expect(outcome.code).toBe(UNAUTHENTICATED[protocol]);
    expect(outcome.message).toContain(message);
    if (protocol === 'Connect JSON (HTTP/1.1)') expect(outcome.raw.status).toBe(401);
    const credential = authorization?.replace(/^\S+\s+/, '');
    if (credential) for (const piece of fragments(credential)) expect(everything(outcome.raw)).not.toContain(piece);
  });

  it('answers a known caller outside its scope with permission_denied naming caller and scope, not the token', async () => {
    const outcome = await protocols[protocol](`Bearer ${callers.tokens['bot-1']}`);
    expect(outcome.code).toBe(PERMISSION_DENIED[protocol]);
    const rpc = protocol.startsWith('Connect streaming') ? 'WatchStatus' : 'ListInbox';
    const scope = rpc === 'WatchStatus' ? 'status:read' : 'inbox:read';
    expect(outcome.message).toBe(`caller "bot-1" may not call pulse.status.v1.StatusService/${rpc}: it needs scope "${scope}"`);
    if (protocol === 'Connect JSON (HTTP/1.1)') expect(outcome.raw.status).toBe(403);
    for (const piece of fragments(callers.tokens['bot-1'])) expect(everything(outcome.raw)).not.toContain(piece);
  });

  it('serves the caller it is meant for', async () => {
    const outcome = await protocols[protocol](`Bearer ${callers.tokens.alice}`);
    // The watch, let in, runs until its deadline and then ends (cleanly or with deadline_exceeded).
    const expected = protocol.startsWith('gRPC') ? ['0'] : protocol.startsWith('Connect streaming') ? ['ok', 'deadline_exceeded'] : ['ok'];
    expect(expected).toContain(outcome.code);
    for (const piece of fragments(callers.tokens.alice)) expect(everything(outcome.raw)).not.toContain(piece);
  });
});

describe('logs', () => {
  it('never hold a credential that was presented', () => {
    const text = logLines.join('');
    expect(logLines.length).toBeGreaterThan(0);
    for (const credential of [...Object.values(callers.tokens), ...badCredentials.map(([, a]) => a?.replace(/^\S+\s+/, '')).filter(Boolean)]) {
      for (const piece of fragments(credential as string)) expect(text).not.toContain(piece);
    }
  });
});

describe('token entries without roles or scopes', () => {
  it('have full access, and the service warns about them at start', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const legacy = await startService(status, {
      env: { PORT: '0', HOST: '127.0.0.1', PULSE_API_TOKENS: `dev:dev-token-0123456789abcdef,${callers.spec}` },
      log: pino({ level: 'info' }, sink),
    });
    try {
      const res = await fetch(`${legacy.url}/pulse.status.v1.StatusService/GetDeliveryStats`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer dev-token-0123456789abcdef' },
        body: '{}',
      });
      expect(res.status).toBe(200);
      const warning = lines.map((l) => JSON.parse(l) as { level: number; msg: string; callers?: string[] }).find((l) => l.level === 40);
      expect(warning).toMatchObject({ callers: ['dev'], msg: expect.stringContaining('without roles or scopes have full access') });
      expect(lines.join('')).not.toContain('dev-token-0123456789abcdef');
    } finally {
      await legacy.stop();
    }
  });

  it('are refused at start with PULSE_AUTH_REQUIRE_SCOPES=true', async () => {
    await expect(
      startService(status, {
        env: { PORT: '0', PULSE_API_TOKENS: 'dev:dev-token-0123456789abcdef', PULSE_AUTH_REQUIRE_SCOPES: 'true' },
        log: pino({ level: 'silent' }),
      }),
    ).rejects.toThrow(/PULSE_API_TOKENS entry "dev" has no roles or scopes \(PULSE_AUTH_REQUIRE_SCOPES is on\)/);
  });
});
