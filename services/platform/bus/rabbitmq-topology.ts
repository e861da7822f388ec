// The RabbitMQ topology a consuming service owns, declared idempotently at start and after every reconnect.
//
// Retries: each work queue has one retry queue per configured delay, `<work queue>.retry.<delayMs>`, which no one
// consumes. A failed message is published there with a per-message expiration (the delay with its ±20% jitter)
// and, once expired, dead-lettered through the default exchange straight back to its work queue. Retry queues are
// per work queue because the dead-letter routing key is a queue argument. RabbitMQ only expires messages at the
// head of a queue, so each queue holds a single delay bucket: every message in it expires within the same jitter
// band, so none waits behind another for more than the band's width (≤ 1.2 × delay in all). The queue's own TTL
// is that upper bound. The delays are in the queue names, so changing the configured backoff creates new queues
// rather than clashing with the arguments of old ones (delete those once drained).
import type { Channel } from 'amqplib';
import { EXCHANGE, type QueueSpec, retryDelay } from './bus.js';

const MAX_JITTER = 1.2;

export function declareExchange(channel: Channel): Promise<unknown> {
  return channel.assertExchange(EXCHANGE, 'topic', { durable: true });
}

export function retryQueueName(workQueue: string, delayMs: number): string {
  return `${workQueue}.retry.${delayMs}`;
}

/** The configured (unjittered) delay before retry `attempt + 1`: the middle of retryDelay's jitter band. */
function baseDelay(spec: QueueSpec, attempt: number): number {
  return retryDelay(spec, attempt, () => 0.5);
}

/** Where a message that failed its attempt-th delivery waits, and for how long. */
export function retryTarget(spec: QueueSpec, attempt: number): { queue: string; expirationMs: number } {
  return { queue: retryQueueName(spec.name, baseDelay(spec, attempt)), expirationMs: retryDelay(spec, attempt) };
}

/** The retry delays a spec can use: one per attempt that may still be retried. */
function retryDelays(spec: QueueSpec): number[] {
  const delays = new Set<number>();
  for (let attempt = 1; attempt < spec.maxAttempts; attempt++) delays.add(baseDelay(spec, attempt));
  return [...delays];
}

/** Every queue a consumer of spec declares: work queue, retry queues, dead-letter queue. */
export function topologyQueues(spec: QueueSpec): string[] {
  return [spec.name, ...retryDelays(spec).map((delay) => retryQueueName(spec.name, delay)), spec.deadLetterQueue];
}

export async function declareConsumerTopology(channel: Channel, spec: QueueSpec): Promise<void> {
  await declareExchange(channel);
  await channel.assertQueue(spec.name, { durable: true });
  for (const pattern of spec.bindings) await channel.bindQueue(spec.name, EXCHANGE, pattern);
  for (const delay of retryDelays(spec)) {
    await channel.assertQueue(retryQueueName(spec.name, delay), {
      durable: true,
      messageTtl: Math.ceil(delay * MAX_JITTER),
      deadLetterExchange: '',
      deadLetterRoutingKey: spec.name,
    });
  }
  await channel.assertQueue(spec.deadLetterQueue, { durable: true });
}
