import { describe, expect, it } from 'vitest';
import { ExchangeFailure } from './http-exchange.js';
import { classifyTwilioError } from './twilio-failure.js';

// The shape of twilio's RestException: HTTP status, Twilio code, and a message that quotes the number.
const rest = (status: number, code?: number) => Object.assign(new Error("The 'To' number +14155550123 is not valid"), { status, code });

describe('Twilio failure classification', () => {
  it.each([
    [400, 21211, 'permanent', "twilio 21211 invalid 'To' number"],
    [400, 21614, 'permanent', "twilio 21614 'To' number is not a mobile number"],
    [400, 21610, 'permanent', "twilio 21610 'To' number unsubscribed (replied STOP)"],
    [400, 21408, 'permanent', 'twilio 21408 sending to this region is not enabled'],
    [400, 21999, 'permanent', 'twilio 21999 request rejected'],
    [401, 20003, 'permanent', 'twilio 20003 authentication failed (check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)'],
    [403, undefined, 'permanent', 'twilio 403 request rejected'],
    [404, 20404, 'permanent', 'twilio 20404 request rejected'],
    [500, 20500, 'retryable', 'twilio 20500 server error'],
    [503, undefined, 'retryable', 'twilio 503 server error'],
  ] as const)('HTTP %i code %s is %s', (status, code, kind, reason) => {
    const failure = classifyTwilioError(rest(status, code), undefined);
    expect([failure.kind, failure.message]).toEqual([kind, reason]);
    expect(failure.message).not.toContain('+1415');
  });

  it('passes the Retry-After of a 429 on', () => {
    const failure = classifyTwilioError(rest(429, 20429), 4000);
    expect([failure.kind, failure.message, failure.retryAfterMs]).toEqual(['retryable', 'twilio 20429 too many requests', 4000]);
  });

  it('classifies transport failures by how far the request got', () => {
    expect(classifyTwilioError(new ExchangeFailure('timeout after 5 ms (request not sent)', false, false), undefined).kind).toBe('retryable');
    expect(classifyTwilioError(new ExchangeFailure('timeout after 5 ms (request may have been sent)', true, false), undefined).kind).toBe(
      'unknown_outcome',
    );
    expect(classifyTwilioError(new Error('no status'), undefined).kind).toBe('retryable');
  });
});
