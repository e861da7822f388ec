import { afterEach, describe, expect, it } from 'vitest';
import { type Breaker, createBreaker } from '../platform/breaker.js';
import { createLogger } from '../platform/log.js';
import { Metrics } from '../platform/metrics.js';
import { BreakerGate } from './breaker-gate.js';

const RESET_MS = 100;
let breaker: Breaker;

function gate(): BreakerGate {
  breaker = createBreaker(
    'provider:test',
    { errorThresholdPercentage: 50, volumeThreshold: 2, resetTimeoutMs: RESET_MS, rollingWindowMs: 10_000 },
    { metrics: new Metrics('test'), log: createLogger('test', 'silent') },
  );
  return new BreakerGate(breaker, RESET_MS);
}

const fail = () => breaker.fire(() => Promise.reject(new Error('down'))).catch(() => undefined);
const succeed = () => breaker.fire(() => Promise.resolve('ok'));

afterEach(() => breaker.shutdown());

describe('BreakerGate', () => {
  it('admits freely while closed', () => {
    const g = gate();
    expect(g.admit()).toBe('closed');
    expect(g.admit()).toBe('closed');
  });

  it('refuses while open and says when the breaker reopens', async () => {
    const g = gate();
    const before = Date.now();
    await fail();
    await fail();
    expect(breaker.opened).toBe(true);
    expect(g.admit()).toBe('open');
    const at = g.reopensAt().getTime();
    expect(at).toBeGreaterThanOrEqual(before + RESET_MS);
    expect(at).toBeLessThanOrEqual(Date.now() + RESET_MS);
  });

  it('hands the half-open probe to exactly one job, takes back an unused one, and opens up after success', async () => {
    const g = gate();
    await fail();
    await fail();
    await new Promise((resolve) => breaker.once('halfOpen', resolve));
    expect(g.admit()).toBe('probe');
    expect(g.admit()).toBe('open');
    expect(g.reopensAt().getTime()).toBeLessThanOrEqual(Date.now() + RESET_MS);
    g.release('probe'); // the job had nothing to send
    expect(g.admit()).toBe('probe');
    await succeed();
    g.release('probe'); // no effect once the probe was used
    expect(g.admit()).toBe('closed');
  });

  it('goes back to refusing when the probe fails', async () => {
    const g = gate();
    await fail();
    await fail();
    await new Promise((resolve) => breaker.once('halfOpen', resolve));
    expect(g.admit()).toBe('probe');
    await fail();
    g.release('probe');
    expect(breaker.opened).toBe(true);
    expect(g.admit()).toBe('open');
  });
});
