// Publishing over one confirm channel per connection.
//
// A publish resolves once the broker confirmed it and rejects when the broker nacks it. Policies:
// - Unroutable: every publish is `mandatory`. An event that no queue is bound for comes back as a `return`; it is
//   counted (pulse_events_unroutable_total) and logged with its routing key, and the publish still resolves, because
//   an event nobody subscribes to yet is legitimate. Moving a message to a named queue (retry, DLQ, replay) passes
//   `mustRoute`, and then a return rejects the publish, since the message would otherwise vanish.
// - Back-pressure: when `channel.publish` returns false the socket buffer is full, and every later publish waits
//   for `drain`; so memory is bounded by the callers awaiting their publish, nothing is buffered on their behalf.
// - Connection loss: nothing is buffered across a reconnect. While disconnected a publish rejects at once, and a
//   publish whose confirm was outstanding when the channel died rejects too (the message may or may not have
//   reached the broker). The caller owns the retry: the outbox keeps the row unsent and publishes it again after
//   the reconnect, and a consumer's retry/DLQ move leaves its original unacknowledged, so the broker redelivers it.
//   Either way nothing is lost, and the possible duplicate is absorbed by the consumers' inboxes.
import type { ChannelModel, ConfirmChannel, Message, Options } from 'amqplib';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { EXCHANGE } from './bus.js';
import { declareExchange } from './rabbitmq-topology.js';

/** The broker is unreachable right now; publish again later. */
export class BusUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BusUnavailableError';
  }
}

interface InFlight {
  exchange: string;
  routingKey: string;
  messageId: string | undefined;
  returned: boolean;
}

export class Publisher {
  private channel: ConfirmChannel | undefined;
  private readonly inFlight = new Set<InFlight>();
  private drained: Promise<void> | undefined;

  constructor(private readonly deps: { log: Logger; metrics: Metrics; onChannelLost: () => void }) {}

  async attach(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    channel.on('error', (err: Error) => this.deps.log.warn({ err }, 'publish channel error'));
    channel.on('return', (message: Message) => this.onReturn(message));
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      this.deps.onChannelLost();
    });
    try {
      await declareExchange(channel);
    } catch (err) {
      await channel.close().catch(() => {});
      throw err;
    }
    this.channel = channel;
  }

  async publish(exchange: string, routingKey: string, content: Uint8Array, options: Options.Publish, mustRoute = false): Promise<void> {
    while (this.drained) await this.drained;
    const channel = this.channel;
    if (!channel) throw new BusUnavailableError('not connected to the message broker');
    const body = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
    return new Promise<void>((resolve, reject) => {
      const entry: InFlight = { exchange, routingKey, messageId: options.messageId, returned: false };
      this.inFlight.add(entry);
      const settle = (err: unknown) => {
        this.inFlight.delete(entry);
        // amqplib reports a nack and a channel that closed before confirming alike; both mean "publish again".
        if (err) reject(new Error(`broker did not confirm a publish to ${routingKey}: ${errorMessage(err)}`, { cause: err }));
        else if (entry.returned && mustRoute) reject(new Error(`no queue named ${routingKey}`));
        else resolve();
      };
      try {
        if (!channel.publish(exchange, routingKey, body, options, settle)) void this.waitForDrain(channel);
      } catch (err) {
        // Thrown before amqplib registered the confirm callback (channel closing, oversized headers).
        settle(err);
      }
    });
  }

  /** Waits for outstanding confirms, then closes the channel. */
  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = undefined;
    if (!channel) return;
    await channel.waitForConfirms().catch(() => {});
    await channel.close().catch(() => {});
  }

  private waitForDrain(channel: ConfirmChannel): Promise<void> {
    this.drained ??= new Promise<void>((resolve) => {
      const done = () => {
        channel.off('drain', done);
        channel.off('close', done);
        this.drained = undefined;
        resolve();
      };
      channel.on('drain', done);
      channel.on('close', done);
    });
    return this.drained;
  }

  /** A return always arrives before the confirm of the same message, so the match is among those in flight. */
  private onReturn(message: Message): void {
    const { exchange, routingKey } = message.fields;
    const messageId: unknown = message.properties.messageId;
    for (const entry of this.inFlight) {
      if (!entry.returned && entry.exchange === exchange && entry.routingKey === routingKey && entry.messageId === messageId) {
        entry.returned = true;
        break;
      }
    }
    if (exchange !== EXCHANGE) return;
    this.deps.metrics.eventsUnroutable.inc({ routing_key: routingKey });
    this.deps.log.warn({ routing_key: routingKey, message_id: messageId }, 'event published with no queue bound for its routing key');
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
