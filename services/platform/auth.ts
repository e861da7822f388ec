// Bearer-token authentication. Tokens come from PULSE_API_TOKENS ("name:token,..."); each RPC must present one
// (`Authorization: Bearer <token>`), except health checks. Tokens are kept only as SHA-256 digests and looked up
// by digest, so comparing never leaks a token's prefix through timing, and no error ever echoes a token.
import { createHash, randomBytes } from 'node:crypto';
import { Code, ConnectError, createContextKey, type Interceptor } from '@connectrpc/connect';

export interface Caller {
  /** The name the token was registered under, e.g. "chat-platform" or "notification". */
  name: string;
}

/** The authenticated caller of the current RPC, for handlers (ctx.values.get(callerKey)). */
export const callerKey = createContextKey<Caller | undefined>(undefined, { description: 'authenticated caller' });

const MIN_TOKEN_LENGTH = 16;

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class TokenRegistry {
  private readonly byDigest = new Map<string, Caller>();

  /** Parses "name:token,..."; returns the problems found (never quoting a token). */
  static parse(spec: string): { registry: TokenRegistry; problems: string[] } {
    const registry = new TokenRegistry();
    const problems: string[] = [];
    spec
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean)
      .forEach((entry, index) => {
        const colon = entry.indexOf(':');
        const name = colon > 0 ? entry.slice(0, colon) : '';
        const token = colon > 0 ? entry.slice(colon + 1) : '';
        if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) {
          problems.push(`entry ${index + 1} needs a name of lower-case letters, digits, '.', '_', '-' before ':'`);
        } else if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
          problems.push(`entry "${name}" needs a token of at least ${MIN_TOKEN_LENGTH} characters without spaces`);
        } else {
          registry.add(name, token);
        }
      });
    if (registry.byDigest.size === 0 && problems.length === 0) problems.push('holds no tokens');
    return { registry, problems };
  }

  add(name: string, token: string): void {
    this.byDigest.set(digest(token), { name });
  }

  authenticate(authorization: string | null): Caller {
    if (!authorization) {
      throw new ConnectError('missing bearer token: send "Authorization: Bearer <token>"', Code.Unauthenticated);
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw new ConnectError('malformed Authorization header: expected "Bearer <token>"', Code.Unauthenticated);
    const caller = this.byDigest.get(digest(match[1]));
    if (!caller) throw new ConnectError('invalid bearer token', Code.Unauthenticated);
    return caller;
  }
}

/** A random token for development (`npm start` without PULSE_API_TOKENS). */
export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Authenticates every RPC except those of the public services (health). */
export function authInterceptor(tokens: TokenRegistry, publicServices: ReadonlySet<string>): Interceptor {
  return (next) => async (req) => {
    if (publicServices.has(req.service.typeName)) return next(req);
    req.contextValues.set(callerKey, tokens.authenticate(req.header.get('authorization')));
    return next(req);
  };
}
