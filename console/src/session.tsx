// Who is signed in and what they may do. What a person sees follows what Pulse lets them do: at sign-in the console
// asks each area's read RPC once, and shows the areas whose answer was not a refusal. The services still check every
// call; this only keeps the console from offering what would be refused.
import { createContext, useContext } from 'react';
import { type Clients, isRefused } from './api';

export interface Abilities {
  /** ListReviews: the review queue and cases (reviewer, admin). */
  reviews: boolean;
  /** GetReviewPolicy: the review policy (reviewer reads it, admin changes it). */
  policy: boolean;
  /** ListInbox of their own inbox. */
  inbox: boolean;
  /** GetPreferences of their own preferences. */
  preferences: boolean;
  /** ListDeadLetters: the operator pages (admin). */
  operator: boolean;
}

export interface Session {
  token: string;
  userId: string;
  abilities: Abilities;
  clients: Clients;
}

const SessionContext = createContext<Session | null>(null);
export const SessionProvider = SessionContext.Provider;

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in console');
  return session;
}

/** Asks each area's read RPC once; a refusal hides the area. Throws when the credential is refused everywhere. */
export async function discoverAbilities(clients: Clients, userId: string): Promise<Abilities> {
  const probes = {
    reviews: clients.review.listReviews({ pageSize: 1 }),
    policy: clients.review.getReviewPolicy({}),
    inbox: clients.status.listInbox({ userId, pageSize: 1 }),
    preferences: clients.preference.getPreferences({ userId }),
    operator: clients.notification.listDeadLetters({ pageSize: 1 }),
  };
  const names = Object.keys(probes) as (keyof Abilities)[];
  const results = await Promise.allSettled(Object.values(probes));
  const abilities = Object.fromEntries(names.map((name, i) => {
    const result = results[i];
    return [name, result.status === 'fulfilled' || !isRefused(result.reason)];
  })) as unknown as Abilities;
  if (!names.some((name) => abilities[name])) {
    const refusal = results.find((r) => r.status === 'rejected');
    throw refusal?.status === 'rejected' ? refusal.reason : new Error('nothing allowed');
  }
  return abilities;
}

const STORAGE_KEY = 'pulse.session';

/** The credential kept for this tab only, so a reload does not sign the person out. */
export function storedCredentials(): { token: string; userId: string } | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as { token: string; userId: string }) : null;
  } catch {
    return null;
  }
}

export function storeCredentials(credentials: { token: string; userId: string } | null): void {
  if (credentials) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
  else sessionStorage.removeItem(STORAGE_KEY);
}

/** The user id a JWT names (its `user` claim, else `sub`), to fill in the sign-in form; the server still decides. */
export function userIdFromJwt(token: string): string {
  const parts = token.split('.');
  if (parts.length !== 3) return '';
  try {
    const claims = JSON.parse(atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'))) as { user?: unknown; sub?: unknown };
    return typeof claims.user === 'string' ? claims.user : typeof claims.sub === 'string' ? claims.sub : '';
  } catch {
    return '';
  }
}
