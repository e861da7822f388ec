// One consumer per QueueSpec, on its own channel (so its prefetch and any channel error stay its own). Re-attached
// to every new connection by the bus.
//
// A message is acknowledged only after its handler resolved. When the handler fails, the message is first
// published (with confirm) to a retry queue with attempt + 1, or to the DLQ with the reason, and only then is the
// original acknowledged: a crash in between leaves a duplicate, never a loss, and consumers are idempotent.
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

export class RabbitConsumer {
  private channel: Channel | undefined;
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
      const { consumerTag } = await channel.consume(this.spec.name, (message) => this.onMessage(channel, message), { noAck: false });
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
    this.channel = undefined;
    await channel.close().catch(() => {});
  }

  private whenIdle(): Promise<void> {
    return this.inHand === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.idle = resolve));
  }

  private onMessage(channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us, e.g. the queue was deleted. Closing the channel makes the bus re-attach, which
      // declares the queue again.
      this.deps.log.warn({ queue: this.spec.name }, 'broker cancelled the consumer; re-declaring the queue');
      void channel.close().catch(() => {});
      return;
    }
    this.inHand++;
    void this.process(channel, message).finally(() => {
      if (--this.inHand === 0) this.idle?.();
    });
  }

  private async process(channel: Channel, message: ConsumeMessage): Promise<void> {
    const delivery = readDelivery(message, this.spec.name);
    if (!delivery.id) {
      this.deps.metrics.eventsConsumed.inc({ queue: this.spec.name, outcome: 'dead_lettered' });
      this.deps.log.warn({ queue: this.spec.name, routing_key: delivery.routingKey }, 'message without message_id; dead-lettering');
      await this.forward(channel, message, delivery, this.spec.deadLetterQueue, this.deadLetterHeaders(delivery, 'message has no message_id'));
      return;
    }
    try {
      await this.handler(delivery);
    } catch (err) {
      if (err instanceof PermanentError || delivery.attempt >= this.spec.maxAttempts) {
        const reason = err instanceof Error ? err.message : String(err);
        await this.forward(channel, message, delivery, this.spec.deadLetterQueue, this.deadLetterHeaders(delivery, reason));
      } else {
        const retry = retryTarget(this.spec, delivery.attempt);
        await this.forward(channel, message, delivery, retry.queue, { [ATTEMPT_HEADER]: delivery.attempt + 1 }, retry.expirationMs);
      }
      return;
    }
    settle(channel, message, 'ack');
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
    message: ConsumeMessage,
    delivery: Delivery,
    queue: string,
    headers: InternalHeaders,
    expirationMs?: number,
  ): Promise<void> {
    try {
      const options = { ...forwardOptions(delivery, headers), expiration: expirationMs };
      await this.deps.publisher.publish('', queue, message.content, options, true);
      settle(channel, message, 'ack');
    } catch (err) {
      this.deps.log.error({ err, queue: this.spec.name, next_queue: queue, event_id: delivery.id }, 'could not move a failed message; requeueing it');
      // Restores a retry queue or DLQ that was deleted under us (a no-op otherwise, or if the channel is gone).
      await declareConsumerTopology(channel, this.spec).catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, REQUEUE_PAUSE_MS));
      settle(channel, message, 'requeue');
    }
  }
}

/** A closed channel cannot ack, and need not: the broker requeues every unacknowledged message of a closed channel. */
function settle(channel: Channel, message: ConsumeMessage, how: 'ack' | 'requeue'): void {
  try {
    if (how === 'ack') channel.ack(message);
    else channel.nack(message, false, true);
  } catch {
    // channel closed: see above
  }
}
