// The delivery moves, decided without I/O: every move from every state, allowed or refused.
import { describe, expect, it } from 'vitest';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { DeliveryDoc } from './deliveries.js';
import { decide, type Move, type MoveKind, moveFor, MOVES_FROM, reports, startsWell } from './transitions.js';

const S = DeliveryState;
const at = new Date('2025-03-01T12:00:00Z');
const later = new Date('2025-03-01T12:05:00Z');

function delivery(state: DeliveryState, attempt: number, extra: Partial<DeliveryDoc> = {}): DeliveryDoc {
  return {
    _id: 'dlv-1',
    notificationId: 'ntf-1',
    channel: Channel.EMAIL,
    address: 'ann@example.com',
    userId: 'ann',
    priority: Priority.MEDIUM,
    notificationType: 'invoice.overdue',
    recipient: { userId: 'ann' },
    causeId: '',
    acceptedAt: at,
    expiresAt: null,
    state,
    attempt,
    attemptsMade: Math.max(0, attempt - 1),
    failures: 1,
    provider: 'fake-email',
    reason: '',
    dueAt: null,
    jobId: 'job-1',
    processingAt: null,
    digestKey: 'email:abc',
    digestSize: 0,
    providerMessageId: '',
    createdAt: at,
    updatedAt: at,
    ...extra,
  };
}

/** One example of each move, for a delivery at attempt n. */
function moves(n: number): Record<MoveKind, Move> {
  return {
    claim: { kind: 'claim', jobId: 'job-2' },
    expire: { kind: 'expire' },
    cancel: { kind: 'cancel', reason: 'paid' },
    wait: { kind: 'wait', attempt: Math.max(1, n), dueAt: later, reason: 'circuit open' },
    start: { kind: 'start', attempt: Math.max(1, n), provider: 'fake-email' },
    succeed: { kind: 'succeed', state: S.SENT, providerMessageId: 'm-1', digestSize: 0 },
    retry: { kind: 'retry', attempt: n + 1, failures: 2, dueAt: later, reason: 'retry: 503' },
    give_up: { kind: 'give_up', state: S.DEAD_LETTERED, reason: 'gave up' },
    replay: { kind: 'replay', dueAt: later },
    confirm: { kind: 'confirm', state: S.DELIVERED, reason: '' },
  };
}

/** Where a delivery can be, with the attempt it is at there. */
const POINTS: [DeliveryState, number][] = [
  [S.ACCEPTED, 0],
  [S.DEFERRED, 1],
  [S.PROCESSING, 1],
  [S.SENT, 1],
  [S.DELIVERED, 1],
  [S.READ, 1],
  [S.SUPPRESSED, 0],
  [S.EXPIRED, 0],
  [S.FAILED, 1],
  [S.DEAD_LETTERED, 2],
  [S.CANCELLED, 1],
];

/** The allowed moves, as state -> moves; everything else is refused. */
const ALLOWED: Partial<Record<DeliveryState, MoveKind[]>> = {
  [S.ACCEPTED]: ['expire', 'cancel', 'wait', 'start'],
  [S.DEFERRED]: ['claim', 'expire', 'cancel', 'wait', 'start'],
  [S.PROCESSING]: ['succeed', 'retry', 'give_up'],
  [S.SENT]: ['confirm'],
  [S.FAILED]: ['replay'],
  [S.DEAD_LETTERED]: ['replay'],
};

describe('delivery moves', () => {
  it('allows exactly the moves each state can start, and refuses the rest', () => {
    const decided: Record<string, MoveKind[]> = {};
    for (const [state, attempt] of POINTS) {
      const seen = delivery(state, attempt, { jobId: state === S.DEFERRED ? null : 'job-1' });
      decided[S[state]] = Object.values(moves(attempt))
        .filter((move) => decide(seen, move, at) !== null)
        .map((move) => move.kind);
    }
    const expected = Object.fromEntries(POINTS.map(([state]) => [S[state], ALLOWED[state] ?? []]));
    expect(decided).toEqual(expected);
    // The table the engine consults says the same.
    for (const [kind, from] of Object.entries(MOVES_FROM)) {
      expect([...from].sort(), kind).toEqual(POINTS.map(([s]) => s).filter((s) => ALLOWED[s]?.includes(kind as MoveKind)).sort());
    }
  });

  it('claims only a delivery no job holds, changing its job and nothing the status service sees', () => {
    const waiting = delivery(S.DEFERRED, 2, { jobId: null, dueAt: at });
    expect(decide(waiting, { kind: 'claim', jobId: 'job-2' }, at)).toEqual({ state: S.DEFERRED, attempt: 2, jobId: 'job-2', dueAt: null });
    expect(decide(delivery(S.DEFERRED, 2, { jobId: 'job-1' }), { kind: 'claim', jobId: 'job-2' }, at)).toBeNull();
  });

  it('starts an attempt only forward: never one older than the attempt the delivery waits for', () => {
    const waitingFor3 = delivery(S.DEFERRED, 3);
    expect(decide(waitingFor3, { kind: 'start', attempt: 3, provider: 'p' }, at)).toEqual({
      state: S.PROCESSING,
      attempt: 3,
      attemptsMade: 3,
      processingAt: at,
      provider: 'p',
      reason: '',
    });
    expect(decide(waitingFor3, { kind: 'start', attempt: 2, provider: 'p' }, at)).toBeNull();
    expect(decide(delivery(S.ACCEPTED, 0), { kind: 'start', attempt: 1, provider: '' }, at)).toMatchObject({ attempt: 1, provider: 'fake-email' });
  });

  it('lets a waiting delivery wait on for the same attempt, but never for an older one', () => {
    const retrying = delivery(S.DEFERRED, 2, { reason: 'retry: 503' });
    expect(decide(retrying, { kind: 'wait', attempt: 2, dueAt: later, reason: 'circuit open' }, at)).toEqual({
      state: S.DEFERRED,
      attempt: 2,
      dueAt: later,
      jobId: null,
      reason: 'circuit open',
    });
    expect(decide(retrying, { kind: 'wait', attempt: 1, dueAt: later, reason: 'circuit open' }, at)).toBeNull();
    expect(decide(delivery(S.ACCEPTED, 0), { kind: 'wait', attempt: 1, dueAt: later, reason: 'circuit open' }, at)).toMatchObject({ attempt: 1 });
  });

  it('retries only with a later attempt, keeping the failure count unless the policy counted one', () => {
    const sending = delivery(S.PROCESSING, 2);
    expect(decide(sending, { kind: 'retry', attempt: 3, failures: 2, dueAt: later, reason: 'retry: 503' }, at)).toEqual({
      state: S.DEFERRED,
      attempt: 3,
      failures: 2,
      dueAt: later,
      jobId: null,
      reason: 'retry: 503',
    });
    expect(decide(sending, { kind: 'retry', attempt: 3, dueAt: later, reason: 'circuit open' }, at)).not.toHaveProperty('failures');
    expect(decide(sending, { kind: 'retry', attempt: 2, dueAt: later, reason: 'retry: 503' }, at)).toBeNull();
  });

  it('ends an attempt as sent, delivered, failed or dead-lettered within the attempt', () => {
    const sending = delivery(S.PROCESSING, 2);
    expect(decide(sending, { kind: 'succeed', state: S.DELIVERED, providerMessageId: 'm-9', digestSize: 3 }, at)).toEqual({
      state: S.DELIVERED,
      attempt: 2,
      reason: '',
      providerMessageId: 'm-9',
      digestSize: 3,
    });
    expect(decide(sending, { kind: 'give_up', state: S.FAILED, reason: 'mailbox does not exist' }, at)).toEqual({
      state: S.FAILED,
      attempt: 2,
      reason: 'mailbox does not exist',
    });
  });

  it('expires and cancels within the attempt, with nothing left due', () => {
    const waiting = delivery(S.DEFERRED, 1, { dueAt: later });
    expect(decide(waiting, { kind: 'expire' }, at)).toEqual({ state: S.EXPIRED, attempt: 1, dueAt: null, reason: 'expired before it could be sent' });
    expect(decide(waiting, { kind: 'cancel', reason: 'paid' }, at)).toEqual({ state: S.CANCELLED, attempt: 1, dueAt: null, reason: 'paid' });
  });

  it('replays a failed delivery as a new attempt with a fresh budget, outside any digest', () => {
    expect(decide(delivery(S.DEAD_LETTERED, 4), { kind: 'replay', dueAt: later }, at)).toEqual({
      state: S.DEFERRED,
      attempt: 5,
      failures: 0,
      dueAt: later,
      jobId: null,
      digestKey: null,
      digestSize: 0,
      reason: 'replay',
    });
  });

  it('maps every retry-policy step to its move', () => {
    expect(moveFor({ action: 'retry', attempt: 2, failures: 1, dueAt: later, reason: 'r' })).toEqual({ kind: 'retry', attempt: 2, failures: 1, dueAt: later, reason: 'r' });
    expect(moveFor({ action: 'wait_for_breaker', attempt: 2, dueAt: later, reason: 'circuit open' })).toEqual({
      kind: 'retry',
      attempt: 2,
      dueAt: later,
      reason: 'circuit open',
    });
    expect(moveFor({ action: 'fail', reason: 'bad' })).toEqual({ kind: 'give_up', state: S.FAILED, reason: 'bad' });
    expect(moveFor({ action: 'dead_letter', reason: 'gave up' })).toEqual({ kind: 'give_up', state: S.DEAD_LETTERED, reason: 'gave up' });
  });
});

describe('what a move tells the status service', () => {
  it('reports a new state, attempt or reason, and not another wait for the same reason', () => {
    const waiting = delivery(S.DEFERRED, 2, { reason: 'circuit open', dueAt: at });
    expect(reports(waiting, { ...waiting, dueAt: later, jobId: null })).toBe(false);
    expect(reports(waiting, { ...waiting, reason: 'retry: 503' })).toBe(true);
    expect(reports(waiting, { ...waiting, attempt: 3 })).toBe(true);
    expect(reports(waiting, { ...waiting, state: S.SENT })).toBe(true);
  });

  it('does not report the hand-over to a provider: the outcome carries the attempt', () => {
    const waiting = delivery(S.DEFERRED, 2, { reason: 'retry: 503', dueAt: at });
    expect(reports(waiting, { ...waiting, state: S.PROCESSING, reason: '' })).toBe(false);
    expect(reports(delivery(S.ACCEPTED, 0), delivery(S.PROCESSING, 1))).toBe(false);
  });
});

describe('where a delivery starts', () => {
  it('starts ACCEPTED with a job, DEFERRED for attempt 1 with a due time, or SUPPRESSED; nowhere else', () => {
    expect(startsWell(delivery(S.ACCEPTED, 0))).toBe(true);
    expect(startsWell(delivery(S.ACCEPTED, 0, { jobId: null }))).toBe(false);
    expect(startsWell(delivery(S.DEFERRED, 1, { jobId: null, dueAt: later }))).toBe(true);
    expect(startsWell(delivery(S.DEFERRED, 1, { jobId: null }))).toBe(false);
    expect(startsWell(delivery(S.SUPPRESSED, 0, { jobId: null }))).toBe(true);
    for (const state of [S.PROCESSING, S.SENT, S.FAILED, S.CANCELLED]) expect(startsWell(delivery(state, 1)), S[state]).toBe(false);
  });
});
