// The event bus every service publishes and consumes through. Two implementations share this interface: the
// embedded in-process bus (`npm start`, unit tests) and RabbitMQ (when AMQP_URL is set).
//
// Topology (both implementations): one topic exchange, `pulse.events`; routing key = event name; each consuming
// service owns durable queues named `pulse.<service>.<purpose>`, bound by routing key; a failed message is retried
// with exponential backoff and jitter, then moved to `pulse.<service>.dlq` with the failure reason.

export const EXCHANGE = 'pulse.events';

/** Headers Pulse sets on dead-lettered messages: why, and from which queue. */
export const DEAD_LETTER_REASON_HEADER = 'x-pulse-dead-letter-reason';
export const SOURCE_QUEUE_HEADER = 'x-pulse-source-queue';
/** The delivery attempt, carried across retry queues. */
export const ATTEMPT_HEADER = 'x-pulse-attempt';

/** A message as published: Protobuf body plus the AMQP properties Pulse uses. */
export interface BusMessage {
  /** Unique event id (AMQP message_id); consumers deduplicate on it. */
  id: string;
  /** Event name, e.g. `customer.interaction.new`. */
  routingKey: string;
  /** Full Protobuf message name (AMQP type), e.g. `pulse.events.v1.InteractionReceived`. */
  type: string;
  body: Uint8Array;
  /** W3C trace context (`traceparent`, `tracestate`) and other string headers. */
  headers: Record<string, string>;
  timestamp: Date;
}

/** A message handed to a consumer. */
export interface Delivery extends BusMessage {
  queue: string;
  /** 1 for the first delivery, n for the n-th retry. */
  attempt: number;
}

/** A message parked in a dead-letter queue, with why and from where. */
export interface DeadLetter extends Delivery {
  reason: string;
  /** The queue it failed in, where a replay sends it back. */
  sourceQueue: string;
}

export interface QueueSpec {
  /** `pulse.<service>.<purpose>` */
  name: string;
  /** Routing keys (topic patterns allowed) bound to the queue. */
  bindings: string[];
  /** The service's dead-letter queue, `pulse.<service>.dlq`. */
  deadLetterQueue: string;
  /** Messages handled at once by this consumer. */
  prefetch: number;
  /** Attempts before a failing message is dead-lettered (1 = no retry). */
  maxAttempts: number;
  /** Backoff before retry n is retryDelaysMs[n-1] (last value repeats), with ±20% jitter. */
  retryDelaysMs: number[];
}

export type MessageHandler = (delivery: Delivery) => Promise<void>;

/** A failure that no retry can fix (undecodable body, unknown type): the message goes to the DLQ at once. */
export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentError';
  }
}

export interface Consumer {
  /** Stops taking new messages and waits for the ones in hand. */
  cancel(): Promise<void>;
}

export interface EventBus {
  readonly kind: 'embedded' | 'rabbitmq';
  /** Resolves once the broker has taken responsibility for the message (publisher confirm). */
  publish(message: BusMessage): Promise<void>;
  /** Declares the queue (idempotently) and starts handing its messages to handler. Ack after handler resolves. */
  consume(spec: QueueSpec, handler: MessageHandler): Promise<Consumer>;
  /** Messages waiting in a queue, or undefined when the bus cannot tell right now. */
  queueDepth(queue: string): Promise<number | undefined>;
  /** False while the broker is unreachable: RPCs that must publish answer unavailable. */
  isReady(): boolean;
  close(): Promise<void>;
  /** Up to limit messages of a dead-letter queue, oldest first, left in place. */
  deadLetters?(queue: string, limit: number): Promise<DeadLetter[]>;
  /** Sends up to limit dead letters back to their source queues as first attempts; returns how many. */
  replayDeadLetters?(queue: string, limit: number): Promise<number>;
}

export function toDeadLetter(delivery: Delivery): DeadLetter {
  return {
    ...delivery,
    reason: delivery.headers[DEAD_LETTER_REASON_HEADER] ?? '',
    sourceQueue: delivery.headers[SOURCE_QUEUE_HEADER] ?? '',
  };
}

/** A dead letter's headers as they were before it was dead-lettered, for a replay. */
export function withoutDeadLetterHeaders(headers: Record<string, string>): Record<string, string> {
  const { [DEAD_LETTER_REASON_HEADER]: _reason, [SOURCE_QUEUE_HEADER]: _source, ...rest } = headers;
  return rest;
}

/** Backoff for a retry: the configured delay with ±20% jitter, so retries of a burst spread out. */
export function retryDelay(spec: Pick<QueueSpec, 'retryDelaysMs'>, attempt: number, random = Math.random): number {
  const delays = spec.retryDelaysMs;
  const base = delays[Math.min(attempt - 1, delays.length - 1)] ?? 1000;
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** AMQP topic matching: `*` is one word, `#` zero or more. */
export function topicMatches(pattern: string, routingKey: string): boolean {
  const p = pattern.split('.');
  const k = routingKey.split('.');
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === '#') return match(i + 1, j) || (j < k.length && match(i, j + 1));
    return j < k.length && (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}
