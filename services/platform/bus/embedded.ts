// The in-process bus behind `npm start` and the unit tests. Same contract as RabbitMQ: topic routing, queues that
// exist once declared, bounded prefetch, ack after the handler resolves, retries with backoff, then the DLQ.
import {
  type BusMessage,
  type Consumer,
  DEAD_LETTER_REASON_HEADER,
  type DeadLetter,
  type Delivery,
  type EventBus,
  type MessageHandler,
  PermanentError,
  type QueueSpec,
  retryDelay,
  SOURCE_QUEUE_HEADER,
  toDeadLetter,
  topicMatches,
  withoutDeadLetterHeaders,
} from './bus.js';

interface QueueState {
  name: string;
  bindings: string[];
  ready: Delivery[];
  spec?: QueueSpec;
  handler?: MessageHandler;
  inFlight: number;
  idle?: () => void;
}

export class EmbeddedBus implements EventBus {
  readonly kind = 'embedded' as const;
  private readonly queues = new Map<string, QueueState>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  async publish(message: BusMessage): Promise<void> {
    if (this.closed) throw new Error('event bus is closed');
    for (const queue of this.queues.values()) {
      if (queue.bindings.some((pattern) => topicMatches(pattern, message.routingKey))) {
        queue.ready.push({ ...message, headers: { ...message.headers }, queue: queue.name, attempt: 1 });
        this.pump(queue);
      }
    }
  }

  async consume(spec: QueueSpec, handler: MessageHandler): Promise<Consumer> {
    const queue = this.declare(spec.name, spec.bindings);
    this.declare(spec.deadLetterQueue, []);
    if (queue.handler) throw new Error(`queue ${spec.name} already has a consumer`);
    queue.spec = spec;
    queue.handler = handler;
    this.pump(queue);
    return {
      cancel: async () => {
        queue.handler = undefined;
        if (queue.inFlight > 0) await new Promise<void>((resolve) => (queue.idle = resolve));
      },
    };
  }

  async queueDepth(name: string): Promise<number | undefined> {
    const queue = this.queues.get(name);
    return queue ? queue.ready.length + queue.inFlight : undefined;
  }

  /** Messages currently in a queue (DLQs included), oldest first. */
  peek(name: string): Delivery[] {
    return [...(this.queues.get(name)?.ready ?? [])];
  }

  async deadLetters(queue: string, limit: number): Promise<DeadLetter[]> {
    return this.peek(queue).slice(0, limit).map(toDeadLetter);
  }

  async replayDeadLetters(queue: string, limit: number): Promise<number> {
    const dlq = this.queues.get(queue);
    if (!dlq) return 0;
    const kept: Delivery[] = [];
    let replayed = 0;
    for (const letter of dlq.ready.splice(0, limit)) {
      const source = this.queues.get(letter.headers[SOURCE_QUEUE_HEADER] ?? '');
      if (!source) {
        kept.push(letter);
        continue;
      }
      source.ready.push({ ...letter, queue: source.name, attempt: 1, headers: withoutDeadLetterHeaders(letter.headers) });
      this.pump(source);
      replayed++;
    }
    dlq.ready.unshift(...kept);
    return replayed;
  }

  isReady(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private declare(name: string, bindings: string[]): QueueState {
    let queue = this.queues.get(name);
    if (!queue) this.queues.set(name, (queue = { name, bindings: [], ready: [], inFlight: 0 }));
    for (const binding of bindings) if (!queue.bindings.includes(binding)) queue.bindings.push(binding);
    return queue;
  }

  private pump(queue: QueueState): void {
    while (queue.handler && queue.spec && queue.inFlight < queue.spec.prefetch && queue.ready.length > 0) {
      const delivery = queue.ready.shift()!;
      queue.inFlight++;
      const { handler, spec } = queue;
      // Hand over asynchronously, as a broker would: the publisher never runs the consumer's code.
      setImmediate(() => {
        handler(delivery).then(
          () => this.settle(queue),
          (err: unknown) => {
            this.fail(spec, delivery, err);
            this.settle(queue);
          },
        );
      });
    }
  }

  private settle(queue: QueueState): void {
    queue.inFlight--;
    if (queue.inFlight === 0 && queue.idle) {
      queue.idle();
      queue.idle = undefined;
    }
    this.pump(queue);
  }

  private fail(spec: QueueSpec, delivery: Delivery, err: unknown): void {
    if (this.closed) return;
    const reason = err instanceof Error ? err.message : String(err);
    if (err instanceof PermanentError || delivery.attempt >= spec.maxAttempts) {
      const dlq = this.declare(spec.deadLetterQueue, []);
      dlq.ready.push({
        ...delivery,
        queue: dlq.name,
        headers: { ...delivery.headers, [DEAD_LETTER_REASON_HEADER]: reason.slice(0, 500), [SOURCE_QUEUE_HEADER]: spec.name },
      });
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const queue = this.queues.get(spec.name);
      if (!queue || this.closed) return;
      queue.ready.push({ ...delivery, attempt: delivery.attempt + 1 });
      this.pump(queue);
    }, retryDelay(spec, delivery.attempt));
    this.timers.add(timer);
  }
}
