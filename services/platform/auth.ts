// Who is calling, and may they call this RPC. Every RPC must present `Authorization: Bearer <credential>` (health
// checks excepted), where the credential is either a static token from PULSE_API_TOKENS or a signed JWT (jwt.ts).
// The caller that comes out holds a name, a set of scopes, a user id and the shared inboxes it may read; the
// interceptor then checks the RPC's scope (scopes.ts, read from the contracts). Unknown or missing credentials are
// `unauthenticated`; a known caller without the scope is `permission_denied`, naming the caller and the scope. No
// message ever quotes a credential.
//
// PULSE_API_TOKENS: comma-separated entries `name:token` or `name:token:grant+grant+...`, where a grant is a role
// (admin, reviewer, bot, service, client, user), a scope (`reviews:read`), `user=<id>` (whose inbox and
// preferences the caller's own are; default: the name) or `inbox=<id>` (a shared inbox it may also read). Tokens are
// at least 16 characters without spaces, ',' or ':'. An entry without grants has every scope: kept so that
// existing development setups work; the service warns about each one, and PULSE_AUTH_REQUIRE_SCOPES=true refuses them.
//
// Static tokens are kept only as SHA-256 digests and found by digest in a Map. The lookup compares digests, not
// tokens: an attacker controls the presented token but not its digest, so how long a comparison takes tells them
// nothing about any stored token (no prefix can be grown byte by byte); the digest of the presented token is always
// computed in full, whatever it is.
import { createHash, randomBytes } from 'node:crypto';
import { Code, ConnectError, createContextKey, type Interceptor } from '@connectrpc/connect';
import { JwtError, type JwtIdentity, type JwtVerifier } from './jwt.js';
import { ALL_SCOPES, isRole, isScope, ROLE_INBOXES, ROLE_SCOPES, ROLES, type Scope, scopeFor } from './scopes.js';

export interface Caller {
  /** The name the token was registered under (e.g. "chat-platform", "pulse-notification"), or the JWT's `sub`. */
  name: string;
  /** How it proved who it is. */
  via: 'token' | 'jwt';
  /** What it may do. */
  scopes: ReadonlySet<Scope>;
  /** Whose inbox, notifications and preferences are its own: `user=` / the JWT `user` claim, else the name. */
  userId: string;
  /** Shared inboxes it may also read and mark (e.g. "reviewers"). */
  inboxes: readonly string[];
  /** A token entry without grants: every scope, for development setups that predate scopes. */
  unscoped?: boolean;
}

/** The authenticated caller of the current RPC, for handlers (ctx.values.get(callerKey); see access.ts). */
export const callerKey = createContextKey<Caller | undefined>(undefined, { description: 'authenticated caller' });

export interface CallerSource {
  /** The caller an Authorization header value stands for; throws `unauthenticated` otherwise. */
  authenticate(authorization: string | null): Caller;
}

const MIN_TOKEN_LENGTH = 16;
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ID = /^[\x21-\x7e]{1,128}$/;
const TOKEN = /^[^\s,:]+$/;

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface CallerSpec {
  name: string;
  via?: Caller['via'];
  /** Roles and scopes; unknown ones are ignored here (parse reports them for token entries). */
  grants?: readonly string[];
  userId?: string;
  inboxes?: readonly string[];
}

/** A caller from its roles and scopes (role scopes and shared inboxes expanded). */
export function makeCaller(spec: CallerSpec): Caller {
  const scopes = new Set<Scope>();
  const inboxes = new Set(spec.inboxes ?? []);
  for (const grant of spec.grants ?? []) {
    if (isRole(grant)) {
      for (const scope of ROLE_SCOPES[grant]) scopes.add(scope);
      for (const inbox of ROLE_INBOXES[grant] ?? []) inboxes.add(inbox);
    } else if (isScope(grant)) {
      scopes.add(grant);
    }
  }
  return { name: spec.name, via: spec.via ?? 'token', scopes, userId: spec.userId ?? spec.name, inboxes: [...inboxes] };
}

/** A caller with every scope (unscoped token entries, and tests). */
export function fullAccessCaller(name: string): Caller {
  return { name, via: 'token', scopes: new Set(ALL_SCOPES), userId: name, inboxes: [], unscoped: true };
}

export interface ParseOptions {
  /** Refuse entries without grants (PULSE_AUTH_REQUIRE_SCOPES). */
  requireScopes?: boolean;
}

export class TokenRegistry implements CallerSource {
  private readonly byDigest = new Map<string, Caller>();

  /** Parses PULSE_API_TOKENS (see the top of this file); returns the problems found, never quoting a token. */
  static parse(spec: string, options: ParseOptions = {}): { registry: TokenRegistry; problems: string[] } {
    const registry = new TokenRegistry();
    const problems: string[] = [];
    const owners = new Map<string, string>();
    spec
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean)
      .forEach((entry, index) => {
        const [name, token = '', ...rest] = entry.split(':');
        const grantText = rest.join(':'); // scopes contain ':' themselves
        if (!NAME.test(name)) {
          problems.push(`entry ${index + 1} needs a name of lower-case letters, digits, '.', '_', '-' before ':'`);
          return;
        }
        if (token.length < MIN_TOKEN_LENGTH || !TOKEN.test(token)) {
          problems.push(`entry "${name}" needs a token of at least ${MIN_TOKEN_LENGTH} characters without spaces, ',' or ':'`);
          return;
        }
        const owner = owners.get(digest(token));
        if (owner !== undefined) {
          problems.push(`entries "${owner}" and "${name}" share a token: give each identity its own`);
          return;
        }
        owners.set(digest(token), name);
        if (rest.length === 0) {
          if (options.requireScopes) {
            problems.push(`entry "${name}" has no roles or scopes (PULSE_AUTH_REQUIRE_SCOPES is on): add ":role" or ":scope+scope"`);
          } else {
            registry.byDigest.set(digest(token), fullAccessCaller(name));
          }
          return;
        }
        const parsed = parseGrants(grantText);
        for (const problem of parsed.problems) problems.push(`entry "${name}": ${problem}`);
        if (parsed.problems.length > 0) return;
        registry.byDigest.set(digest(token), makeCaller({ name, grants: parsed.grants, userId: parsed.userId, inboxes: parsed.inboxes }));
      });
    if (registry.byDigest.size === 0 && problems.length === 0) problems.push('holds no tokens');
    return { registry, problems };
  }

  /** Registers a token for a caller (default: every scope). */
  add(name: string, token: string, caller: Caller = fullAccessCaller(name)): void {
    this.byDigest.set(digest(token), caller);
  }

  get size(): number {
    return this.byDigest.size;
  }

  /** Names of entries without grants (they have every scope). */
  unscopedNames(): string[] {
    return [...new Set([...this.byDigest.values()].filter((c) => c.unscoped).map((c) => c.name))];
  }

  /** The caller of a presented static token, if it is one. */
  lookup(token: string): Caller | undefined {
    return this.byDigest.get(digest(token));
  }

  authenticate(authorization: string | null): Caller {
    const caller = this.lookup(bearerCredential(authorization));
    if (!caller) throw new ConnectError('invalid bearer token', Code.Unauthenticated);
    return caller;
  }
}

/** Grants of one token entry: `role+scope+user=<id>+inbox=<id>`; problems never quote the text. */
export function parseGrants(text: string): { grants: string[]; userId?: string; inboxes: string[]; problems: string[] } {
  const grants: string[] = [];
  const inboxes: string[] = [];
  const problems: string[] = [];
  let userId: string | undefined;
  const items = text.split('+');
  items.forEach((item, i) => {
    const where = `grant ${i + 1} of ${items.length}`;
    const eq = item.indexOf('=');
    if (eq > 0) {
      const key = item.slice(0, eq);
      const value = item.slice(eq + 1);
      if (key !== 'user' && key !== 'inbox') return void problems.push(`${where}: only user=<id> and inbox=<id> take a value`);
      if (!ID.test(value)) return void problems.push(`${where}: ${key}= needs an id of 1-128 printable characters without spaces`);
      if (key === 'user') {
        if (userId !== undefined) return void problems.push(`${where}: user= given twice`);
        userId = value;
      } else {
        inboxes.push(value);
      }
      return;
    }
    if (!isRole(item) && !isScope(item)) {
      return void problems.push(`${where} is neither a role (${ROLES.join(', ')}) nor a scope (docs/security.md lists them)`);
    }
    grants.push(item);
  });
  if (problems.length === 0 && grants.length === 0) problems.push('grants no role or scope');
  return { grants, userId, inboxes, problems };
}

/** The credential of an Authorization header; `unauthenticated` when it is missing or not a bearer credential. */
export function bearerCredential(authorization: string | null): string {
  if (!authorization) {
    throw new ConnectError('missing bearer token: send "Authorization: Bearer <token>"', Code.Unauthenticated);
  }
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (!match) throw new ConnectError('malformed Authorization header: expected "Bearer <token>"', Code.Unauthenticated);
  return match[1];
}

/** The caller a verified JWT stands for: scopes from `scope`/`scp` and `roles` (unknown ones grant nothing). */
export function jwtCaller(identity: JwtIdentity): Caller {
  return makeCaller({
    name: identity.subject,
    via: 'jwt',
    grants: [...identity.roles.filter(isRole), ...identity.scopes.filter(isScope)],
    userId: identity.userId,
    inboxes: identity.inboxes,
  });
}

/** Static tokens first, then (when configured) signed JWTs. */
export class Authenticator implements CallerSource {
  constructor(
    readonly tokens: TokenRegistry | undefined,
    readonly jwt: JwtVerifier | undefined,
  ) {}

  authenticate(authorization: string | null): Caller {
    const credential = bearerCredential(authorization);
    const caller = this.tokens?.lookup(credential);
    if (caller) return caller;
    if (this.jwt && credential.includes('.')) {
      try {
        return jwtCaller(this.jwt.verify(credential));
      } catch (err) {
        if (err instanceof JwtError) throw new ConnectError(`invalid bearer token: ${err.message}`, Code.Unauthenticated);
        throw err;
      }
    }
    throw new ConnectError('invalid bearer token', Code.Unauthenticated);
  }
}

/** A random token for development (`npm start` without PULSE_API_TOKENS). */
export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Authenticates every RPC except those of the public services (health), then checks the RPC's scope. The caller
 * is left in the context for handlers (callerKey).
 */
export function authInterceptor(source: CallerSource, publicServices: ReadonlySet<string>): Interceptor {
  return (next) => async (req) => {
    if (publicServices.has(req.service.typeName)) return next(req);
    const caller = source.authenticate(req.header.get('authorization'));
    const rpc = `${req.service.typeName}/${req.method.name}`;
    const scope = scopeFor(req.service.typeName, req.method.name);
    if (!scope) {
      throw new ConnectError(`${rpc} has no scope, so nobody may call it (give it a (pulse.options.v1.scope) in its contract)`, Code.PermissionDenied);
    }
    if (!caller.scopes.has(scope)) {
      throw new ConnectError(`caller "${caller.name}" may not call ${rpc}: it needs scope "${scope}"`, Code.PermissionDenied);
    }
    req.contextValues.set(callerKey, caller);
    return next(req);
  };
}
