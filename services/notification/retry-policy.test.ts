import { describe, expect, it } from 'vitest';
import { Code, ConnectError } from '@connectrpc/connect';
import { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import { ProviderError } from './providers/provider.js';
import { backoffMs, classify, nextStep, type RetryPolicy } from './retry-policy.js';

const policy: RetryPolicy = {
  maxAttempts: { [Channel.UNSPECIFIED]: 1, [Channel.EMAIL]: 4, [Channel.SLACK]: 4, [Channel.SMS]: 2, [Channel.IN_APP]: 4, [Channel.PUSH]: 4 },
  baseDelayMs: 1_000,
  maxDelayMs: 10_000,
  retryUnknownOutcome: new Set([Channel.EMAIL]),
};
const now = new Date(1_000_000);
const ctx = { now, probe: false, breakerReopensAt: new Date(1_030_000), random: () => 0.5 };
const refused = (err: unknown) => err instanceof ConnectError && err.code === Code.Unavailable;

describe('backoffMs', () => {
  it('doubles per failure, caps, and jitters within [half, full]', () => {
    expect(backoffMs(policy, 1, () => 0)).toBe(500);
    expect(backoffMs(policy, 1, () => 1)).toBe(1_000);
    expect(backoffMs(policy, 2, () => 1)).toBe(2_000);
    expect(backoffMs(policy, 3, () => 1)).toBe(4_000);
    expect(backoffMs(policy, 10, () => 1)).toBe(10_000);
    expect(backoffMs(policy, 10, () => 0)).toBe(5_000);
    for (let i = 0; i < 100; i++) {
      const d = backoffMs(policy, 2);
      expect(d).toBeGreaterThanOrEqual(1_000);
      expect(d).toBeLessThanOrEqual(2_000);
    }
  });
});

describe('classify', () => {
  it('keeps a ProviderError kind and reason', () => {
    expect(classify(new ProviderError('retryable', 'smtp 421', 5_000), refused)).toEqual({ kind: 'retryable', reason: 'smtp 421', retryAfterMs: 5_000 });
    expect(classify(new ProviderError('permanent', 'invalid number'), refused).kind).toBe('permanent');
  });

  it('tells a breaker refusal from a failure', () => {
    expect(classify(new ConnectError('provider:x is unavailable (circuit breaker open)', Code.Unavailable), refused)).toEqual({ kind: 'circuit_open' });
  });

  it('counts anything else as retryable, without quoting its message', () => {
    const failure = classify(new TypeError('fetch failed for https://x/?to=alice@example.com'), refused);
    expect(failure).toEqual({ kind: 'retryable', reason: 'unexpected TypeError from provider' });
  });
});

describe('nextStep', () => {
  const email = { channel: Channel.EMAIL, attempt: 1, failures: 0 };

  it('fails a permanent error at once', () => {
    expect(nextStep(policy, email, { kind: 'permanent', reason: 'mailbox unavailable' }, ctx)).toEqual({ action: 'fail', reason: 'mailbox unavailable' });
  });

  it('retries a retryable error with backoff, as the next attempt', () => {
    expect(nextStep(policy, email, { kind: 'retryable', reason: 'smtp 451' }, ctx)).toEqual({
      action: 'retry',
      attempt: 2,
      failures: 1,
      dueAt: new Date(1_000_750),
      reason: 'retry: smtp 451',
    });
  });

  it('honours a longer Retry-After', () => {
    const step = nextStep(policy, email, { kind: 'retryable', reason: '429', retryAfterMs: 60_000 }, ctx);
    expect(step).toMatchObject({ action: 'retry', dueAt: new Date(1_060_000) });
  });

  it('dead-letters once the channel budget is used', () => {
    expect(nextStep(policy, { channel: Channel.SMS, attempt: 2, failures: 1 }, { kind: 'retryable', reason: '503' }, ctx)).toEqual({
      action: 'dead_letter',
      reason: '503 (gave up after 2 failed attempts)',
    });
    expect(nextStep(policy, { channel: Channel.EMAIL, attempt: 3, failures: 2 }, { kind: 'retryable', reason: '503' }, ctx).action).toBe('retry');
  });

  it('retries an unknown outcome only where a resend is recognised (email), else dead-letters it', () => {
    expect(nextStep(policy, email, { kind: 'unknown_outcome', reason: 'timeout after DATA' }, ctx)).toMatchObject({
      action: 'retry',
      reason: 'retry: outcome unknown: timeout after DATA',
    });
    expect(nextStep(policy, { ...email, channel: Channel.SLACK }, { kind: 'unknown_outcome', reason: 'timeout' }, ctx)).toEqual({
      action: 'dead_letter',
      reason: 'outcome unknown: timeout',
    });
  });

  it('waits for an open breaker without counting a failure', () => {
    expect(nextStep(policy, { ...email, failures: 3 }, { kind: 'circuit_open' }, ctx)).toEqual({
      action: 'wait_for_breaker',
      attempt: 2,
      dueAt: new Date(1_030_000),
      reason: 'circuit open',
    });
  });

  it('does not count a failed half-open probe against the budget', () => {
    const step = nextStep(policy, { channel: Channel.EMAIL, attempt: 7, failures: 3 }, { kind: 'retryable', reason: '503' }, { ...ctx, probe: true });
    expect(step).toMatchObject({ action: 'retry', attempt: 8, failures: 3 });
  });
});
