// Running the mesh as separate processes on the real RabbitMQ, each test file in a virtual host of its own so
// parallel files never share queues.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ProcessMesh, type ProcessMeshOptions } from '../../services/all-in-one/process-mesh.js';
import type { ServiceName } from '../../services/platform/catalog.js';
import { brokerUrl, uniqueName } from '../support/broker.js';

const run = promisify(execFile);

export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', args, { timeout: 30_000 });
  return stdout;
}

export interface IsolatedMesh {
  mesh: ProcessMesh;
  vhost: string;
  /** The latest lines the services wrote (at most keepLines), each prefixed "<service> | ". */
  logs: string[];
  /** Messages per queue in the vhost. */
  queueDepths(): Promise<Record<string, number>>;
  /** Forcibly closes every broker connection of the mesh (all services reconnect). */
  dropBrokerConnections(): Promise<void>;
  stop(): Promise<void>;
}

export interface IsolatedMeshOptions {
  /** Lines kept, the latest ones (default 5,000: enough to diagnose; a test searching every line asks for more). */
  keepLines?: number;
}

export async function startIsolatedMesh(env: ProcessMeshOptions['env'] = {}, options: IsolatedMeshOptions = {}): Promise<IsolatedMesh> {
  const keepLines = options.keepLines ?? 5_000;
  const vhost = uniqueName('pulse-test-');
  await rabbitmqctl('add_vhost', vhost);
  const url = new URL(brokerUrl());
  const user = decodeURIComponent(url.username || 'guest');
  await rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
  url.pathname = `/${encodeURIComponent(vhost)}`;
  const logs: string[] = [];
  // Without MongoDB here, each service journals its embedded store so a killed process comes back with its data.
  const dataDir = mkdtempSync(join(tmpdir(), 'pulse-mesh-'));
  const cleanUp = async () => {
    await rabbitmqctl('delete_vhost', vhost).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  };
  let mesh: ProcessMesh;
  try {
    mesh = await ProcessMesh.start({
      amqpUrl: url.toString(),
      ports: 'free',
      env: { LOG_LEVEL: 'warn', PULSE_DATA_DIR: dataDir, ...env },
      onLine: (service: ServiceName, line: string) => {
        logs.push(`${service} | ${line}`);
        if (logs.length > keepLines) logs.shift();
      },
    });
  } catch (err) {
    await cleanUp();
    console.log(`mesh failed to start; last lines:\n${logs.slice(-40).join('\n')}`);
    throw err;
  }
  return {
    mesh,
    vhost,
    logs,
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
      await rabbitmqctl('close_all_connections', '--vhost', vhost, '--limit', '1000', 'pulse test: broker connection drop');
    },
    async stop() {
      await mesh.stop();
      await cleanUp();
    },
  };
}
