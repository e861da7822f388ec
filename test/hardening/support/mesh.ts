// The mesh as separate processes on RabbitMQ, in a virtual host of its own, with journalled stores (a killed
// service comes back with its data), like test/mesh/support.ts, but keeping every line the services write (the
// personal-data test searches all of them) and letting a test watch lines as they come.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessMesh } from '../../../services/all-in-one/process-mesh.js';
import type { ServiceName } from '../../../services/platform/catalog.js';
import { brokerUrl, uniqueName } from '../../support/broker.js';
import { rabbitmqctl } from '../../mesh/support.js';

/** Lines kept at most (a runaway log must not exhaust the test's memory). */
const MAX_LINES = 400_000;

export interface BrokerMesh {
  mesh: ProcessMesh;
  vhost: string;
  /** Every line the services wrote, prefixed "<service> | ". */
  lines: string[];
  /** Messages per queue in the vhost. */
  queueDepths(): Promise<Record<string, number>>;
  /** Forcibly closes every broker connection of the mesh (all services reconnect). */
  dropBrokerConnections(): Promise<void>;
  stop(): Promise<void>;
}

export async function startBrokerMesh(env: Record<string, string | undefined> = {}, onLine?: (service: ServiceName, line: string) => void): Promise<BrokerMesh> {
  const vhost = uniqueName('pulse-hardening-');
  await rabbitmqctl('add_vhost', vhost);
  const url = new URL(brokerUrl());
  const user = decodeURIComponent(url.username || 'guest');
  await rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
  url.pathname = `/${encodeURIComponent(vhost)}`;
  const lines: string[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'pulse-hardening-'));
  let mesh: ProcessMesh;
  try {
    mesh = await ProcessMesh.start({
      amqpUrl: url.toString(),
      ports: 'free',
      env: { LOG_LEVEL: 'warn', PULSE_DATA_DIR: dataDir, ...env },
      onLine: (service, line) => {
        if (lines.length < MAX_LINES) lines.push(`${service} | ${line}`);
        onLine?.(service, line);
      },
    });
  } catch (err) {
    await rabbitmqctl('delete_vhost', vhost).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    console.log(`mesh failed to start; last lines:\n${lines.slice(-40).join('\n')}`);
    throw err;
  }
  return {
    mesh,
    vhost,
    lines,
    async queueDepths() {
      const out = await rabbitmqctl('--quiet', 'list_queues', '-p', vhost, '--no-table-headers', 'name', 'messages');
      return Object.fromEntries(
        out
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((line) => {
            const [name, messages] = line.trim().split(/\s+/);
            return [name, Number(messages)];
          }),
      );
    },
    async dropBrokerConnections() {
      await rabbitmqctl('close_all_connections', '--vhost', vhost, '--limit', '1000', 'pulse hardening test: broker connection drop');
    },
    async stop() {
      await mesh.stop();
      await rabbitmqctl('delete_vhost', vhost).catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
