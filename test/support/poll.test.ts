import { describe, expect, it } from 'vitest';
import { until } from './poll.js';

describe('until', () => {
  it('returns the first truthy value the probe finds', async () => {
    let calls = 0;
    const found = await until('the third call', () => ++calls >= 3 && `call ${calls}`, { interval: 1 });
    expect(found).toBe('call 3');
  });

  it('tries a throwing probe again', async () => {
    let calls = 0;
    const found = await until('a probe that recovers', async () => {
      if (++calls < 3) throw new Error('not there yet');
      return calls;
    }, { interval: 1 });
    expect(found).toBe(3);
  });

  it('fails after the timeout naming what it waited for, and the last error', async () => {
    await expect(until('nothing', () => false, 50)).rejects.toThrow('timed out after 50 ms waiting for nothing');
    await expect(
      until('a broken probe', () => {
        throw new Error('connection refused');
      }, 50),
    ).rejects.toThrow('timed out after 50 ms waiting for a broken probe (last error: connection refused)');
  });
});
