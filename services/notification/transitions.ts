// Every change a delivery goes through, decided in one place: a plain function of the delivery as it was read and
// the move asked for. No I/O. A move is allowed only from the states it can start from, and only when the shared
// ordering rules (common/delivery-state.ts) let its state replace the current one, so notification never stores a
// change that the status service would ignore as a step back. The delivery engine (delivery-engine.ts) stores
// what is decided here, if the delivery is still as it was read, and reports it.
import { Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { InboxContent } from '../../gen/pulse/events/v1/events_pb.js';
import { INBOX_PROVIDER, movesForward, waitsAgain } from '../common/delivery-state.js';
import type { DeliveryChange, DeliveryDoc } from './deliveries.js';
import type { NextStep } from './retry-policy.js';

const S = DeliveryState;

export type Move =
  /** The scheduler hands a delivery waiting in the store to a new job: the job changes, not the state. */
  | { kind: 'claim'; jobId: string }
  | { kind: 'expire' }
  | { kind: 'cancel'; reason: string }
  /** Waits in the store for `attempt` until dueAt without having been sent (its provider's breaker is open). */
  | { kind: 'wait'; attempt: number; dueAt: Date; reason: string }
  /** Handed to a provider (or the inbox) for `attempt`. */
  | { kind: 'start'; attempt: number; provider: string }
  /** The provider took it; in-app content rides on the status event that hands it to the inbox. */
  | { kind: 'succeed'; state: DeliveryState.SENT | DeliveryState.DELIVERED; providerMessageId: string; digestSize: number; inbox?: InboxContent }
  /** The attempt failed and the next one waits in the store; failures is left as it was when not given. */
  | { kind: 'retry'; attempt: number; failures?: number; dueAt: Date; reason: string }
  /** Failed for good, FAILED (permanent) or DEAD_LETTERED (gave up): a dead letter records it. */
  | { kind: 'give_up'; state: DeliveryState.FAILED | DeliveryState.DEAD_LETTERED; reason: string }
  /** A person replays a failed delivery: a new attempt with a fresh budget, waiting until dueAt. */
  | { kind: 'replay'; dueAt: Date }
  /** The provider reports, after the send, that the message reached the recipient or never will (an SMS receipt);
   *  FAILED records a dead letter. */
  | { kind: 'confirm'; state: DeliveryState.DELIVERED | DeliveryState.FAILED; reason: string };

export type MoveKind = Move['kind'];

/** Not yet handed to a provider. */
const WAITING: ReadonlySet<DeliveryState> = new Set([S.ACCEPTED, S.DEFERRED]);
const STARTED: ReadonlySet<DeliveryState> = new Set([S.PROCESSING]);
/** Failed for good, with a dead letter a person may replay. */
const REPLAYABLE: ReadonlySet<DeliveryState> = new Set([S.FAILED, S.DEAD_LETTERED]);

/** The states each move can start from. */
export const MOVES_FROM: Readonly<Record<MoveKind, ReadonlySet<DeliveryState>>> = {
  claim: new Set([S.DEFERRED]),
  expire: WAITING,
  cancel: WAITING,
  wait: WAITING,
  start: WAITING,
  succeed: STARTED,
  retry: STARTED,
  give_up: STARTED,
  replay: REPLAYABLE,
  confirm: new Set([S.SENT]),
};

export const EXPIRED_REASON = 'expired before it could be sent';
export const REPLAY_REASON = 'replay';

function changeOf(seen: DeliveryDoc, move: Move, at: Date): DeliveryChange {
  switch (move.kind) {
    case 'claim':
      return { state: seen.state, attempt: seen.attempt, jobId: move.jobId, dueAt: null };
    case 'expire':
      return { state: S.EXPIRED, attempt: seen.attempt, dueAt: null, reason: EXPIRED_REASON };
    case 'cancel':
      return { state: S.CANCELLED, attempt: seen.attempt, dueAt: null, reason: move.reason };
    case 'wait':
      return { state: S.DEFERRED, attempt: move.attempt, dueAt: move.dueAt, jobId: null, reason: move.reason };
    case 'start':
      return { state: S.PROCESSING, attempt: move.attempt, attemptsMade: seen.attemptsMade + 1, processingAt: at, provider: move.provider || seen.provider, reason: '' };
    case 'succeed':
      return { state: move.state, attempt: seen.attempt, reason: '', providerMessageId: move.providerMessageId, digestSize: move.digestSize };
    case 'retry':
      return {
        state: S.DEFERRED,
        attempt: move.attempt,
        ...(move.failures === undefined ? {} : { failures: move.failures }),
        dueAt: move.dueAt,
        jobId: null,
        reason: move.reason,
      };
    case 'give_up':
      return { state: move.state, attempt: seen.attempt, reason: move.reason };
    case 'replay':
      return { state: S.DEFERRED, attempt: seen.attempt + 1, failures: 0, dueAt: move.dueAt, jobId: null, digestKey: null, digestSize: 0, reason: REPLAY_REASON };
    case 'confirm':
      return { state: move.state, attempt: seen.attempt, reason: move.reason };
  }
}

/**
 * The change `move` makes to a delivery as it was read, or null when the delivery is not where the move can start
 * (already picked up, ended, claimed by another job) or the change would not move it forward.
 */
export function decide(seen: DeliveryDoc, move: Move, at: Date): DeliveryChange | null {
  if (!MOVES_FROM[move.kind].has(seen.state)) return null;
  if (move.kind === 'claim') return seen.jobId === null ? changeOf(seen, move, at) : null;
  const change = changeOf(seen, move, at);
  return movesForward(seen, change) || waitsAgain(seen, change) ? change : null;
}

/**
 * Whether a stored change is news for the status service. Another wait for the same open breaker is not; nor is the
 * hand-over to a provider (PROCESSING): the attempt's outcome reports it, which spares a message per attempt.
 */
export function reports(before: DeliveryDoc, after: DeliveryDoc): boolean {
  if (after.state === S.PROCESSING) return false;
  return after.state !== before.state || after.attempt !== before.attempt || after.reason !== before.reason;
}

/**
 * The moves that hand an in-app delivery to the inbox for `attempt`: started and SENT at once, since the status
 * event carrying the content is the hand-over itself, so there is no outcome to lose between them.
 */
export function handOverToInbox(attempt: number, inbox: InboxContent): Move[] {
  return [
    { kind: 'start', attempt, provider: INBOX_PROVIDER },
    { kind: 'succeed', state: S.SENT, providerMessageId: '', digestSize: 0, inbox },
  ];
}

/** An in-app delivery due now is handed to the inbox by the event that reports its acceptance: it needs no job. */
export function handedOverOnAcceptance(planned: DeliveryDoc): boolean {
  return planned.channel === Channel.IN_APP && planned.state === S.ACCEPTED;
}

/**
 * Whether a planned delivery starts where deliveries start: ACCEPTED with its first job, DEFERRED waiting for its
 * first attempt, or SUPPRESSED (recorded, never sent).
 */
export function startsWell(d: DeliveryDoc): boolean {
  switch (d.state) {
    case S.ACCEPTED:
      return d.attempt === 0 && d.jobId !== null;
    case S.DEFERRED:
      return d.attempt === 1 && d.dueAt !== null && d.jobId === null;
    case S.SUPPRESSED:
      return d.attempt === 0 && d.jobId === null;
    default:
      return false;
  }
}

/** The move for a step of the retry policy (retry-policy.ts). */
export function moveFor(step: NextStep): Move {
  switch (step.action) {
    case 'retry':
      return { kind: 'retry', attempt: step.attempt, failures: step.failures, dueAt: step.dueAt, reason: step.reason };
    case 'wait_for_breaker':
      return { kind: 'retry', attempt: step.attempt, dueAt: step.dueAt, reason: step.reason };
    case 'fail':
      return { kind: 'give_up', state: S.FAILED, reason: step.reason };
    case 'dead_letter':
      return { kind: 'give_up', state: S.DEAD_LETTERED, reason: step.reason };
  }
}
