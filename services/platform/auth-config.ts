// Reads the access settings once at start (docs/security.md describes them):
//   PULSE_API_TOKENS           static tokens with their roles/scopes (auth.ts); required unless JWTs are configured
//   PULSE_AUTH_REQUIRE_SCOPES  true: token entries without roles/scopes are refused (default false: full access)
//   PULSE_JWT_SECRET           HS256 shared secret, at least 32 bytes
//   PULSE_JWKS_FILE            JWKS file with RS256 / ES256 public keys
//   PULSE_JWT_ISSUER           required `iss` (required when JWTs are on)
//   PULSE_JWT_AUDIENCE         required member of `aud` (required when JWTs are on)
//   PULSE_JWT_LEEWAY_SECONDS   clock skew allowed on exp/nbf/iat, 0-300, default 30
// Problems name the variable and never quote a token, secret or key.
import { readFileSync } from 'node:fs';
import { Authenticator, TokenRegistry } from './auth.js';
import type { EnvReader } from './config.js';
import { JwtVerifier, MIN_SECRET_BYTES, parseJwks, type VerificationKey } from './jwt.js';

export interface AuthConfig {
  authenticator: Authenticator;
  /** Static tokens (empty when only JWTs are used). */
  tokens: TokenRegistry;
  jwt: JwtVerifier | undefined;
  /** Names of token entries without roles or scopes (they have every scope): worth a warning at start. */
  unscoped: string[];
  /** JWKS keys that were skipped (other uses or algorithms), for the start log. */
  skippedKeys: string[];
}

function readJwt(env: EnvReader): { jwt: JwtVerifier | undefined; skippedKeys: string[] } {
  const secretText = env.string('PULSE_JWT_SECRET');
  const jwksFile = env.string('PULSE_JWKS_FILE');
  const issuer = env.string('PULSE_JWT_ISSUER');
  const audience = env.string('PULSE_JWT_AUDIENCE');
  const leewaySeconds = env.int('PULSE_JWT_LEEWAY_SECONDS', 30, { min: 0, max: 300 });
  const skippedKeys: string[] = [];
  if (secretText === undefined && jwksFile === undefined) {
    for (const name of ['PULSE_JWT_ISSUER', 'PULSE_JWT_AUDIENCE'] as const) {
      if ((name === 'PULSE_JWT_ISSUER' ? issuer : audience) !== undefined) {
        env.invalid(name, 'is set but JWTs are off: set PULSE_JWT_SECRET (HS256) or PULSE_JWKS_FILE (RS256/ES256) too');
      }
    }
    return { jwt: undefined, skippedKeys };
  }
  let ok = true;
  let secret: Buffer | undefined;
  if (secretText !== undefined) {
    secret = Buffer.from(secretText, 'utf8');
    if (secret.length < MIN_SECRET_BYTES) {
      env.invalid('PULSE_JWT_SECRET', `must be at least ${MIN_SECRET_BYTES} bytes (e.g. openssl rand -base64 48)`);
      ok = false;
    }
  }
  let keys: VerificationKey[] | undefined;
  if (jwksFile !== undefined) {
    let text: string | undefined;
    try {
      text = readFileSync(jwksFile, 'utf8');
    } catch (err) {
      env.invalid('PULSE_JWKS_FILE', `names a file that cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      ok = false;
    }
    if (text !== undefined) {
      const parsed = parseJwks(text);
      for (const problem of parsed.problems) env.invalid('PULSE_JWKS_FILE', problem);
      if (parsed.problems.length > 0) ok = false;
      keys = parsed.keys;
      skippedKeys.push(...parsed.skipped);
    }
  }
  if (issuer === undefined) {
    env.invalid('PULSE_JWT_ISSUER', 'is required when JWTs are on (PULSE_JWT_SECRET or PULSE_JWKS_FILE): the `iss` tokens must carry');
    ok = false;
  }
  if (audience === undefined) {
    env.invalid('PULSE_JWT_AUDIENCE', 'is required when JWTs are on (PULSE_JWT_SECRET or PULSE_JWKS_FILE): a value `aud` must hold');
    ok = false;
  }
  if (!ok) return { jwt: undefined, skippedKeys };
  return { jwt: new JwtVerifier({ secret, keys, issuer: issuer!, audience: audience!, leewaySeconds }), skippedKeys };
}

export function readAuthConfig(env: EnvReader): AuthConfig {
  const requireScopes = env.bool('PULSE_AUTH_REQUIRE_SCOPES', false);
  const { jwt, skippedKeys } = readJwt(env);
  const jwtOn = env.string('PULSE_JWT_SECRET') !== undefined || env.string('PULSE_JWKS_FILE') !== undefined;
  const spec = jwtOn
    ? (env.string('PULSE_API_TOKENS') ?? '')
    : env.required('PULSE_API_TOKENS', 'bearer tokens as "name:token:role,..." (npm start makes them for development), or configure JWTs');
  let tokens = new TokenRegistry();
  if (spec) {
    const parsed = TokenRegistry.parse(spec, { requireScopes });
    for (const problem of parsed.problems) env.invalid('PULSE_API_TOKENS', problem);
    tokens = parsed.registry;
  }
  return { authenticator: new Authenticator(tokens, jwt), tokens, jwt, unscoped: tokens.unscopedNames(), skippedKeys };
}
