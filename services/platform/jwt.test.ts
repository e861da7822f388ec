import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AUDIENCE, claims, ISSUER, mint, SECRET, testKeys } from '../../test/access/support.js';
import { rejectionOf } from '../../test/support/rejection.js';
import { JwtError, JwtVerifier, MAX_JWT_BYTES, parseJwks } from './jwt.js';

const keys = testKeys();
const jwks = parseJwks(JSON.stringify(keys.jwks));
const hs = { alg: 'HS256', secret: SECRET } as const;
const rs = { alg: 'RS256', key: keys.rsa.privateKey } as const;
const es = { alg: 'ES256', key: keys.ec.privateKey } as const;

const both = new JwtVerifier({ secret: Buffer.from(SECRET), keys: jwks.keys, issuer: ISSUER, audience: AUDIENCE });
const secretOnly = new JwtVerifier({ secret: Buffer.from(SECRET), issuer: ISSUER, audience: AUDIENCE });
const jwksOnly = new JwtVerifier({ keys: jwks.keys, issuer: ISSUER, audience: AUDIENCE });

/** The rejection reason; also checks it quotes no part of the token. */
async function reason(verifier: JwtVerifier, token: string): Promise<string> {
  const { message } = await rejectionOf(() => verifier.verify(token), JwtError);
  for (const part of token.split('.').filter((p) => p.length >= 8)) expect(message).not.toContain(part);
  return message;
}

describe('JwtVerifier: accepted tokens', () => {
  it('reads sub, scope, scp, roles, user and inboxes from an HS256 token', () => {
    const id = both.verify(
      mint(hs, claims({ sub: 'svc|42', scope: 'reviews:read  inbox:read', scp: ['stats:read'], roles: ['reviewer'], user: 'ann', inboxes: 'reviewers leads' })),
    );
    expect(id).toMatchObject({
      subject: 'svc|42',
      scopes: ['reviews:read', 'inbox:read', 'stats:read'],
      roles: ['reviewer'],
      userId: 'ann',
      inboxes: ['reviewers', 'leads'],
    });
  });

  it('takes the user id from sub when there is no user claim, and roles as a string', () => {
    expect(both.verify(mint(hs, claims({ roles: 'user bot' })))).toMatchObject({ userId: 'jwt-alice', roles: ['user', 'bot'], scopes: [] });
  });

  it('verifies RS256 and ES256 by kid, and by the only key of the alg without one', () => {
    expect(jwksOnly.verify(mint(rs, claims(), { kid: 'rsa-1' })).subject).toBe('jwt-alice');
    expect(jwksOnly.verify(mint(es, claims(), { kid: 'ec-1' })).subject).toBe('jwt-alice');
    expect(jwksOnly.verify(mint(rs, claims())).subject).toBe('jwt-alice');
    expect(jwksOnly.verify(mint(es, claims())).subject).toBe('jwt-alice');
  });

  it('accepts an audience array holding ours, and typ at+jwt', () => {
    expect(both.verify(mint(hs, claims({ aud: ['other', AUDIENCE] }), { typ: 'at+jwt' })).subject).toBe('jwt-alice');
  });

  it('allows the leeway on exp, nbf and iat, and no more', async () => {
    const t = 1_800_000_000;
    const at = (s: number) => new JwtVerifier({ secret: Buffer.from(SECRET), issuer: ISSUER, audience: AUDIENCE, leewaySeconds: 30, now: () => s * 1000 });
    const token = mint(hs, claims({ iat: t, nbf: t, exp: t + 60 }));
    expect(at(t + 60 + 30).verify(token).subject).toBe('jwt-alice');
    expect(await reason(at(t + 60 + 31), token)).toBe('JWT has expired');
    expect(at(t - 30).verify(token).subject).toBe('jwt-alice');
    expect(await reason(at(t - 31), token)).toBe('JWT is not valid yet (nbf)');
    expect(await reason(at(t - 31), mint(hs, claims({ iat: t, exp: t + 60 })))).toBe('JWT was issued in the future (iat)');
  });
});

describe('JwtVerifier: rejected tokens', () => {
  const now = Math.floor(Date.now() / 1000);
  it.each([
    ['expired', claims({ exp: now - 3600 }), 'JWT has expired'],
    ['no exp', claims({ exp: undefined }), 'claim exp is required'],
    ['a string exp', claims({ exp: String(now + 600) }), 'claim exp must be a number'],
    ['not yet valid', claims({ nbf: now + 3600 }), 'JWT is not valid yet (nbf)'],
    ['another issuer', claims({ iss: 'https://evil.example/' }), 'JWT issuer (iss) is not the one configured'],
    ['no issuer', claims({ iss: undefined }), 'JWT issuer (iss) is not the one configured'],
    ['another audience', claims({ aud: 'not-pulse' }), 'JWT audience (aud) does not include this service'],
    ['an audience array without ours', claims({ aud: ['a', 'b'] }), 'JWT audience (aud) does not include this service'],
    ['no sub', claims({ sub: undefined }), 'JWT sub must be'],
    ['an empty sub', claims({ sub: '' }), 'JWT sub must be'],
    ['a sub with a newline', claims({ sub: 'a\nb' }), 'JWT sub must be'],
    ['a numeric sub', claims({ sub: 42 }), 'JWT sub must be'],
    ['a scope that is a number', claims({ scope: 7 }), 'claim scope must be a string or an array of strings'],
    ['roles holding objects', claims({ roles: [{ admin: true }] }), 'claim roles must be'],
  ])('%s', async (_what, c, message) => {
    expect(await reason(both, mint(hs, c))).toContain(message);
  });

  it('rejects alg none in any spelling, even with a signature attached', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      const unsigned = mint({ alg: 'none' }, claims({ roles: ['admin'] }), { alg });
      expect(unsigned.endsWith('.')).toBe(true);
      expect(await reason(both, unsigned)).toMatch(/malformed JWT|alg none/);
      const withSig = `${unsigned}c2lnbmF0dXJl`;
      expect(await reason(both, withSig)).toBe('unsigned JWTs (alg none) are not accepted');
    }
  });

  it('rejects HS256 tokens when only JWKS keys are configured, including one keyed with the public key (alg confusion)', async () => {
    expect(await reason(jwksOnly, mint(hs, claims()))).toBe('HS256 JWTs are not accepted here (no shared secret is configured)');
    const pem = keys.rsa.publicKey.export({ format: 'pem', type: 'spki' });
    expect(await reason(jwksOnly, mint({ alg: 'HS256', secret: pem }, claims(), { kid: 'rsa-1' }))).toContain('HS256 JWTs are not accepted');
    const jwkJson = JSON.stringify(keys.jwks.keys[0]);
    expect(await reason(jwksOnly, mint({ alg: 'HS256', secret: jwkJson }, claims()))).toContain('HS256 JWTs are not accepted');
    // And with a secret configured too, such a token fails the HMAC check against the real secret.
    expect(await reason(both, mint({ alg: 'HS256', secret: pem }, claims()))).toBe('JWT signature does not verify');
  });

  it('rejects RS256 / ES256 tokens when only a secret is configured', async () => {
    expect(await reason(secretOnly, mint(rs, claims(), { kid: 'rsa-1' }))).toBe('RS256 JWTs are not accepted here (no JWKS keys are configured)');
    expect(await reason(secretOnly, mint(es, claims()))).toBe('ES256 JWTs are not accepted here (no JWKS keys are configured)');
  });

  it('rejects other algorithms without quoting them', async () => {
    for (const alg of ['HS512', 'RS512', 'PS256', 'EdDSA', 'hs256', '']) {
      expect(await reason(both, mint(hs, claims(), { alg }))).toMatch(/JWT alg is not accepted \(accepted: HS256, RS256, ES256\)|no alg/);
    }
    expect(await reason(both, mint(hs, claims(), { alg: 42 }))).toBe('JWT header has no alg');
  });

  it('selects keys by kid: unknown kids, kids of the wrong key type and ambiguous tokens fail', async () => {
    expect(await reason(jwksOnly, mint(rs, claims(), { kid: 'rsa-2' }))).toBe('JWT kid names no configured key');
    expect(await reason(jwksOnly, mint(rs, claims(), { kid: 'ec-1' }))).toBe('the key the JWT kid names is not an RS256 key');
    expect(await reason(jwksOnly, mint(rs, claims(), { kid: 7 }))).toBe('JWT header kid must be a string');
    // Signed by a key that is not in the JWKS but claiming a kid that is.
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect(await reason(jwksOnly, mint({ alg: 'RS256', key: stranger }, claims(), { kid: 'rsa-1' }))).toBe('JWT signature does not verify');
    const two = parseJwks(
      JSON.stringify({ keys: [keys.jwks.keys[0], { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }), kid: 'rsa-2' }] }),
    );
    const verifier = new JwtVerifier({ keys: two.keys, issuer: ISSUER, audience: AUDIENCE });
    expect(await reason(verifier, mint(rs, claims()))).toBe('JWT has no kid and several configured keys could verify it');
    expect(verifier.verify(mint(rs, claims(), { kid: 'rsa-1' })).subject).toBe('jwt-alice');
  });

  it('rejects tampered tokens and signatures in the wrong encoding', async () => {
    const [h, , s] = mint(hs, claims({ roles: ['user'] })).split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify(claims({ roles: ['admin'] }))).toString('base64url')}.${s}`;
    expect(await reason(both, forged)).toBe('JWT signature does not verify');
    const [rh, rp, rsig] = mint(rs, claims(), { kid: 'rsa-1' }).split('.');
    expect(await reason(both, `${rh}.${rp}.${rsig.slice(0, -4)}AAAA`)).toBe('JWT signature does not verify');
    const input = `${Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'ec-1' })).toString('base64url')}.${rp}`;
    const der = sign('sha256', Buffer.from(input), keys.ec.privateKey).toString('base64url'); // DER, not r||s
    expect(await reason(both, `${input}.${der}`)).toBe('JWT signature does not verify');
    const hsig = mint(hs, claims()).split('.');
    expect(await reason(both, `${hsig[0]}.${hsig[1]}.${hsig[2].slice(0, 20)}`)).toBe('JWT signature does not verify');
  });

  it.each([
    ['two segments', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0', 'malformed JWT: expected three base64url segments'],
    ['four segments', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln.c2ln', 'malformed JWT: expected three base64url segments'],
    ['standard base64 characters', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0=.c2ln+/', 'malformed JWT: expected three base64url segments'],
    ['an empty signature', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.', 'malformed JWT: expected three base64url segments'],
    ['a header that is not JSON', `${Buffer.from('not json').toString('base64url')}.eyJzdWIiOiJ4In0.c2lnbmF0dXJl`, 'malformed JWT: header is not base64url JSON'],
    ['a header that is an array', `${Buffer.from('["HS256"]').toString('base64url')}.eyJzdWIiOiJ4In0.c2lnbmF0dXJl`, 'malformed JWT: header is not a JSON object'],
    ['a crit header', mint(hs, claims(), { crit: ['exp'] }), 'JWT header has crit extensions'],
    ['a foreign typ', mint(hs, claims(), { typ: 'dpop+jwt' }), 'JWT header typ must be JWT or at+jwt'],
  ])('rejects %s', async (_what, token, message) => {
    expect(await reason(both, token)).toContain(message);
  });

  it('rejects a signed payload that is not a JSON object', async () => {
    const input = `${Buffer.from(JSON.stringify({ alg: 'HS256' })).toString('base64url')}.${Buffer.from('[1,2]').toString('base64url')}`;
    const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    expect(await reason(both, token)).toBe('malformed JWT: payload is not a JSON object');
  });

  it('refuses over-long tokens before decoding them', async () => {
    const token = mint(hs, claims({ pad: 'x'.repeat(MAX_JWT_BYTES) }));
    expect(await reason(both, token)).toBe(`JWT longer than ${MAX_JWT_BYTES} bytes`);
  });
});

describe('JwtVerifier settings', () => {
  it('needs a 32-byte secret or a key, an issuer and an audience', () => {
    expect(() => new JwtVerifier({ secret: Buffer.alloc(31), issuer: ISSUER, audience: AUDIENCE })).toThrow(/32 bytes/);
    expect(() => new JwtVerifier({ issuer: ISSUER, audience: AUDIENCE })).toThrow(/secret or at least one public key/);
    expect(() => new JwtVerifier({ secret: Buffer.from(SECRET), issuer: '', audience: AUDIENCE })).toThrow(/issuer and an audience/);
    expect(both.algorithms).toEqual(['HS256', 'RS256', 'ES256']);
    expect(jwksOnly.algorithms).toEqual(['RS256', 'ES256']);
  });
});

describe('parseJwks', () => {
  const rsaJwk = keys.jwks.keys[0];
  it('keeps RS256 and P-256 keys, skips other uses and algorithms, and says so', () => {
    const p384 = { ...generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' }), kid: 'ec-384' };
    const result = parseJwks(JSON.stringify({ keys: [rsaJwk, { ...rsaJwk, kid: 'enc', use: 'enc' }, p384, { ...rsaJwk, kid: 'ps', alg: 'PS256' }] }));
    expect(result.problems).toEqual([]);
    expect(result.keys.map((k) => [k.kid, k.alg])).toEqual([['rsa-1', 'RS256']]);
    expect(result.skipped).toEqual([
      'key 2 (kid "enc"): use is not "sig"',
      'key 3 (kid "ec-384"): only RSA (RS256) and EC P-256 (ES256) keys are used',
      'key 4 (kid "ps"): alg is not RS256',
    ]);
  });

  it('reports symmetric keys, private keys, short RSA keys, bad keys and duplicate kids without quoting material', () => {
    const priv = { ...keys.ec.privateKey.export({ format: 'jwk' }), kid: 'leak' };
    const short = { ...generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }), kid: 'short' };
    const result = parseJwks(
      JSON.stringify({
        keys: [{ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ', kid: 'oct' }, priv, short, { kty: 'RSA', kid: 'bad' }, rsaJwk, rsaJwk, 'x'],
      }),
    );
    expect(result.problems).toEqual([
      'key 1 (kid "oct"): symmetric (oct) keys do not belong in a JWKS file; use PULSE_JWT_SECRET',
      'key 2 (kid "leak"): holds private key material; publish only the public key',
      'key 3 (kid "short"): RSA keys need at least 2048 bits',
      'key 4 (kid "bad"): not a valid RSA public key',
      'key 6 (kid "rsa-1"): kid used twice',
      'key 7 is not an object',
    ]);
    expect(result.problems.join(' ')).not.toContain(String(priv.d));
  });

  it.each([
    ['not JSON', '{', ['is not JSON']],
    ['no keys array', '{"kty":"RSA"}', ['must be a JSON object with a "keys" array (a JWKS)']],
    ['no usable key', '{"keys":[]}', ['holds no RS256 or ES256 signing key']],
  ])('reports %s', (_what, text, problems) => {
    expect(parseJwks(text).problems).toEqual(problems);
  });
});
