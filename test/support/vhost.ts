// RabbitMQ administration for tests and the benchmark: the broker URL, rabbitmqctl, and a private virtual host
// per test file or scenario, so parallel runs never share queues. No vitest here: the benchmark imports it too.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

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
  /** The broker URL with this virtual host. */
  url: string;
  /** Messages per queue. */
  queueDepths(): Promise<Record<string, number>>;
  /** Forcibly closes every connection to the virtual host (its clients must reconnect). */
  closeConnections(reason: string): Promise<void>;
  remove(): Promise<void>;
}

/** Adds the virtual host `name` (again, after a test removed it) with the broker user's full permissions on it. */
export async function addVhost(name: string): Promise<void> {
  await rabbitmqctl('add_vhost', name);
  const user = decodeURIComponent(new URL(brokerUrl()).username || 'guest');
  await rabbitmqctl('set_permissions', '-p', name, user, '.*', '.*', '.*');
}

/** A new virtual host named `<prefix><unique>`, with the broker user's full permissions on it. */
export async function createVhost(prefix: string): Promise<Vhost> {
  const name = `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  await addVhost(name);
  const url = new URL(brokerUrl());
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
    async closeConnections(reason) {
      await rabbitmqctl('close_all_connections', '--vhost', name, '--limit', '1000', reason);
    },
    async remove() {
      await rabbitmqctl('delete_vhost', name).catch(() => undefined);
    },
  };
}
