// Signed JWTs (RFC 7519, compact JWS) as an alternative to static bearer tokens, verified with node:crypto alone:
//   HS256 with a shared secret (PULSE_JWT_SECRET), and RS256 / ES256 with the public keys of a JWKS file
//   (PULSE_JWKS_FILE, RFC 7517).
// What is checked, in order: size and shape; the header (alg must be one a configured key can verify: `none` never,
// HS256 only with a secret, RS256/ES256 only with JWKS keys, so a token can never pick the algorithm a key is used
// with; no `crit`); the key (by `kid`, or the only key for the alg); the signature; then the claims: `exp` required,
// `nbf` and `iat` honoured, all with a small leeway; `iss` and `aud` must match; `sub` names the caller.
// A rejection says why in a few fixed words and never quotes the token or anything taken from it.
import { createHmac, createPublicKey, type JsonWebKeyInput, type KeyObject, timingSafeEqual, verify as verifySignature } from 'node:crypto';

/** The largest token accepted; anything longer is refused before it is decoded. */
export const MAX_JWT_BYTES = 8 * 1024;
/** The shortest HS256 secret accepted (RFC 7518 3.2: at least the hash size). */
export const MIN_SECRET_BYTES = 32;

export type JwtAlg = 'HS256' | 'RS256' | 'ES256';

export interface JwtSettings {
  /** HS256 shared secret. */
  secret?: Buffer;
  /** Public keys for RS256 / ES256, from a JWKS file (see parseJwks). */
  keys?: readonly VerificationKey[];
  /** Required `iss`. */
  issuer: string;
  /** Required member of `aud`. */
  audience: string;
  /** Clock skew allowed on exp, nbf and iat. Default 30 s. */
  leewaySeconds?: number;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
}

export interface VerificationKey {
  kid: string | undefined;
  alg: 'RS256' | 'ES256';
  key: KeyObject;
}

/** What a verified token says about its caller. */
export interface JwtIdentity {
  /** `sub`. */
  subject: string;
  /** From `scope` (space-separated, OAuth 2.0) and `scp` (string or array). Unknown ones are the caller's problem. */
  scopes: string[];
  /** From `roles` (array or space-separated string). */
  roles: string[];
  /** `user` if present, else `sub`: whose inbox and preferences the caller may read. */
  userId: string;
  /** Shared inboxes the caller may read besides its own, from `inboxes` (array or space-separated string). */
  inboxes: string[];
  /** `exp`, seconds since the epoch. */
  expiresAt: number;
}

/** A token that must not be accepted. The message is safe to return to the caller. */
export class JwtError extends Error {
  override readonly name = 'JwtError';
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const SUBJECT = /^[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?$/;

function b64json(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new JwtError(`malformed JWT: ${what} is not base64url JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JwtError(`malformed JWT: ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** A claim that may be an array of strings or one space-separated string. */
function stringList(value: unknown, claim: string): string[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.filter(Boolean);
  throw new JwtError(`claim ${claim} must be a string or an array of strings`);
}

function numericDate(payload: Record<string, unknown>, claim: string, required: boolean): number | undefined {
  const value = payload[claim];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new JwtError(value === undefined ? `claim ${claim} is required` : `claim ${claim} must be a number (seconds since the epoch)`);
  }
  return value;
}

export class JwtVerifier {
  private readonly leeway: number;
  private readonly now: () => number;

  constructor(private readonly settings: JwtSettings) {
    if (settings.secret && settings.secret.length < MIN_SECRET_BYTES) throw new Error(`an HS256 secret needs at least ${MIN_SECRET_BYTES} bytes`);
    if (!settings.secret && !settings.keys?.length) throw new Error('a JWT verifier needs a secret or at least one public key');
    if (!settings.issuer || !settings.audience) throw new Error('a JWT verifier needs an issuer and an audience');
    this.leeway = settings.leewaySeconds ?? 30;
    this.now = settings.now ?? Date.now;
  }

  /** The algorithms this verifier accepts. */
  get algorithms(): JwtAlg[] {
    const algs = new Set<JwtAlg>();
    if (this.settings.secret) algs.add('HS256');
    for (const key of this.settings.keys ?? []) algs.add(key.alg);
    return [...algs];
  }

  verify(token: string): JwtIdentity {
    if (token.length > MAX_JWT_BYTES) throw new JwtError(`JWT longer than ${MAX_JWT_BYTES} bytes`);
    const parts = token.split('.');
    if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p))) {
      throw new JwtError('malformed JWT: expected three base64url segments (header.payload.signature)');
    }
    const [h, p, s] = parts;
    const header = b64json(h, 'header');
    if (header.crit !== undefined) throw new JwtError('JWT header has crit extensions, none of which are supported');
    if (typeof header.typ === 'string' && !/^(application\/)?(jwt|at\+jwt)$/i.test(header.typ)) {
      throw new JwtError('JWT header typ must be JWT or at+jwt');
    }
    const alg = header.alg;
    if (typeof alg !== 'string') throw new JwtError('JWT header has no alg');
    if (alg.toLowerCase() === 'none') throw new JwtError('unsigned JWTs (alg none) are not accepted');
    const signingInput = Buffer.from(`${h}.${p}`, 'ascii');
    const signature = Buffer.from(s, 'base64url');

    if (alg === 'HS256') {
      if (!this.settings.secret) throw new JwtError('HS256 JWTs are not accepted here (no shared secret is configured)');
      const expected = createHmac('sha256', this.settings.secret).update(signingInput).digest();
      if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) throw new JwtError('JWT signature does not verify');
    } else if (alg === 'RS256' || alg === 'ES256') {
      const key = this.selectKey(alg, header.kid);
      const ok =
        alg === 'RS256'
          ? verifySignature('sha256', signingInput, key, signature)
          : signature.length === 64 && verifySignature('sha256', signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature);
      if (!ok) throw new JwtError('JWT signature does not verify');
    } else {
      throw new JwtError(`JWT alg is not accepted (accepted: ${this.algorithms.join(', ')})`);
    }

    return this.claims(b64json(p, 'payload'));
  }

  private selectKey(alg: 'RS256' | 'ES256', kid: unknown): KeyObject {
    const keys = this.settings.keys ?? [];
    if (keys.length === 0) throw new JwtError(`${alg} JWTs are not accepted here (no JWKS keys are configured)`);
    if (kid !== undefined) {
      if (typeof kid !== 'string') throw new JwtError('JWT header kid must be a string');
      const byKid = keys.filter((k) => k.kid === kid);
      if (byKid.length === 0) throw new JwtError('JWT kid names no configured key');
      const match = byKid.find((k) => k.alg === alg);
      if (!match) throw new JwtError(`the key the JWT kid names is not an ${alg} key`);
      return match.key;
    }
    const candidates = keys.filter((k) => k.alg === alg);
    if (candidates.length === 1) return candidates[0].key;
    throw new JwtError(candidates.length === 0 ? `no configured key verifies ${alg}` : 'JWT has no kid and several configured keys could verify it');
  }

  private claims(payload: Record<string, unknown>): JwtIdentity {
    const now = this.now() / 1000;
    const exp = numericDate(payload, 'exp', true)!;
    if (now > exp + this.leeway) throw new JwtError('JWT has expired');
    const nbf = numericDate(payload, 'nbf', false);
    if (nbf !== undefined && now + this.leeway < nbf) throw new JwtError('JWT is not valid yet (nbf)');
    const iat = numericDate(payload, 'iat', false);
    if (iat !== undefined && now + this.leeway < iat) throw new JwtError('JWT was issued in the future (iat)');
    if (payload.iss !== this.settings.issuer) throw new JwtError('JWT issuer (iss) is not the one configured');
    const aud = payload.aud;
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!audiences.includes(this.settings.audience)) throw new JwtError('JWT audience (aud) does not include this service');
    const sub = payload.sub;
    if (typeof sub !== 'string' || !SUBJECT.test(sub)) throw new JwtError('JWT sub must be 1-256 printable ASCII characters');
    const user = payload.user;
    if (user !== undefined && (typeof user !== 'string' || !SUBJECT.test(user))) throw new JwtError('JWT user must be 1-256 printable ASCII characters');
    return {
      subject: sub,
      scopes: [...stringList(payload.scope, 'scope'), ...stringList(payload.scp, 'scp')],
      roles: stringList(payload.roles, 'roles'),
      userId: (user as string | undefined) ?? sub,
      inboxes: stringList(payload.inboxes, 'inboxes'),
      expiresAt: exp,
    };
  }
}

/**
 * The RS256 and ES256 public keys of a JWKS document. Keys for other uses or algorithms are skipped (and said so);
 * symmetric (`oct`) and private keys, short RSA keys and duplicate kids are problems. Never quotes key material.
 */
export function parseJwks(text: string): { keys: VerificationKey[]; problems: string[]; skipped: string[] } {
  const keys: VerificationKey[] = [];
  const problems: string[] = [];
  const skipped: string[] = [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { keys, problems: ['is not JSON'], skipped };
  }
  const list = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) return { keys, problems: ['must be a JSON object with a "keys" array (a JWKS)'], skipped };
  const kids = new Set<string>();
  list.forEach((jwk: unknown, index) => {
    const where = `key ${index + 1}`;
    if (typeof jwk !== 'object' || jwk === null) return void problems.push(`${where} is not an object`);
    const k = jwk as Record<string, unknown>;
    const label = typeof k.kid === 'string' ? `${where} (kid "${k.kid.slice(0, 64)}")` : where;
    if (k.kid !== undefined && typeof k.kid !== 'string') return void problems.push(`${where}: kid must be a string`);
    if (k.use !== undefined && k.use !== 'sig') return void skipped.push(`${label}: use is not "sig"`);
    if (k.kty === 'oct') return void problems.push(`${label}: symmetric (oct) keys do not belong in a JWKS file; use PULSE_JWT_SECRET`);
    if (k.d !== undefined) return void problems.push(`${label}: holds private key material; publish only the public key`);
    let alg: 'RS256' | 'ES256';
    if (k.kty === 'RSA') alg = 'RS256';
    else if (k.kty === 'EC' && k.crv === 'P-256') alg = 'ES256';
    else return void skipped.push(`${label}: only RSA (RS256) and EC P-256 (ES256) keys are used`);
    if (k.alg !== undefined && k.alg !== alg) return void skipped.push(`${label}: alg is not ${alg}`);
    let key: KeyObject;
    try {
      key = createPublicKey({ key: k as JsonWebKeyInput['key'], format: 'jwk' });
    } catch {
      return void problems.push(`${label}: not a valid ${k.kty} public key`);
    }
    if (alg === 'RS256' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
      return void problems.push(`${label}: RSA keys need at least 2048 bits`);
    }
    if (typeof k.kid === 'string') {
      if (kids.has(k.kid)) return void problems.push(`${label}: kid used twice`);
      kids.add(k.kid);
    }
    keys.push({ kid: k.kid as string | undefined, alg, key });
  });
  if (keys.length === 0 && problems.length === 0) problems.push('holds no RS256 or ES256 signing key');
  return { keys, problems, skipped };
}
