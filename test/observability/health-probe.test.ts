// The readiness probe as Kubernetes runs it: grpc-health-probe (v0.4.63 from tools/grpc-health-probe/go.mod) calls
// grpc.health.v1.Health/Check with the empty service name, which is what the native `grpc:` probe of tilt/ does too.
//   - plaintext: the six services as processes on RabbitMQ answer SERVING; when their broker goes away (their
//     virtual host is deleted) every one answers NOT_SERVING, and SERVING again once it is back;
//   - TLS: the six services with a certificate (docs/security.md) answer SERVING to the probe with -tls and the CA,
//     refuse a plaintext probe, and ingestion and notification answer NOT_SERVING when their peer preference is down.
// tilt/ probes readiness the same way, natively over gRPC on each service's port (checked in test/ops/containers.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mesh, startMesh } from '../../services/all-in-one/mesh.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/platform/catalog.js';
import { hasOpenssl, selfSignedCert, tempDir } from '../access/support.js';
import { type IsolatedMesh, startIsolatedMesh } from '../mesh/support.js';
import { describeBroker } from '../support/broker.js';
import { until } from '../support/poll.js';
import { addVhost, rabbitmqctl } from '../support/vhost.js';
import { describeWithTools, runTool } from './tools.js';

/** grpc-health-probe's exit codes: 0 SERVING, 2 connection failed, 4 the service answered something other than SERVING. */
const EXIT = { SERVING: 0, CONNECTION_FAILURE: 2, UNHEALTHY: 4 } as const;

/** One probe, as a kubelet would run it (its readiness checks wait up to 1 s each, so the RPC gets 5 s). */
function probe(port: number, tls?: { caFile: string }) {
  const args = [`-addr=${tls ? 'localhost' : '127.0.0.1'}:${port}`, '-connect-timeout=3s', '-rpc-timeout=5s'];
  if (tls) args.push('-tls', `-tls-ca-cert=${tls.caFile}`);
  return runTool('grpc-health-probe', args, 15_000);
}

async function expectProbe(name: ServiceName, port: number, code: number, text: string, tls?: { caFile: string }): Promise<void> {
  const answer = await until(
    `${name}: grpc-health-probe exits ${code}`,
    async () => {
      const result = await probe(port, tls);
      return result.code === code && result;
    },
    { timeout: 30_000, interval: 500 },
  );
  expect(answer.output, name).toContain(text);
}

describeWithTools('grpc-health-probe against the services', ['grpc-health-probe'], () => {
  describeBroker('plaintext, six processes on RabbitMQ', () => {
    let env: IsolatedMesh;

    beforeAll(async () => {
      env = await startIsolatedMesh();
    }, 180_000);

    afterAll(() => env?.stop(), 60_000);

    it('answers SERVING when ready, NOT_SERVING while the broker is gone, SERVING once it is back', async () => {
      for (const name of SERVICE_NAMES) await expectProbe(name, env.mesh.ports[name], EXIT.SERVING, 'status: SERVING');

      await rabbitmqctl('delete_vhost', env.vhost);
      for (const name of SERVICE_NAMES) await expectProbe(name, env.mesh.ports[name], EXIT.UNHEALTHY, 'NOT_SERVING');

      await addVhost(env.vhost);
      for (const name of SERVICE_NAMES) await expectProbe(name, env.mesh.ports[name], EXIT.SERVING, 'status: SERVING');
    }, 180_000);
  });

  describe.skipIf(!hasOpenssl())('TLS, the six services with a certificate', () => {
    let mesh: Mesh;
    let caFile = '';
    const port = (name: ServiceName) => Number(new URL(mesh.urls[name]).port);

    beforeAll(async () => {
      const cert = selfSignedCert(tempDir('pulse-probe-tls-'));
      caFile = cert.certFile;
      mesh = await startMesh({
        ports: 'free',
        env: {
          ...process.env,
          PULSE_API_TOKENS: undefined,
          LOG_LEVEL: 'silent',
          PULSE_TLS_CERT_FILE: cert.certFile,
          PULSE_TLS_KEY_FILE: cert.keyFile,
          PULSE_TLS_CA_FILE: cert.certFile,
        },
      });
    }, 120_000);

    afterAll(() => mesh?.stop(), 60_000);

    it('answers SERVING over TLS, refuses a plaintext probe, and NOT_SERVING when a peer is down', async () => {
      for (const name of SERVICE_NAMES) await expectProbe(name, port(name), EXIT.SERVING, 'status: SERVING', { caFile });
      const plain = await probe(port('status'));
      expect(plain.code, plain.output).toBe(EXIT.CONNECTION_FAILURE);

      // ingestion and notification need preference (catalog peers); status does not.
      await mesh.services.preference.stop();
      for (const name of ['ingestion', 'notification'] as const) await expectProbe(name, port(name), EXIT.UNHEALTHY, 'NOT_SERVING', { caFile });
      await expectProbe('status', port('status'), EXIT.SERVING, 'status: SERVING', { caFile });
    }, 120_000);
  });
});
