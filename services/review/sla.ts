// When an unclaimed case is due for a reminder. Plain functions, no I/O.
import type { Severity } from '../../gen/pulse/common/v1/review_pb.js';
import type { Policy } from './policy.js';

/** A severity the policy has no rule for may stay unclaimed this long. */
export const DEFAULT_SLA_MS = 4 * 3_600_000;

export function slaFor(severity: Severity, policy: Pick<Policy, 'slas'>): number {
  return policy.slas.find((rule) => rule.severity === severity)?.openForMs ?? DEFAULT_SLA_MS;
}

/** Due time of a case that starts waiting for a reviewer at `from`. */
export function slaDueAt(from: Date, severity: Severity, policy: Pick<Policy, 'slas'>): Date {
  return new Date(from.getTime() + slaFor(severity, policy));
}

/**
 * Due time after a case got more severe: its new severity's SLA counted from when it opened, if that comes
 * sooner. (A case that turned CRITICAL after 20 minutes is already past a 15-minute SLA and is reminded at once.)
 */
export function tightenedDue(currentDue: Date, openedAt: Date, severity: Severity, policy: Pick<Policy, 'slas'>): Date {
  const due = slaDueAt(openedAt, severity, policy);
  return due < currentDue ? due : currentDue;
}

/**
 * The next due time once a reminder went out: one SLA after the breached due time, or one SLA from now when the
 * service was down long enough for that to be past already (no burst of catch-up reminders).
 */
export function nextReminderDue(breachedDue: Date, now: Date, slaMs: number): Date {
  const next = breachedDue.getTime() + slaMs;
  return new Date(next > now.getTime() ? next : now.getTime() + slaMs);
}
