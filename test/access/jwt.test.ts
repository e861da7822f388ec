// Signed JWTs over real HTTP: a status service that accepts HS256 (PULSE_JWT_SECRET) and RS256/ES256 (a JWKS file),
// and one that accepts only the JWKS keys. Each case prints what it sent and what came back.
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatusService } from '../../gen/pulse/status/v1/status_service_pb.js';
import { ConfigError, EnvReader } from '../../services/platform/config.js';
import { createLogger } from '../../services/platform/log.js';
import { readPlatformConfig, type RunningService, startService } from '../../services/platform/service.js';
import { status } from '../../services/status/service.js';
import { AUDIENCE, claims, ISSUER, mint, SECRET, type SigningKey, tempDir, testKeys, writeJson } from './support.js';
import { bearer } from '../../services/platform/peers.js';

const keys = testKeys();
const dir = tempDir('pulse-jwt-');
const jwksFile = writeJson(dir, 'jwks.json', keys.jwks);
const HS: SigningKey = { alg: 'HS256', secret: SECRET };
const RS: SigningKey = { alg: 'RS256', key: keys.rsa.privateKey };
const ES: SigningKey = { alg: 'ES256', key: keys.ec.privateKey };

let both: RunningService;
let jwksOnly: RunningService;

const base = { PORT: '0', HOST: '127.0.0.1', PULSE_JWT_ISSUER: ISSUER, PULSE_JWT_AUDIENCE: AUDIENCE };

beforeAll(async () => {
  // No PULSE_API_TOKENS at all: with JWTs configured, static tokens are optional.
  both = await startService(status, { env: { ...base, PULSE_JWT_SECRET: SECRET, PULSE_JWKS_FILE: jwksFile }, log: createLogger('status', 'silent') });
  jwksOnly = await startService(status, { env: { ...base, PULSE_JWKS_FILE: jwksFile }, log: createLogger('status', 'silent') });
});

afterAll(async () => {
  await both?.stop();
  await jwksOnly?.stop();
});

function api(service: RunningService, jwt: string) {
  return createClient(
    StatusService,
    createConnectTransport({
      baseUrl: service.url,
      httpVersion: '1.1',
      interceptors: [bearer(jwt)],
    }),
  );
}

/** 'ok', or the error code name and message. */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (err) {
    const e = ConnectError.from(err);
    return `${Code[e.code]}: ${e.rawMessage}`;
  }
}

const now = Math.floor(Date.now() / 1000);

describe('JWTs accepted', () => {
  it.each<[string, SigningKey, Record<string, unknown>, Record<string, unknown>, string]>([
    ['HS256 with a scope claim', HS, claims({ sub: 'alice', scope: 'inbox:read' }), {}, 'alice'],
    ['HS256 with a roles claim', HS, claims({ sub: 'alice', roles: ['user'] }), {}, 'alice'],
    ['RS256 chosen by kid', RS, claims({ sub: 'alice', roles: ['user'] }), { kid: 'rsa-1' }, 'alice'],
    ['ES256 chosen by kid', ES, claims({ sub: 'alice', roles: ['user'] }), { kid: 'ec-1' }, 'alice'],
    ['RS256 without kid (one RSA key)', RS, claims({ sub: 'alice', roles: ['user'] }), {}, 'alice'],
    ['a user claim naming the user behind an opaque sub', HS, claims({ sub: 'idp|8f2c', user: 'alice', roles: ['user'] }), {}, 'alice'],
    ['an inboxes claim for a shared inbox', HS, claims({ sub: 'carol', roles: ['user'], inboxes: ['team-leads'] }), {}, 'team-leads'],
    ['the reviewer role reading the reviewers inbox', HS, claims({ sub: 'ann', roles: ['reviewer'] }), {}, 'reviewers'],
    ['an expiry within the 30 s leeway', HS, claims({ sub: 'alice', roles: ['user'], exp: now - 5 }), {}, 'alice'],
  ])('%s', async (what, key, c, header, inbox) => {
    const result = await outcome(api(both, mint(key, c, header)).listInbox({ userId: inbox }));
    console.log(`JWT ${what}: ListInbox(${inbox}) -> ${result}`);
    expect(result).toBe('ok');
  });
});

describe('JWTs refused', () => {
  it.each<[string, 'both' | 'jwksOnly', SigningKey, Record<string, unknown>, Record<string, unknown>, string]>([
    ['expired', 'both', HS, claims({ roles: ['user'], exp: now - 120 }), {}, 'Unauthenticated: invalid bearer token: JWT has expired'],
    ['not valid yet', 'both', HS, claims({ roles: ['user'], nbf: now + 600 }), {}, 'Unauthenticated: invalid bearer token: JWT is not valid yet (nbf)'],
    ['from another issuer', 'both', HS, claims({ roles: ['user'], iss: 'https://evil.example/' }), {}, 'Unauthenticated: invalid bearer token: JWT issuer (iss) is not the one configured'],
    ['for another audience', 'both', HS, claims({ roles: ['user'], aud: 'billing' }), {}, 'Unauthenticated: invalid bearer token: JWT audience (aud) does not include this service'],
    ['without exp', 'both', HS, claims({ roles: ['user'], exp: undefined }), {}, 'Unauthenticated: invalid bearer token: claim exp is required'],
    ['naming an unknown kid', 'both', RS, claims({ roles: ['user'] }), { kid: 'rsa-9' }, 'Unauthenticated: invalid bearer token: JWT kid names no configured key'],
    ['HS256 where only JWKS keys are configured', 'jwksOnly', HS, claims({ roles: ['admin'] }), {}, 'Unauthenticated: invalid bearer token: HS256 JWTs are not accepted here (no shared secret is configured)'],
    [
      'HS256 keyed with the RSA public key (alg confusion)',
      'jwksOnly',
      { alg: 'HS256', secret: keys.rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string },
      claims({ roles: ['admin'] }),
      { kid: 'rsa-1' },
      'Unauthenticated: invalid bearer token: HS256 JWTs are not accepted here (no shared secret is configured)',
    ],
  ])('%s', async (what, where, key, c, header, expected) => {
    const service = where === 'jwksOnly' ? jwksOnly : both;
    const token = mint(key, c, header);
    const result = await outcome(api(service, token).listInbox({ userId: 'jwt-alice' }));
    console.log(`JWT ${what}: -> ${result}`);
    expect(result).toBe(expected);
    expect(result).not.toContain(token.split('.')[1].slice(0, 16));
  });

  it('alg none, however it is dressed', async () => {
    const unsigned = mint({ alg: 'none' }, claims({ roles: ['admin'] }));
    expect(await outcome(api(both, unsigned).listInbox({ userId: 'jwt-alice' }))).toBe(
      'Unauthenticated: invalid bearer token: malformed JWT: expected three base64url segments (header.payload.signature)',
    );
    expect(await outcome(api(both, `${unsigned}AAAA`).listInbox({ userId: 'jwt-alice' }))).toBe(
      'Unauthenticated: invalid bearer token: unsigned JWTs (alg none) are not accepted',
    );
  });

  it('a forged payload under a real signature', async () => {
    const [h, , s] = mint(HS, claims({ roles: ['user'] })).split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify(claims({ roles: ['admin'] }))).toString('base64url')}.${s}`;
    expect(await outcome(api(both, forged).getDeliveryStats({}))).toBe('Unauthenticated: invalid bearer token: JWT signature does not verify');
  });

  it('a valid token outside its scope is permission_denied naming the subject', async () => {
    const token = mint(HS, claims({ sub: 'alice', roles: ['user'], scope: 'openid profile' }));
    expect(await outcome(api(both, token).getDeliveryStats({}))).toBe(
      'PermissionDenied: caller "alice" may not call pulse.status.v1.StatusService/GetDeliveryStats: it needs scope "stats:read"',
    );
    expect(await outcome(api(both, token).listInbox({ userId: 'bob' }))).toBe(
      'PermissionDenied: caller "alice" may use only the inbox of user "alice"; user "bob" needs scope "inbox:any"',
    );
    const admin = mint(HS, claims({ sub: 'ops', scope: 'stats:read inbox:read inbox:any' }));
    expect(await outcome(api(both, admin).getDeliveryStats({}))).toBe('ok');
    expect(await outcome(api(both, admin).listInbox({ userId: 'bob' }))).toBe('ok');
  });
});

describe('JWT settings', () => {
  const problems = (env: Record<string, string>) => {
    const reader = new EnvReader(env);
    readPlatformConfig(reader, { name: 'status', peers: [] });
    try {
      reader.check();
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };

  it('are checked at start, naming the variable and never quoting the secret', () => {
    expect(problems({ PULSE_JWT_SECRET: 'too-short-secret' })).toEqual([
      'PULSE_JWT_SECRET must be at least 32 bytes (e.g. openssl rand -base64 48)',
      'PULSE_JWT_ISSUER is required when JWTs are on (PULSE_JWT_SECRET or PULSE_JWKS_FILE): the `iss` tokens must carry',
      'PULSE_JWT_AUDIENCE is required when JWTs are on (PULSE_JWT_SECRET or PULSE_JWKS_FILE): a value `aud` must hold',
    ]);
    expect(problems({ PULSE_JWKS_FILE: `${dir}/missing.json`, PULSE_JWT_ISSUER: ISSUER, PULSE_JWT_AUDIENCE: AUDIENCE })).toEqual([
      'PULSE_JWKS_FILE names a file that cannot be read (ENOENT)',
    ]);
    expect(problems({ PULSE_JWKS_FILE: writeJson(dir, 'oct.json', { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }), PULSE_JWT_ISSUER: ISSUER, PULSE_JWT_AUDIENCE: AUDIENCE })).toEqual([
      'PULSE_JWKS_FILE key 1: symmetric (oct) keys do not belong in a JWKS file; use PULSE_JWT_SECRET',
    ]);
    expect(problems({ PULSE_JWT_ISSUER: ISSUER, PULSE_API_TOKENS: 'dev:dev-token-0123456789abcdef:admin' })).toEqual([
      'PULSE_JWT_ISSUER is set but JWTs are off: set PULSE_JWT_SECRET (HS256) or PULSE_JWKS_FILE (RS256/ES256) too',
    ]);
    expect(problems({})).toEqual([
      'PULSE_API_TOKENS is required: bearer tokens as "name:token:role,..." (npm start makes them for development), or configure JWTs',
    ]);
    expect(problems({ PULSE_JWT_SECRET: SECRET, PULSE_JWT_ISSUER: ISSUER, PULSE_JWT_AUDIENCE: AUDIENCE, PULSE_JWT_LEEWAY_SECONDS: '900' })).toEqual([
      'PULSE_JWT_LEEWAY_SECONDS must be an integer from 0 to 300 (got "900")',
    ]);
    expect(JSON.stringify(problems({ PULSE_JWT_SECRET: 'short-but-secret' }))).not.toContain('short-but-secret');
  });
});
