// Who may call what, for this process: the scope table of the services in the catalog, read from their contracts
// (scope-table.ts) when the platform loads, so a service whose contract leaves an RPC without a scope does not start.
// Callers hold scopes, given one by one or through a role; the platform names none of them.
import { buildScopeTable } from './scope-table.js';
import { SERVICE_NAMES, SERVICES } from './catalog.js';

/** A scope name, e.g. "reviews:work" (declared by a service's contract). */
export type Scope = string;
/** A role name, e.g. "reviewer" (a value of pulse.options.v1.Role). */
export type Role = string;

export const SCOPE_TABLE = buildScopeTable(SERVICE_NAMES.map((name) => SERVICES[name].descriptor));

/** Every scope, in the order the contracts declare them. */
export const ALL_SCOPES: readonly Scope[] = [...SCOPE_TABLE.scopes.keys()];

export const ROLES: readonly Role[] = SCOPE_TABLE.roles;

/** The scopes each role stands for. */
export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = Object.fromEntries(SCOPE_TABLE.roleScopes);

/** Shared inboxes a role may read besides the caller's own: reviewers read `reviewers`, where review cases go. */
export const ROLE_INBOXES: Readonly<Partial<Record<Role, readonly string[]>>> = {
  reviewer: ['reviewers'],
};

export function isScope(value: string): value is Scope {
  return SCOPE_TABLE.scopes.has(value);
}

export function isRole(value: string): value is Role {
  return SCOPE_TABLE.roleScopes.has(value);
}

/** The scope an RPC needs ("pulse.review.v1.ReviewService", "ClaimReview" -> "reviews:work"); undefined outside the catalog. */
export function scopeFor(serviceTypeName: string, methodName: string): Scope | undefined {
  return SCOPE_TABLE.rpcScopes.get(`${serviceTypeName}/${methodName}`);
}
