// The benchmark's side of RabbitMQ (each scenario has a virtual host of its own: test/support/vhost.ts): clearing
// what a crashed run left, and a tap: an exclusive queue of the benchmark's own, bound to routing keys, that
// timestamps events as they come out of the mesh without asking any service.
import { type Channel, type ChannelModel, connect, type ConsumeMessage } from 'amqplib';
import { EXCHANGE } from '../../services/platform/bus/bus.js';
import { rabbitmqctl } from '../../test/support/vhost.js';

const PREFIX = 'pulse-bench-';

/** This run's virtual hosts: `pulse-bench-<pid>-<unique>`, so a run can tell its own from a live neighbour's. */
export const VHOST_PREFIX = `${PREFIX}${process.pid}-`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the vhosts crashed earlier runs left behind: those of processes no longer running. A run going on
 * beside this one (another bench, a CI smoke) keeps its vhosts; deleting them would drop its connections.
 */
export async function removeStaleVhosts(): Promise<void> {
  const out = await rabbitmqctl('--quiet', 'list_vhosts', '--no-table-headers').catch(() => '');
  for (const line of out.split('\n')) {
    const name = line.trim();
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(PREFIX.length))?.[1]);
    if (Number.isInteger(pid) && alive(pid)) continue;
    await rabbitmqctl('delete_vhost', name).catch(() => undefined);
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

export interface CountingTap {
  /** Messages routed through the exchange since the tap opened. */
  count(): number;
  close(): Promise<void>;
}

/**
 * Counts every message routed through the services' exchange, as the broker routes it (a queue bound to `#`).
 * It costs the broker a copy of each message, so it runs only outside the measured phases.
 */
export async function openCountingTap(url: string): Promise<CountingTap> {
  let count = 0;
  const tap = await openTap(url, ['#'], () => count++, Date.now);
  return { count: () => count, close: () => tap.close() };
}
