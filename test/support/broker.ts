// Broker tests run against a real RabbitMQ. Locally they are skipped, visibly, when none is reachable; with
// PULSE_REQUIRE_BROKER=1 (CI) a missing broker fails them instead.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type Channel, connect, type Options, type Replies } from 'amqplib';
import { describe, it } from 'vitest';
import { brokerUrl } from './vhost.js';

export { brokerUrl };

const run = promisify(execFile);


function safeUrl(): string {
  const url = new URL(brokerUrl());
  url.username = url.password = '';
  return url.toString();
}

async function probe(): Promise<string | undefined> {
  try {
    const connection = await connect(brokerUrl(), { timeout: 2_000 });
    connection.on('error', () => {});
    await connection.close();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message || err.name : String(err);
  }
}

/** Why no broker can be used, or undefined when one answered. Probed once per test file. */
const unreachable = await probe();

export function describeBroker(name: string, suite: () => void): void {
  if (!unreachable) {
    describe(name, suite);
    return;
  }
  const why = `no RabbitMQ reachable at ${safeUrl()} (${unreachable})`;
  if (process.env.PULSE_REQUIRE_BROKER === '1') {
    describe(name, () => {
      it('needs a RabbitMQ broker', () => {
        throw new Error(`${why}. PULSE_REQUIRE_BROKER=1 makes this a failure: start one (rabbitmq-server -detached) or set AMQP_URL.`);
      });
    });
    return;
  }
  console.warn(`[broker tests] skipping "${name}": ${why}. Set PULSE_REQUIRE_BROKER=1 to fail instead.`);
  describe.skip(`${name} (skipped: ${why})`, suite);
}

/** A lower-case name unique to this run, usable in queue names and routing keys. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/** Runs fn on a raw channel of its own connection, bypassing the bus under test. */
export async function withRawChannel<T>(fn: (channel: Channel) => Promise<T>): Promise<T> {
  const connection = await connect(brokerUrl());
  connection.on('error', () => {});
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    return await fn(channel);
  } finally {
    await connection.close().catch(() => {});
  }
}

/** Publishes as a foreign client would, with no Pulse properties unless given; resolves once confirmed. */
export async function publishRaw(exchange: string, routingKey: string, content: Buffer, options: Options.Publish = {}): Promise<void> {
  const connection = await connect(brokerUrl());
  connection.on('error', () => {});
  try {
    const channel = await connection.createConfirmChannel();
    channel.publish(exchange, routingKey, content, options);
    await channel.waitForConfirms();
  } finally {
    await connection.close().catch(() => {});
  }
}

/** Message and consumer counts of a queue, or undefined when it does not exist. */
export function queueInfo(queue: string): Promise<Replies.AssertQueue | undefined> {
  return withRawChannel((channel) => channel.checkQueue(queue)).catch(() => undefined);
}

export async function deleteQueues(queues: Iterable<string>): Promise<void> {
  await withRawChannel(async (channel) => {
    for (const queue of queues) await channel.deleteQueue(queue);
  });
}

/** Whether rabbitmqctl can talk to the local broker (needed to force connections closed). */
export async function canUseRabbitmqctl(): Promise<boolean> {
  try {
    await run('rabbitmqctl', ['list_connections', '-q', '--no-table-headers', 'pid']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Forcibly closes, broker side, the connections whose client-provided name is connectionName; returns how many.
 * Targeted rather than close_all_connections, so broker tests running in parallel are not disturbed.
 */
export async function forceCloseConnections(connectionName: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', '-q', '--no-table-headers', 'pid', 'client_properties']);
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(`{"connection_name","${connectionName}"}`))
    .map((line) => line.split('\t')[0]!);
  for (const pid of pids) await run('rabbitmqctl', ['close_connection', pid, 'forced by a Pulse broker test']);
  return pids.length;
}
