// The case lifecycle: OPEN -> CLAIMED -> RESOLVED | DISMISSED | ESCALATED, where ESCALATED waits for a lead to claim
// it like an OPEN case. Plain functions deciding what a step may do; the repository makes the step atomic.
import { ReviewState } from '../../gen/pulse/common/v1/review_pb.js';

/** States in which a case is still being handled: it gathers new messages and can be claimed or resolved. */
export const ACTIVE_STATES: readonly ReviewState[] = [ReviewState.OPEN, ReviewState.CLAIMED, ReviewState.ESCALATED];
/** States waiting for someone to claim the case; the SLA runs in these. */
export const UNCLAIMED_STATES: readonly ReviewState[] = [ReviewState.OPEN, ReviewState.ESCALATED];
/** What ResolveReview may move a claimed case to. */
export const OUTCOMES: readonly ReviewState[] = [ReviewState.RESOLVED, ReviewState.DISMISSED, ReviewState.ESCALATED];

export interface CaseStanding {
  _id: string;
  state: ReviewState;
  assignee: string;
  updatedAt: Date;
}

export function stateName(state: ReviewState): string {
  return ReviewState[state] ?? String(state);
}

/** Whether a new amiss message of the conversation joins this case instead of opening another. */
export function isJoinable(c: Pick<CaseStanding, 'state' | 'updatedAt'>, now: Date, cooldownMs: number): boolean {
  return ACTIVE_STATES.includes(c.state) && now.getTime() - c.updatedAt.getTime() <= cooldownMs;
}

export type ClaimDecision = { kind: 'claim' } | { kind: 'already-yours' } | { kind: 'refuse'; reason: string };

export function decideClaim(c: CaseStanding, reviewer: string): ClaimDecision {
  if (UNCLAIMED_STATES.includes(c.state)) return { kind: 'claim' };
  if (c.state === ReviewState.CLAIMED) {
    if (c.assignee === reviewer) return { kind: 'already-yours' };
    return { kind: 'refuse', reason: `review "${c._id}" is already claimed by "${c.assignee}"` };
  }
  return { kind: 'refuse', reason: `review "${c._id}" is ${stateName(c.state)} and can no longer be claimed` };
}

/** Why reviewer may not resolve the case, or undefined when they may. */
export function resolveRefusal(c: CaseStanding, reviewer: string): string | undefined {
  if (c.state === ReviewState.CLAIMED) {
    return c.assignee === reviewer ? undefined : `review "${c._id}" is claimed by "${c.assignee}"; only they can resolve it`;
  }
  if (UNCLAIMED_STATES.includes(c.state)) return `review "${c._id}" is ${stateName(c.state)}; claim it before resolving it`;
  return `review "${c._id}" is already ${stateName(c.state)}`;
}
