// What happens after a failed send: a plain function of the delivery, the failure and the policy. No I/O.
//
// - permanent (invalid address, rejected recipient): FAILED at once, and a dead letter so a person can fix and
//   replay it.
// - retryable (timeout before sending, 5xx, 429, connection error): retried with exponential backoff and jitter,
//   never sooner than the provider's Retry-After, until the channel's attempt budget is used; then DEAD_LETTERED.
// - unknown outcome (the provider may have sent it: timeout after writing, a worker lost mid-send): retried only on
//   channels whose provider recognises a resend as the same message (email: the Message-ID is derived from the
//   delivery); elsewhere (Slack, SMS: no idempotency key) a resend could reach the person twice, so it is
//   dead-lettered with reason "outcome unknown" for a person to check and replay. Never resent on another channel.
// - circuit open (the breaker refused the call): wait for the breaker, without using up the attempt budget.
// A failed half-open probe does not count against the budget either: it is the breaker testing the provider, and
// counting it would let one unlucky delivery use up its attempts during a long outage.
import { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import { backoffMs as exponentialBackoffMs } from '../platform/backoff.js';
import { ProviderError } from './providers/provider.js';

export interface RetryPolicy {
  /** Provider failures a delivery may have on each channel before it is dead-lettered. */
  maxAttempts: Record<Channel, number>;
  /** Backoff before the first retry; doubles with each failure. */
  baseDelayMs: number;
  /** Backoff never exceeds this (before honouring a provider's Retry-After). */
  maxDelayMs: number;
  /** Channels where an unknown outcome is retried rather than dead-lettered. */
  retryUnknownOutcome: ReadonlySet<Channel>;
}

export type Failure =
  | { kind: 'retryable' | 'permanent' | 'unknown_outcome'; reason: string; retryAfterMs?: number }
  | { kind: 'circuit_open' };

/** What a thrown send error means. Anything that is not a ProviderError counts as retryable. */
export function classify(err: unknown, breakerRefused: (err: unknown) => boolean): Failure {
  if (err instanceof ProviderError) {
    return { kind: err.kind, reason: safeReason(err.message), retryAfterMs: err.retryAfterMs };
  }
  if (breakerRefused(err)) return { kind: 'circuit_open' };
  // An unclassified error's message may quote anything (an address in a URL): keep only its type.
  const name = err instanceof Error ? err.name : typeof err;
  return { kind: 'retryable', reason: `unexpected ${name.slice(0, 60)} from provider` };
}

/** Provider reasons are meant to be safe; still cap them, and never keep more than one line. */
function safeReason(reason: string): string {
  return (reason.split('\n')[0] || 'provider error').slice(0, 300);
}

export interface AttemptState {
  channel: Channel;
  /** The attempt that failed, from 1. */
  attempt: number;
  /** Failures counted against the budget before this one. */
  failures: number;
}

export type NextStep =
  | { action: 'retry'; attempt: number; failures: number; dueAt: Date; reason: string }
  | { action: 'wait_for_breaker'; attempt: number; dueAt: Date; reason: string }
  | { action: 'fail'; reason: string }
  | { action: 'dead_letter'; reason: string };

export interface StepContext {
  now: Date;
  /** The call was the breaker's half-open probe. */
  probe: boolean;
  /** When the breaker will let a call through again (for circuit_open). */
  breakerReopensAt: Date;
  random?: () => number;
}

/** Backoff after the n-th counted failure, with the policy's base and cap (platform/backoff.ts). */
export function backoffMs(policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, failures: number, random = Math.random): number {
  return exponentialBackoffMs(policy.baseDelayMs, policy.maxDelayMs, failures, random);
}

export function nextStep(policy: RetryPolicy, state: AttemptState, failure: Failure, ctx: StepContext): NextStep {
  if (failure.kind === 'circuit_open') {
    return { action: 'wait_for_breaker', attempt: state.attempt + 1, dueAt: ctx.breakerReopensAt, reason: 'circuit open' };
  }
  if (failure.kind === 'permanent') return { action: 'fail', reason: failure.reason };
  const reason = failure.kind === 'unknown_outcome' ? `outcome unknown: ${failure.reason}` : failure.reason;
  if (failure.kind === 'unknown_outcome' && !policy.retryUnknownOutcome.has(state.channel)) {
    return { action: 'dead_letter', reason };
  }
  const failures = state.failures + (ctx.probe ? 0 : 1);
  const budget = policy.maxAttempts[state.channel] ?? 1;
  if (failures >= budget) return { action: 'dead_letter', reason: `${reason} (gave up after ${failures} failed attempts)` };
  const wait = Math.max(backoffMs(policy, Math.max(1, failures), ctx.random), failure.retryAfterMs ?? 0);
  return { action: 'retry', attempt: state.attempt + 1, failures, dueAt: new Date(ctx.now.getTime() + wait), reason: `retry: ${reason}` };
}
