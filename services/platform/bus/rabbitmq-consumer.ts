// One consumer per QueueSpec, on its own channel (so its prefetch and any channel error stay its own). Re-attached
// to every new connection by the bus.
//
// A message is acknowledged only after its handler resolved. When the handler fails, the message is first
// published (with confirm) to a retry queue with attempt + 1, or to the DLQ with the reason, and only then is the
// original acknowledged: a crash in between leaves a duplicate, never a loss, and consumers are idempotent.
//
// Acknowledgements settled in the same turn of the event loop go out together (Acks): the longest run of settled
// deliveries at the head of the channel's unacknowledged ones as one `multiple` ack, the others one by one. The
// broker then handles one ack for a run instead of one per message; nothing is acknowledged earlier than before.
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import {
  ATTEMPT_HEADER,
  DEAD_LETTER_REASON_HEADER,
  type Delivery,
  type MessageHandler,
  PermanentError,
  type QueueSpec,
  SOURCE_QUEUE_HEADER,
} from './bus.js';
import { forwardOptions, type InternalHeaders, readDelivery } from './rabbitmq-message.js';
import type { Publisher } from './rabbitmq-publisher.js';
import { declareConsumerTopology, retryTarget } from './rabbitmq-topology.js';

const MAX_REASON_LENGTH = 500;
/** Pause before handing back a message that could not be moved, so a persistent failure does not spin. */
const REQUEUE_PAUSE_MS = 1_000;

export interface ConsumerDeps {
  publisher: Publisher;
  log: Logger;
  metrics: Metrics;
  /** The consumer's channel closed while it was still wanted; the bus re-attaches it. */
  onChannelLost: (consumer: RabbitConsumer) => void;
}

/** The deliveries of one channel not yet acknowledged, and the acks settled since the last flush. */
export class Acks {
  /** Delivered and not yet acknowledged nor requeued, in delivery (tag) order. */
  private readonly open: ConsumeMessage[] = [];
  private readonly settled = new Set<ConsumeMessage>();
  private scheduled = false;

  constructor(
    private readonly channel: Pick<Channel, 'ack'>,
    private readonly schedule: (flush: () => void) => void = (flush) => setImmediate(flush),
  ) {}

  delivered(message: ConsumeMessage): void {
    this.open.push(message);
  }

  ack(message: ConsumeMessage): void {
    this.settled.add(message);
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** A delivery settled otherwise (requeued): no ack may cover it. */
  forget(message: ConsumeMessage): void {
    const at = this.open.indexOf(message);
    if (at >= 0) this.open.splice(at, 1);
    this.settled.delete(message);
  }

  flush(): void {
    if (this.settled.size === 0) return;
    let run = 0;
    while (run < this.open.length && this.settled.has(this.open[run])) run++;
    try {
      if (run > 0) {
        // `multiple`: every unacknowledged delivery up to this one, which are exactly the run.
        this.channel.ack(this.open[run - 1], run > 1);
        for (let i = 0; i < run; i++) this.settled.delete(this.open[i]);
        this.open.splice(0, run);
      }
      for (const message of this.settled) {
        this.channel.ack(message, false);
        this.forget(message);
      }
    } catch {
      // channel closed: the broker requeues every unacknowledged message of a closed channel
    }
    this.settled.clear();
  }
}

export class RabbitConsumer {
  private channel: Channel | undefined;
  private readonly acksOf = new WeakMap<Channel, Acks>();
  private consumerTag: string | undefined;
  /** The connection this consumer is attached (or attaching) to. */
  private attached: { model: ChannelModel; done: Promise<void> } | undefined;
  private inHand = 0;
  private idle: (() => void) | undefined;
  private cancelling: Promise<void> | undefined;

  constructor(
    readonly spec: QueueSpec,
    private readonly handler: MessageHandler,
    private readonly deps: ConsumerDeps,
  ) {}

  /** Declares the topology and consumes on a fresh channel of model; once per connection, whoever asks. */
  attach(model: ChannelModel): Promise<void> {
    if (this.attached?.model === model) return this.attached.done;
    const done = this.open(model);
    this.attached = { model, done };
    done.catch(() => {
      if (this.attached?.done === done) this.attached = undefined;
    });
    return done;
  }

  private async open(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (err: Error) => this.deps.log.warn({ err, queue: this.spec.name }, 'consumer channel error'));
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      this.consumerTag = undefined;
      this.attached = undefined;
      if (!this.cancelling) this.deps.onChannelLost(this);
    });
    try {
      await declareConsumerTopology(channel, this.spec);
      await channel.prefetch(this.spec.prefetch);
      const acks = new Acks(channel);
      this.acksOf.set(channel, acks);
      const { consumerTag } = await channel.consume(this.spec.name, (message) => this.onMessage(channel, acks, message), { noAck: false });
      this.channel = channel;
      this.consumerTag = consumerTag;
    } catch (err) {
      await channel.close().catch(() => {});
      throw err;
    }
    // Cancelled while attaching (e.g. close() during a reconnect): let go again.
    if (this.cancelling) await this.release(channel, this.consumerTag);
  }

  /** Stops taking messages, waits for the ones in hand, then closes the channel. */
  cancel(): Promise<void> {
    this.cancelling ??= (async () => {
      const channel = this.channel;
      if (channel) await this.release(channel, this.consumerTag);
      else await this.whenIdle();
    })();
    return this.cancelling;
  }

  private async release(channel: Channel, tag: string | undefined): Promise<void> {
    if (tag) await channel.cancel(tag).catch(() => {});
    await this.whenIdle();
    this.acksOf.get(channel)?.flush(); // before the close, which would requeue what is not acknowledged yet
    this.channel = undefined;
    await channel.close().catch(() => {});
  }

  private whenIdle(): Promise<void> {
    return this.inHand === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.idle = resolve));
  }

  private onMessage(channel: Channel, acks: Acks, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us, e.g. the queue was deleted. Closing the channel makes the bus re-attach, which
      // declares the queue again.
      this.deps.log.warn({ queue: this.spec.name }, 'broker cancelled the consumer; re-declaring the queue');
      void channel.close().catch(() => {});
      return;
    }
    this.inHand++;
    acks.delivered(message);
    void this.process(channel, acks, message).finally(() => {
      if (--this.inHand === 0) this.idle?.();
    });
  }

  private async process(channel: Channel, acks: Acks, message: ConsumeMessage): Promise<void> {
    const delivery = readDelivery(message, this.spec.name);
    if (!delivery.id) {
      this.deps.metrics.eventsConsumed.inc({ queue: this.spec.name, outcome: 'dead_lettered' });
      this.deps.log.warn({ queue: this.spec.name, routing_key: delivery.routingKey }, 'message without message_id; dead-lettering');
      await this.forward(channel, acks, message, delivery, this.spec.deadLetterQueue, this.deadLetterHeaders(delivery, 'message has no message_id'));
      return;
    }
    try {
      await this.handler(delivery);
    } catch (err) {
      if (err instanceof PermanentError || delivery.attempt >= this.spec.maxAttempts) {
        const reason = err instanceof Error ? err.message : String(err);
        await this.forward(channel, acks, message, delivery, this.spec.deadLetterQueue, this.deadLetterHeaders(delivery, reason));
      } else {
        const retry = retryTarget(this.spec, delivery.attempt);
        await this.forward(channel, acks, message, delivery, retry.queue, { [ATTEMPT_HEADER]: delivery.attempt + 1 }, retry.expirationMs);
      }
      return;
    }
    acks.ack(message);
  }

  private deadLetterHeaders(delivery: Delivery, reason: string): InternalHeaders {
    return {
      [DEAD_LETTER_REASON_HEADER]: reason.slice(0, MAX_REASON_LENGTH),
      [SOURCE_QUEUE_HEADER]: this.spec.name,
      [ATTEMPT_HEADER]: delivery.attempt,
    };
  }

  /** Moves a message to queue (confirmed), then acks the original; on failure the original goes back. */
  private async forward(
    channel: Channel,
    acks: Acks,
    message: ConsumeMessage,
    delivery: Delivery,
    queue: string,
    headers: InternalHeaders,
    expirationMs?: number,
  ): Promise<void> {
    try {
      const options = { ...forwardOptions(delivery, headers), expiration: expirationMs };
      await this.deps.publisher.publish('', queue, message.content, options, true);
      acks.ack(message);
    } catch (err) {
      this.deps.log.error({ err, queue: this.spec.name, next_queue: queue, event_id: delivery.id }, 'could not move a failed message; requeueing it');
      // Restores a retry queue or DLQ that was deleted under us (a no-op otherwise, or if the channel is gone).
      await declareConsumerTopology(channel, this.spec).catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, REQUEUE_PAUSE_MS));
      acks.forget(message);
      requeue(channel, message);
    }
  }
}

/** A closed channel cannot nack, and need not: the broker requeues every unacknowledged message of a closed channel. */
function requeue(channel: Channel, message: ConsumeMessage): void {
  try {
    channel.nack(message, false, true);
  } catch {
    // channel closed: see above
  }
}
