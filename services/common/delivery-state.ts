// How delivery states order and combine. Notification and status both apply these rules, so a timeline can only
// move forward, and a notification's overall state means the same thing everywhere.
import { Channel, DeliveryState as S } from '../../gen/pulse/common/v1/delivery_pb.js';

/** The provider of in-app deliveries: the status service's inbox. */
export const INBOX_PROVIDER = 'inbox';

/** Terminal states: nothing follows them (a replay starts a new attempt). */
export const TERMINAL: ReadonlySet<S> = new Set([S.READ, S.SUPPRESSED, S.EXPIRED, S.FAILED, S.DEAD_LETTERED, S.CANCELLED]);

/**
 * Whether a delivery can still change. Terminal states cannot; and Pulse tracks reading only in the in-app inbox,
 * so on every other channel a delivery that was SENT or DELIVERED has nothing more coming either.
 */
export function isSettled(state: S, channel: Channel): boolean {
  return TERMINAL.has(state) || (channel !== Channel.IN_APP && (state === S.SENT || state === S.DELIVERED));
}

/**
 * Whether the delivery has reached its recipient as far as Pulse can know. Slack answers chat.postMessage once the
 * message is posted and the in-app inbox is Pulse's own, so those reach DELIVERED; SMTP and push services only accept
 * a message for delivery, and Twilio confirms it only when status callbacks are set up, so on email, push and SMS
 * SENT may be the last news there will be.
 */
export function reachedRecipient(state: S, channel: Channel): boolean {
  if (state === S.DELIVERED || state === S.READ) return true;
  return state === S.SENT && channel !== Channel.IN_APP && channel !== Channel.SLACK;
}

/** Progress within one attempt. Every failure outcome ends an attempt, so it ranks after SENT/DELIVERED. */
const RANK: Record<S, number> = {
  [S.UNSPECIFIED]: 0,
  [S.ACCEPTED]: 1,
  [S.DEFERRED]: 2,
  [S.PROCESSING]: 3,
  [S.SENT]: 4,
  [S.DELIVERED]: 5,
  [S.READ]: 6,
  [S.SUPPRESSED]: 6,
  [S.EXPIRED]: 6,
  [S.FAILED]: 6,
  [S.DEAD_LETTERED]: 7,
  [S.CANCELLED]: 6,
};

export interface StatePoint {
  state: S;
  /** Attempt the state belongs to (0 before the first attempt). */
  attempt: number;
}

/**
 * Whether a change may replace the current state. Later attempts always move forward; within an attempt the
 * state must rank higher. So a late PROCESSING never overwrites SENT, and a retry (attempt + 1) restarts.
 * READ is final even over a higher attempt: a message read is read.
 * A DEFERRED that waits for a retry belongs to the attempt it waits for (the failed attempt + 1).
 */
export function movesForward(current: StatePoint | undefined, next: StatePoint): boolean {
  if (!current) return true;
  if (current.state === S.READ) return false;
  if (next.state === S.READ) return current.state === S.DELIVERED || current.state === S.SENT;
  if (next.attempt !== current.attempt) return next.attempt > current.attempt;
  return RANK[next.state] > RANK[current.state];
}

/**
 * A waiting delivery waiting on for the same attempt: with a newer reason (a retry that then finds its provider's
 * circuit breaker open waits on as "circuit open") or a later due time. Not a step forward, yet not a step back.
 */
export function waitsAgain(current: StatePoint, next: StatePoint): boolean {
  return current.state === S.DEFERRED && next.state === S.DEFERRED && next.attempt === current.attempt;
}

/** Success states, best first; failure states, most telling first. */
const SUCCESS = [S.READ, S.DELIVERED, S.SENT];
const IN_PROGRESS = [S.PROCESSING, S.DEFERRED, S.ACCEPTED];
const FAILURE = [S.DEAD_LETTERED, S.FAILED, S.EXPIRED, S.CANCELLED, S.SUPPRESSED];

/**
 * A notification's overall state from its deliveries: the furthest any delivery got; while none succeeded and
 * some are still moving, the most advanced of those; when all ended without success, the most telling failure.
 */
export function overallState(deliveries: readonly S[]): S {
  if (deliveries.length === 0) return S.ACCEPTED;
  for (const state of SUCCESS) if (deliveries.includes(state)) return state;
  for (const state of IN_PROGRESS) if (deliveries.includes(state)) return state;
  for (const state of FAILURE) if (deliveries.includes(state)) return state;
  return S.ACCEPTED;
}
