// Running the mesh as separate processes on the real RabbitMQ, each test file in a virtual host of its own so
// parallel files never share queues.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessMesh, type ProcessMeshOptions } from '../../services/all-in-one/process-mesh.js';
import type { ServiceName } from '../../services/platform/catalog.js';
import { createVhost } from '../support/vhost.js';

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
  const vhost = await createVhost('pulse-test-');
  const logs: string[] = [];
  // Without MongoDB here, each service journals its embedded store so a killed process comes back with its data.
  const dataDir = mkdtempSync(join(tmpdir(), 'pulse-mesh-'));
  const cleanUp = async () => {
    await vhost.remove();
    rmSync(dataDir, { recursive: true, force: true });
  };
  let mesh: ProcessMesh;
  try {
    mesh = await ProcessMesh.start({
      amqpUrl: vhost.url,
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
    vhost: vhost.name,
    logs,
    queueDepths: () => vhost.queueDepths(),
    dropBrokerConnections: () => vhost.closeConnections('pulse test: broker connection drop'),
    async stop() {
      await mesh.stop();
      await cleanUp();
    },
  };
}
