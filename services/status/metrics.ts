// Delivery metrics on /metrics: how long deliveries take to arrive, and how deliveries end.
import { Counter, Histogram } from 'prom-client';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { TERMINAL } from '../common/delivery-state.js';
import type { Metrics } from '../platform/metrics.js';
import type { Advanced } from './statuses.js';

/** From a second (in-app) to an hour (a deferred or retried email). */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

const label = (name: string) => name.toLowerCase();

export class DeliveryMetrics {
  private readonly latency: Histogram<'channel' | 'priority'>;
  private readonly outcomes: Counter<'channel' | 'state'>;

  constructor(metrics: Metrics) {
    const registers = [metrics.registry];
    this.latency = new Histogram({
      name: 'pulse_delivery_latency_seconds',
      help: 'Time from a notification being accepted to its delivery reaching the recipient (DELIVERED; SENT on email and SMS, which report no delivery)',
      labelNames: ['channel', 'priority'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.outcomes = new Counter({
      name: 'pulse_notification_deliveries_final_total',
      help: 'Deliveries reaching the recipient (DELIVERED; SENT on email and SMS) or a terminal state (READ, SUPPRESSED, EXPIRED, FAILED, DEAD_LETTERED, CANCELLED)',
      labelNames: ['channel', 'state'],
      registers,
    });
  }

  /**
   * Times a delivery's first arrival at its recipient, and counts its move into that state or a terminal one; a
   * step within the same state counts nothing.
   */
  observe({ before, after }: Advanced): void {
    if (before?.state === after.state) return;
    const channel = label(Channel[after.channel] ?? 'unspecified');
    const arrived = after.deliveredAt !== null && !before?.deliveredAt;
    if (arrived) {
      const seconds = Math.max(0, after.deliveredAt!.getTime() - after.acceptedAt.getTime()) / 1000;
      this.latency.observe({ channel, priority: label(Priority[after.priority] ?? 'unspecified') }, seconds);
    }
    if (arrived || TERMINAL.has(after.state)) {
      this.outcomes.inc({ channel, state: label(DeliveryState[after.state]) });
    }
  }
}
