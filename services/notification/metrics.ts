// Notification's Prometheus metrics, on the service's registry. Labels are small closed sets (priority, channel,
// outcome, provider name); never ids, addresses or types chosen by callers.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';

const SEND_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Accept-to-sent spans quiet hours and retries: minutes to hours at the top end. */
const LATENCY_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3_600, 14_400, 43_200];
const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export const channelLabel = (channel: Channel) => (Channel[channel] ?? 'UNKNOWN').toLowerCase();
export const priorityLabel = (priority: Priority) => (Priority[priority] ?? 'UNKNOWN').toLowerCase();

export class NotificationMetrics {
  readonly accepted: Counter<'priority'>;
  readonly duplicates: Counter;
  readonly rateLimited: Counter<'limit'>;
  readonly planLookups: Counter<'result'>;
  readonly deliveriesPlanned: Counter<'channel' | 'state'>;
  readonly attempts: Counter<'channel' | 'outcome'>;
  readonly failovers: Counter<'channel' | 'provider' | 'reason'>;
  readonly sendDuration: Histogram<'channel' | 'provider'>;
  readonly deliveryLatency: Histogram<'channel' | 'priority'>;
  readonly deferred: Counter<'channel' | 'reason'>;
  readonly expired: Counter<'channel'>;
  readonly cancelled: Counter<'channel'>;
  readonly deadLetters: Counter<'channel'>;
  readonly replayed: Counter<'channel'>;
  readonly laneDepth: Gauge<'priority'>;
  readonly schedulerReleased: Counter<'reason'>;
  readonly schedulerLag: Histogram;
  readonly digestSize: Histogram<'channel'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.accepted = new Counter({
      name: 'pulse_notifications_accepted_total',
      help: 'Notifications accepted (new, not duplicates), by priority',
      labelNames: ['priority'],
      registers,
    });
    this.duplicates = new Counter({
      name: 'pulse_notifications_duplicate_total',
      help: 'Sends answered with the notification first accepted under the same idempotency key',
      registers,
    });
    this.rateLimited = new Counter({
      name: 'pulse_notifications_rate_limited_total',
      help: 'Sends refused by a rate limit (this replica), by limit: caller, user, channel, global',
      labelNames: ['limit'],
      registers,
    });
    this.planLookups = new Counter({
      name: 'pulse_delivery_plan_lookups_total',
      help: 'Delivery plans needed, by result: hit (cache) or miss (asked preference)',
      labelNames: ['result'],
      registers,
    });
    this.deliveriesPlanned = new Counter({
      name: 'pulse_deliveries_planned_total',
      help: 'Deliveries created at accept, by channel and initial state (accepted, deferred, suppressed)',
      labelNames: ['channel', 'state'],
      registers,
    });
    this.attempts = new Counter({
      name: 'pulse_delivery_attempts_total',
      help: 'Provider calls, by channel and outcome (sent, delivered, retryable, permanent, unknown_outcome, circuit_open)',
      labelNames: ['channel', 'outcome'],
      registers,
    });
    this.failovers = new Counter({
      name: 'pulse_delivery_failovers_total',
      help: 'Attempts sent through a channel\'s failover provider, by channel, provider and reason (retryable_failure, breaker_open)',
      labelNames: ['channel', 'provider', 'reason'],
      registers,
    });
    this.sendDuration = new Histogram({
      name: 'pulse_delivery_send_duration_seconds',
      help: 'Time a provider took to answer one send',
      labelNames: ['channel', 'provider'],
      buckets: SEND_BUCKETS,
      registers,
    });
    this.deliveryLatency = new Histogram({
      name: 'pulse_delivery_send_latency_seconds',
      help: 'Time from accepting a notification to its delivery being sent (quiet hours and retries included)',
      labelNames: ['channel', 'priority'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.deferred = new Counter({
      name: 'pulse_deliveries_deferred_total',
      help: 'Deliveries put to wait in the store, by channel and reason (quiet_hours, digest, retry, circuit_open, replay, escalation, escalation_status)',
      labelNames: ['channel', 'reason'],
      registers,
    });
    this.expired = new Counter({
      name: 'pulse_deliveries_expired_total',
      help: 'Deliveries dropped because their notification expired first',
      labelNames: ['channel'],
      registers,
    });
    this.cancelled = new Counter({
      name: 'pulse_deliveries_cancelled_total',
      help: 'Deliveries cancelled before they were sent (by CancelNotification, or escalation steps stopped by a read)',
      labelNames: ['channel'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'pulse_dead_letters_total',
      help: 'Deliveries that failed for good (permanent failure, attempts used up, outcome unknown), by channel',
      labelNames: ['channel'],
      registers,
    });
    this.replayed = new Counter({
      name: 'pulse_dead_letters_replayed_total',
      help: 'Dead letters scheduled to be sent again, by channel',
      labelNames: ['channel'],
      registers,
    });
    this.laneDepth = new Gauge({
      name: 'pulse_delivery_lane_depth_messages',
      help: 'Delivery jobs waiting in each priority lane queue, as the bus reports it, sampled every few seconds',
      labelNames: ['priority'],
      registers,
    });
    this.schedulerReleased = new Counter({
      name: 'pulse_scheduler_released_total',
      help: 'Waiting deliveries the scheduler handed on, by what it did: queued or expired; stuck ones it settled',
      labelNames: ['reason'],
      registers,
    });
    this.schedulerLag = new Histogram({
      name: 'pulse_scheduler_lag_seconds',
      help: 'How late the scheduler released a delivery after its due time',
      buckets: LAG_BUCKETS,
      registers,
    });
    this.digestSize = new Histogram({
      name: 'pulse_digest_size_notifications',
      help: 'Notifications combined in each LOW-priority message sent',
      labelNames: ['channel'],
      buckets: [1, 2, 3, 5, 10, 20, 50, 100],
      registers,
    });
  }
}
