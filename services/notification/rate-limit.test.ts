import { describe, expect, it } from 'vitest';
import { type BucketSpec, type LimitName, RateLimiter, refusalMessage, retryAfterSeconds } from './rate-limit.js';

const specs = (overrides: Partial<Record<LimitName, BucketSpec>> = {}): Record<LimitName, BucketSpec> => ({
  caller: { perSecond: 10, burst: 2 },
  user: { perSecond: 1, burst: 3 },
  channel: { perSecond: 100, burst: 100 },
  global: { perSecond: 0, burst: 1 }, // off
  ...overrides,
});

describe('RateLimiter', () => {
  it('admits a burst, then refuses with the time until the next token', () => {
    let now = 0;
    const limiter = new RateLimiter(specs(), () => now);
    const keys = [{ limit: 'user' as const, key: 'u1' }];
    expect(limiter.take(keys)).toBeUndefined();
    expect(limiter.take(keys)).toBeUndefined();
    expect(limiter.take(keys)).toBeUndefined();
    expect(limiter.take(keys)).toEqual({ limit: 'user', retryAfterMs: 1000 });
    now = 400;
    expect(limiter.take(keys)).toEqual({ limit: 'user', retryAfterMs: 600 });
    now = 1000;
    expect(limiter.take(keys)).toBeUndefined();
  });

  it('keeps buckets apart per key and per limit', () => {
    const limiter = new RateLimiter(specs(), () => 0);
    for (let i = 0; i < 3; i++) expect(limiter.take([{ limit: 'user', key: 'a' }])).toBeUndefined();
    expect(limiter.take([{ limit: 'user', key: 'b' }])).toBeUndefined();
    expect(limiter.take([{ limit: 'user', key: 'a' }])?.limit).toBe('user');
  });

  it('takes all or nothing: a refusal by one limit leaves the others untouched', () => {
    const limiter = new RateLimiter(specs(), () => 0);
    limiter.take([{ limit: 'caller', key: 'c' }]);
    limiter.take([{ limit: 'caller', key: 'c' }]);
    // caller is empty now; the user bucket must not lose a token to the refused request
    expect(limiter.take([{ limit: 'user', key: 'u' }, { limit: 'caller', key: 'c' }])?.limit).toBe('caller');
    for (let i = 0; i < 3; i++) expect(limiter.take([{ limit: 'user', key: 'u' }])).toBeUndefined();
  });

  it('check() reports without taking', () => {
    const limiter = new RateLimiter(specs(), () => 0);
    for (let i = 0; i < 5; i++) expect(limiter.check([{ limit: 'caller', key: 'c' }])).toBeUndefined();
    expect(limiter.take([{ limit: 'caller', key: 'c' }])).toBeUndefined();
  });

  it('charges a cost, capped at the burst so a large request is admitted when the bucket is full', () => {
    const limiter = new RateLimiter(specs({ channel: { perSecond: 10, burst: 5 } }), () => 0);
    expect(limiter.take([{ limit: 'channel', key: 'email', cost: 4 }])).toBeUndefined();
    expect(limiter.take([{ limit: 'channel', key: 'email', cost: 2 }])).toEqual({ limit: 'channel', retryAfterMs: 100 });
    const fresh = new RateLimiter(specs({ channel: { perSecond: 10, burst: 5 } }), () => 0);
    expect(fresh.take([{ limit: 'channel', key: 'email', cost: 50 }])).toBeUndefined();
  });

  it('a limit with rate 0 is off', () => {
    const limiter = new RateLimiter(specs(), () => 0);
    for (let i = 0; i < 100; i++) expect(limiter.take([{ limit: 'global', key: '' }])).toBeUndefined();
  });

  it('says which limit and when to retry', () => {
    expect(refusalMessage({ limit: 'user', retryAfterMs: 1500 })).toBe('rate limit per recipient user exceeded; retry in 1.5 s');
    expect(retryAfterSeconds({ limit: 'user', retryAfterMs: 1500 })).toBe(2);
    expect(retryAfterSeconds({ limit: 'global', retryAfterMs: 10 })).toBe(1);
  });
});
