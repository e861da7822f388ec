import { describe, expect, it } from 'vitest';
import { ExchangeFailure } from './http-exchange.js';
import { fromExchangeFailure, kindForStatus, parseRetryAfter } from './http-failure.js';

describe('HTTP failure kinds', () => {
  it.each([
    [500, 'retryable'],
    [502, 'retryable'],
    [503, 'retryable'],
    [504, 'retryable'],
    [429, 'retryable'],
    [408, 'retryable'],
    [400, 'permanent'],
    [401, 'permanent'],
    [403, 'permanent'],
    [404, 'permanent'],
    [422, 'permanent'],
  ])('HTTP %i is %s', (status, kind) => {
    expect(kindForStatus(status)).toBe(kind);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('makes a request that left us an unknown outcome, and one that did not retryable', () => {
    const sent = fromExchangeFailure('slack', new ExchangeFailure('timeout after 10 ms (request may have been sent)', true, false));
    expect([sent.kind, sent.message]).toEqual(['unknown_outcome', 'slack timeout after 10 ms (request may have been sent)']);
    const notSent = fromExchangeFailure('twilio', new ExchangeFailure('connection failed (ECONNREFUSED) (request not sent)', false, false));
    expect(notSent.kind).toBe('retryable');
  });
});
