// A private RabbitMQ virtual host per scenario, so the benchmark never shares queues with anyone (tests, other
// runs), and a tap: an exclusive queue of the benchmark's own, bound to routing keys, that timestamps events
// as they come out of the mesh without asking any service.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type Channel, type ChannelModel, connect, type ConsumeMessage } from 'amqplib';
import { EXCHANGE } from '../../services/platform/bus/bus.js';

const run = promisify(execFile);

export function brokerUrl(): string {
  return process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672';
}

export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', args, { timeout: 60_000 });
  return stdout;
}

export interface Vhost {
  name: string;
  url: string;
  /** Messages per queue. */
  queueDepths(): Promise<Record<string, number>>;
  remove(): Promise<void>;
}

export async function createVhost(prefix: string): Promise<Vhost> {
  const name = `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  await rabbitmqctl('add_vhost', name);
  const url = new URL(brokerUrl());
  const user = decodeURIComponent(url.username || 'guest');
  await rabbitmqctl('set_permissions', '-p', name, user, '.*', '.*', '.*');
  url.pathname = `/${encodeURIComponent(name)}`;
  return {
    name,
    url: url.toString(),
    async queueDepths() {
      const out = await rabbitmqctl('--quiet', 'list_queues', '-p', name, '--no-table-headers', 'name', 'messages');
      return Object.fromEntries(
        out
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((line) => {
            const [queue, messages] = line.trim().split(/\s+/);
            return [queue, Number(messages)];
          }),
      );
    },
    async remove() {
      await rabbitmqctl('delete_vhost', name).catch(() => undefined);
    },
  };
}

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
