// A delivery's timeline and a notification's overall state: the rules status applies to every change. Plain
// functions over the shared rules in common/delivery-state.ts; no I/O.
//
// A change is applied only when movesForward allows it (or it gives a waiting delivery a newer reason to wait). A
// change that would move a delivery backwards (an event that arrived late, or a redelivered one) is ignored
// entirely: it changes neither the state nor the history, so the history is the path the delivery actually took,
// oldest first, and every step in it moved the state forward.
import { type Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import { isSettled as deliverySettled, movesForward, overallState, reachedRecipient, TERMINAL, waitsAgain } from '../common/delivery-state.js';

export interface Step {
  state: DeliveryState;
  at: Date;
  attempt: number;
  provider: string;
  reason: string;
}

export interface Timeline {
  state: DeliveryState;
  attempt: number;
  provider: string;
  reason: string;
  /** Every applied step, oldest first (the latest MAX_HISTORY). */
  history: Step[];
  updatedAt: Date;
  /**
   * When the delivery first reached its recipient: DELIVERED, or SENT on a channel that reports no delivery
   * (email, SMS; see reachedRecipient). Delivery latency is measured to it.
   */
  deliveredAt: Date | null;
}

/** Bounds a document that a delivery retried many times would otherwise grow without end. */
export const MAX_HISTORY = 100;

/**
 * A waiting delivery can learn a new reason for its wait without a new attempt: a retry that then finds its
 * provider's circuit breaker open waits on, for the same attempt, with reason "circuit open". That is a step too,
 * when it is newer than the current one; an older one is a late step and ignored like any other.
 */
function newReasonToWait(current: Timeline | undefined, step: Step): boolean {
  return current !== undefined && waitsAgain(current, step) && step.reason !== current.reason && step.at.getTime() > current.updatedAt.getTime();
}

/** The timeline of a delivery on channel after step, or undefined when step would move it backwards (and is ignored). */
export function advance(current: Timeline | undefined, step: Step, channel: Channel): Timeline | undefined {
  if (!movesForward(current, step) && !newReasonToWait(current, step)) return undefined;
  return {
    state: step.state,
    attempt: step.attempt,
    provider: step.provider,
    reason: step.reason,
    history: [...(current?.history ?? []), step].slice(-MAX_HISTORY),
    updatedAt: step.at,
    deliveredAt: current?.deliveredAt ?? (reachedRecipient(step.state, channel) ? step.at : null),
  };
}

/**
 * A notification's overall state: from its deliveries once it has any; before that, the state of the notification
 * as a whole (ACCEPTED, or how it ended without a delivery, e.g. CANCELLED).
 */
export function notificationState(own: DeliveryState, deliveries: readonly DeliveryState[]): DeliveryState {
  if (deliveries.length > 0) return overallState(deliveries);
  return own === DeliveryState.UNSPECIFIED ? DeliveryState.ACCEPTED : own;
}

/** Nothing more will happen: every delivery is settled (or, without deliveries, the notification itself ended). */
export function isSettled(own: DeliveryState, deliveries: readonly { state: DeliveryState; channel: Channel }[]): boolean {
  return deliveries.length > 0 ? deliveries.every((d) => deliverySettled(d.state, d.channel)) : TERMINAL.has(own);
}
