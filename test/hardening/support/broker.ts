// RabbitMQ helpers for the hardening tests, scoped to one virtual host (the isolated mesh's): what is bound to the
// events exchange, raw publishing as a foreign client would, and draining a dead-letter queue to read its headers.
import { type Channel, type ChannelModel, connect, type Options } from 'amqplib';
import { DEAD_LETTER_REASON_HEADER, EXCHANGE, SOURCE_QUEUE_HEADER } from '../../../services/platform/bus/bus.js';
import { brokerUrl, rabbitmqctl } from '../../support/vhost.js';

export function vhostUrl(vhost: string): string {
  const url = new URL(brokerUrl());
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return url.toString();
}

export interface Binding {
  queue: string;
  routingKey: string;
}

/** Every queue bound to the events exchange in the vhost, with its routing key: what the services consume. */
export async function eventBindings(vhost: string): Promise<Binding[]> {
  const out = await rabbitmqctl('--quiet', 'list_bindings', '-p', vhost, '--no-table-headers', 'source_name', 'destination_name', 'routing_key');
  return out
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\t/))
    .filter(([source]) => source === EXCHANGE)
    .map(([, queue, routingKey]) => ({ queue, routingKey }));
}

export class RawBroker {
  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: Channel,
  ) {}

  static async open(vhost: string): Promise<RawBroker> {
    const connection = await connect(vhostUrl(vhost));
    connection.on('error', () => {});
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => {});
    return new RawBroker(connection, channel);
  }

  /** Publishes to the events exchange and waits for the broker's confirm. */
  async publish(routingKey: string, body: Uint8Array, options: Options.Publish): Promise<void> {
    const channel = this.channel as Channel & { waitForConfirms(): Promise<void> };
    channel.publish(EXCHANGE, routingKey, Buffer.from(body), { persistent: true, ...options });
    await channel.waitForConfirms();
  }

  /** Takes every message now in a queue (acknowledging them): their message ids and dead-letter headers. */
  async drain(queue: string): Promise<DeadLetter[]> {
    const taken: DeadLetter[] = [];
    for (let i = 0; i < 10_000; i++) {
      const message = await this.channel.get(queue, { noAck: true });
      if (!message) break;
      const headers = message.properties.headers ?? {};
      taken.push({
        messageId: typeof message.properties.messageId === 'string' ? message.properties.messageId : '',
        reason: String(headers[DEAD_LETTER_REASON_HEADER] ?? ''),
        sourceQueue: String(headers[SOURCE_QUEUE_HEADER] ?? ''),
        bytes: message.content.length,
      });
    }
    return taken;
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => {});
  }
}

export interface DeadLetter {
  messageId: string;
  reason: string;
  sourceQueue: string;
  bytes: number;
}
