// Per-user access checks for handlers: a caller may use its own inbox, its own notifications' status and its own
// preferences; a scope (`inbox:any`, `status:any`, `preferences:any`) lets it use anyone's. "Own" is the caller's
// user id (the token entry's user=, the JWT's `user` claim, else its name / `sub`), plus, for inboxes and status,
// the shared inboxes it was granted (inbox=<id>, the JWT `inboxes` claim, the reviewer role's "reviewers").
// The RPC's own scope (inbox:read, status:read, ...) was already checked by the auth interceptor.
import { Code, ConnectError, type ContextValues, type Interceptor } from '@connectrpc/connect';
import { type Caller, callerKey } from './auth.js';
import type { Scope } from './scopes.js';

export type UserResource = 'inbox' | 'status' | 'preferences';

const ANY: Record<UserResource, Scope> = { inbox: 'inbox:any', status: 'status:any', preferences: 'preferences:any' };

/** The authenticated caller; `unauthenticated` if the handler runs without the auth interceptor (fail closed). */
export function callerOf(values: ContextValues): Caller {
  const caller = values.get(callerKey);
  if (!caller) throw new ConnectError('no authenticated caller', Code.Unauthenticated);
  return caller;
}

/** Who to record as having made a change: the caller's name, `anonymous` when auth is off. */
export function callerName(values: ContextValues): string {
  return values.get(callerKey)?.name ?? 'anonymous';
}

/** The user ids whose `resource` the caller may use without the `:any` scope. */
export function ownIds(caller: Caller, resource: UserResource): string[] {
  return resource === 'preferences' ? [caller.userId] : [caller.userId, ...caller.inboxes];
}

export function mayUse(caller: Caller, resource: UserResource, userId: string): boolean {
  return caller.scopes.has(ANY[resource]) || ownIds(caller, resource).includes(userId);
}

const NOUN: Record<UserResource, string> = { inbox: 'inbox', status: 'notifications', preferences: 'preferences' };

function denied(caller: Caller, resource: UserResource, what: string): ConnectError {
  const ids = ownIds(caller, resource);
  const own = `${ids.length > 1 ? 'users' : 'user'} ${ids.map((id) => `"${id}"`).join(', ')}`;
  return new ConnectError(
    `caller "${caller.name}" may use only the ${NOUN[resource]} of ${own}; ${what} needs scope "${ANY[resource]}"`,
    Code.PermissionDenied,
  );
}

/** Throws `permission_denied` unless the caller may use `userId`'s inbox / status / preferences. */
export function requireUser(values: ContextValues, resource: UserResource, userId: string): void {
  const caller = callerOf(values);
  if (!mayUse(caller, resource, userId)) throw denied(caller, resource, `user "${userId}"`);
}

/**
 * Throws `permission_denied` unless the caller may read a notification reaching `userIds` (its recipient and the
 * users its deliveries reach): one of them is its own, or it holds `status:any`.
 */
export function requireNotificationOf(values: ContextValues, notificationId: string, userIds: readonly string[]): void {
  const caller = callerOf(values);
  if (caller.scopes.has(ANY.status)) return;
  const own = ownIds(caller, 'status');
  if (!userIds.some((id) => own.includes(id))) throw denied(caller, 'status', `notification "${notificationId}"`);
}

/** Sets the caller of every RPC, as the auth interceptor would: for tests and in-process routers. */
export function asCaller(caller: Caller): Interceptor {
  return (next) => (req) => {
    req.contextValues.set(callerKey, caller);
    return next(req);
  };
}
