import { describe, expect, it } from 'vitest';
import { Channel, DeliveryState as S, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { percentile, StatsBuilder } from './stats.js';

describe('percentile (nearest rank)', () => {
  it('returns an observed value at or above p% of them', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([50, 95, 99, 100].map((p) => percentile(hundred, p))).toEqual([50, 95, 99, 100]);
    expect([50, 95, 99].map((p) => percentile([10, 20, 30, 40], p))).toEqual([20, 40, 40]);
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([], 99)).toBe(0);
  });
});

describe('StatsBuilder', () => {
  it('groups by channel and priority, counts current states and takes latency percentiles of the delivered', () => {
    const b = new StatsBuilder();
    for (let i = 1; i <= 20; i++) {
      b.add({ channel: Channel.SLACK, priority: Priority.HIGH, state: i % 2 ? S.DELIVERED : S.READ, latencyMs: i * 100 });
    }
    b.add({ channel: Channel.SLACK, priority: Priority.HIGH, state: S.FAILED, latencyMs: null });
    b.add({ channel: Channel.EMAIL, priority: Priority.LOW, state: S.SENT, latencyMs: null });
    b.add({ channel: Channel.SLACK, priority: Priority.LOW, state: S.DEFERRED, latencyMs: null });
    expect(b.build()).toEqual([
      { channel: Channel.EMAIL, priority: Priority.LOW, total: 1, states: [{ state: S.SENT, count: 1 }], latencyP50Ms: 0, latencyP95Ms: 0, latencyP99Ms: 0 },
      { channel: Channel.SLACK, priority: Priority.LOW, total: 1, states: [{ state: S.DEFERRED, count: 1 }], latencyP50Ms: 0, latencyP95Ms: 0, latencyP99Ms: 0 },
      {
        channel: Channel.SLACK,
        priority: Priority.HIGH,
        total: 21,
        states: [
          { state: S.DELIVERED, count: 10 },
          { state: S.READ, count: 10 },
          { state: S.FAILED, count: 1 },
        ],
        latencyP50Ms: 1000,
        latencyP95Ms: 1900,
        latencyP99Ms: 2000,
      },
    ]);
  });
});
