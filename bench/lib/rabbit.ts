// The benchmark's side of RabbitMQ (each scenario has a virtual host of its own: test/support/vhost.ts): clearing
// what a crashed run left, and a tap: an exclusive queue of the benchmark's own, bound to routing keys, that
// timestamps events as they come out of the mesh without asking any service.
import { type Channel, type ChannelModel, connect, type ConsumeMessage } from 'amqplib';
import { EXCHANGE } from '../../services/platform/bus/bus.js';
import { rabbitmqctl } from '../../test/support/vhost.js';

/** Removes vhosts a crashed earlier run left behind (they all start with the benchmark's prefix). */
export async function removeStaleVhosts(prefix: string): Promise<void> {
  const out = await rabbitmqctl('--quiet', 'list_vhosts', '--no-table-headers').catch(() => '');
  for (const line of out.split('\n')) {
    const name = line.trim();
    if (name.startsWith(prefix)) await rabbitmqctl('delete_vhost', name).catch(() => undefined);
  }
}

export interface Tap {
  close(): Promise<void>;
}

/**
 * Consumes copies of the events with these routing keys from an exclusive, auto-deleted queue (no ack: the
 * copies are the benchmark's, nothing depends on them).
 */
export async function openTap(url: string, routingKeys: string[], onMessage: (message: ConsumeMessage, arrivedAt: number) => void, now: () => number): Promise<Tap> {
  const connection: ChannelModel = await connect(url);
  connection.on('error', () => {});
  const channel: Channel = await connection.createChannel();
  await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
  for (const key of routingKeys) await channel.bindQueue(queue, EXCHANGE, key);
  await channel.consume(queue, (message) => message && onMessage(message, now()), { noAck: true });
  return {
    async close() {
      await connection.close().catch(() => {});
    },
  };
}
