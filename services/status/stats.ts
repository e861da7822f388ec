// GetDeliveryStats' arithmetic: deliveries grouped by channel and priority, counted by current state, with
// percentiles of the latency from acceptance to arrival at the recipient. Plain functions; no I/O.
import type { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';

export interface StatRow {
  channel: Channel;
  priority: Priority;
  state: DeliveryState;
  /** Accepted -> arrival (DELIVERED; SENT on email and SMS), for deliveries that got there (perhaps on to READ). */
  latencyMs: number | null;
}

export interface GroupStats {
  channel: Channel;
  priority: Priority;
  total: number;
  /** Current states with their counts, by state number. */
  states: { state: DeliveryState; count: number }[];
  latencyP50Ms: number;
  latencyP95Ms: number;
  latencyP99Ms: number;
}

/**
 * The nearest-rank percentile of sorted values: the smallest value with at least p% of the values at or below it,
 * so it is always an observed latency. 0 for no values.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Accumulates rows (a page at a time) into per channel and priority statistics. */
export class StatsBuilder {
  private readonly groups = new Map<string, { channel: Channel; priority: Priority; states: Map<DeliveryState, number>; latencies: number[] }>();

  add(row: StatRow): void {
    const key = `${row.channel}/${row.priority}`;
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = { channel: row.channel, priority: row.priority, states: new Map(), latencies: [] }));
    group.states.set(row.state, (group.states.get(row.state) ?? 0) + 1);
    if (row.latencyMs !== null) group.latencies.push(row.latencyMs);
  }

  /** One entry per channel and priority seen, by channel then priority. */
  build(): GroupStats[] {
    return [...this.groups.values()]
      .sort((a, b) => a.channel - b.channel || a.priority - b.priority)
      .map((group) => {
        const sorted = group.latencies.sort((a, b) => a - b);
        const states = [...group.states].map(([state, count]) => ({ state, count })).sort((a, b) => a.state - b.state);
        return {
          channel: group.channel,
          priority: group.priority,
          total: states.reduce((sum, s) => sum + s.count, 0),
          states,
          latencyP50Ms: percentile(sorted, 50),
          latencyP95Ms: percentile(sorted, 95),
          latencyP99Ms: percentile(sorted, 99),
        };
      });
  }
}
