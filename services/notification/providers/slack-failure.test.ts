import { ErrorCode } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import { ExchangeFailure } from './http-exchange.js';
import { classifySlackError } from './slack-failure.js';

const platform = (error: string) => ({ code: ErrorCode.PlatformError, data: { ok: false, error } });

describe('Slack failure classification', () => {
  it.each([
    ['channel_not_found', 'permanent'],
    ['not_in_channel', 'permanent'],
    ['is_archived', 'permanent'],
    ['msg_too_long', 'permanent'],
    ['no_text', 'permanent'],
    ['invalid_auth', 'permanent'],
    ['not_authed', 'permanent'],
    ['account_inactive', 'permanent'],
    ['token_revoked', 'permanent'],
    ['invalid_blocks', 'permanent'],
    ['ratelimited', 'retryable'],
    ['internal_error', 'retryable'],
    ['fatal_error', 'retryable'],
    ['service_unavailable', 'retryable'],
  ])('platform error %s is %s', (error, kind) => {
    const failure = classifySlackError(platform(error));
    expect([failure.kind, failure.message]).toEqual([kind, `slack ${error}`]);
  });

  it('does not repeat an error code that is not a plain Slack code', () => {
    expect(classifySlackError(platform('<script>alert(1)</script>')).message).toBe('slack platform error');
  });

  it('turns the rate limit into a retry after the given seconds', () => {
    const failure = classifySlackError({ code: ErrorCode.RateLimitedError, retryAfter: 30 });
    expect([failure.kind, failure.retryAfterMs]).toEqual(['retryable', 30_000]);
  });

  it.each([
    [503, 'retryable'],
    [500, 'retryable'],
    [404, 'permanent'],
  ])('HTTP %i is %s', (statusCode, kind) => {
    expect(classifySlackError({ code: ErrorCode.HTTPError, statusCode }).kind).toBe(kind);
  });

  it('classifies request errors by how far the request got', () => {
    const stale = new ExchangeFailure('connection failed (ECONNRESET) (request not sent)', false, true);
    expect(classifySlackError({ code: ErrorCode.RequestError, original: stale }).kind).toBe('retryable');
    const sent = new ExchangeFailure('timeout after 5 ms (request may have been sent)', true, false);
    expect(classifySlackError({ code: ErrorCode.RequestError, original: sent }).kind).toBe('unknown_outcome');
    expect(classifySlackError({ code: ErrorCode.RequestError, original: new TypeError('x') }).kind).toBe('retryable');
    expect(classifySlackError(new Error('something else')).kind).toBe('retryable');
  });
});
