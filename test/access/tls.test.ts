// TLS on every port: the whole mesh runs with a self-signed certificate made at test time (openssl), peers call
// each other over https trusting PULSE_TLS_CA_FILE, and one port serves HTTPS HTTP/1.1 (Connect JSON, by ALPN),
// HTTP/2 (Connect) and a stock gRPC client with TLS credentials. Plaintext and untrusting clients are refused.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestionService } from '../../gen/pulse/ingestion/v1/ingestion_service_pb.js';
import { NotificationService } from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { StatusService } from '../../gen/pulse/status/v1/status_service_pb.js';
import { type Mesh, startMesh } from '../../services/all-in-one/mesh.js';
import { ConfigError, EnvReader } from '../../services/platform/config.js';
import { readTlsConfig } from '../../services/platform/tls.js';
import { until } from '../support/poll.js';
import { rejectionOf } from '../support/rejection.js';
import { stockGrpcClients } from '../support/grpc-js.js';
import { h2Request, hasOpenssl, selfSignedCert, tempDir } from './support.js';
import { bearer } from '../../services/platform/peers.js';

const OPENSSL = hasOpenssl();
if (!OPENSSL) console.warn('test/access/tls: skipped, openssl is not on the PATH (it makes the test certificate)');

let dir = '';
let cert = { certFile: '', keyFile: '' };
let ca = '';
let mesh: Mesh;

const message = (id: string) => ({ messageId: id, conversationId: 'tls-c-1', customerId: 'cust-1', author: 'AUTHOR_CUSTOMER', text: 'hello over tls' });

function httpsRequest(
  url: string,
  options: https.RequestOptions,
  body?: string,
): Promise<{ status: number; body: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, options, (res) => {
      const alpn = (res.socket as import('node:tls').TLSSocket).alpnProtocol ?? null;
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (data += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data, alpn }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe.skipIf(!OPENSSL)('TLS', () => {
  beforeAll(async () => {
    dir = tempDir('pulse-tls-');
    cert = selfSignedCert(dir);
    ca = readFileSync(cert.certFile, 'utf8');
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
  });

  afterAll(() => mesh?.stop());

  it('gives every service an https URL, and peers reach each other over https (readiness)', async () => {
    for (const url of Object.values(mesh.urls)) expect(url).toMatch(/^https:\/\/localhost:\d+$/);
    for (const name of ['ingestion', 'notification'] as const) {
      const res = await httpsRequest(`${mesh.urls[name]}/readyz`, { ca });
      expect(res.status, res.body).toBe(200);
      expect(JSON.parse(res.body).checks['peer:preference']).toBe('ok');
    }
  });

  it('serves Connect JSON over HTTPS HTTP/1.1 (ALPN http/1.1)', async () => {
    const res = await httpsRequest(
      `${mesh.urls.ingestion}/pulse.ingestion.v1.IngestionService/SubmitInteraction`,
      { method: 'POST', agent: new https.Agent({ ca, ALPNProtocols: ['http/1.1'] }), headers: { 'content-type': 'application/json', authorization: `Bearer ${mesh.token}` } },
      JSON.stringify(message('tls-h1-1')),
    );
    expect([res.status, res.alpn]).toEqual([200, 'http/1.1']);
    expect(JSON.parse(res.body)).toMatchObject({ interaction: { messageId: 'tls-h1-1' } });
    const none = await httpsRequest(`${mesh.urls.ingestion}/healthz`, { ca });
    expect(none.status).toBe(200); // a client that offers no ALPN gets HTTP/1.1
  });

  it('serves Connect over HTTP/2 with TLS (ALPN h2)', async () => {
    const res = await h2Request(
      mesh.urls.ingestion,
      '/pulse.ingestion.v1.IngestionService/SubmitInteraction',
      { 'content-type': 'application/json', authorization: `Bearer ${mesh.token}` },
      Buffer.from(JSON.stringify(message('tls-h2-1'))),
      { ca },
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toMatchObject({ interaction: { messageId: 'tls-h2-1' } });
  });

  it('serves a stock gRPC client with TLS credentials, with auth and health', async () => {
    const { ingestion: client, health, call, close } = stockGrpcClients(mesh.urls.ingestion.replace('https://', ''), grpc.credentials.createSsl(Buffer.from(ca)));
    const auth = new grpc.Metadata();
    auth.set('authorization', `Bearer ${mesh.token}`);
    try {
      const res = await call<{ interaction: { messageId: string } }>(client, 'submitInteraction', message('tls-grpc-1'), auth);
      expect(res.interaction.messageId).toBe('tls-grpc-1');
      await expect(call(client, 'getInteraction', { messageId: 'tls-grpc-1' })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
      expect(await call<{ status: string }>(health, 'check', { service: '' })).toEqual({ status: 'SERVING' });
    } finally {
      close();
    }
  });

  it('carries a notification end to end over TLS (notification calls preference ResolveDelivery as itself)', async () => {
    const transport = (baseUrl: string) =>
      createConnectTransport({
        baseUrl,
        httpVersion: '2',
        nodeOptions: { ca },
        interceptors: [bearer(mesh.token)],
      });
    const notification = createClient(NotificationService, transport(mesh.urls.notification));
    const status = createClient(StatusService, transport(mesh.urls.status));
    const ingestion = createClient(IngestionService, transport(mesh.urls.ingestion));
    const { notification: sent } = await notification.sendNotification({
      idempotencyKey: 'tls/1',
      recipient: { target: { case: 'userId', value: 'tls-user' } },
      notificationType: 'tls.test',
      content: { title: 'Encrypted all the way' },
    });
    const item = await until('the in-app item', async () => (await status.listInbox({ userId: 'tls-user' })).items[0]);
    expect(item.notificationId).toBe(sent!.notificationId);
    // RequestAssistance makes ingestion call preference ListTopicRoutes over https.
    const { request } = await ingestion.requestAssistance({ requestId: 'tls-assist-1', topic: 'sales', description: 'Discount?', botId: 'bot-1' });
    expect(request!.requestId).toBe('tls-assist-1');
  });

  it('refuses plaintext on a TLS port, and clients that do not trust the certificate', async () => {
    const plain = mesh.urls.ingestion.replace('https://', 'http://');
    await expect(fetch(`${plain}/healthz`, { signal: AbortSignal.timeout(3_000) })).rejects.toThrow();
    await expect(httpsRequest(`${mesh.urls.ingestion}/healthz`, {})).rejects.toThrow(/self[- ]signed/i);
    const untrusting = createClient(IngestionService, createConnectTransport({ baseUrl: mesh.urls.ingestion, httpVersion: '2' }));
    const err = await rejectionOf(untrusting.getInteraction({ messageId: 'x' }));
    expect(err.rawMessage).toMatch(/self[- ]signed/i);
  });

  it('checks the TLS settings at start, naming the variable', () => {
    const problems = (env: Record<string, string>) => {
      const reader = new EnvReader(env);
      readTlsConfig(reader);
      try {
        reader.check();
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    const other = selfSignedCert(dir, 'other');
    expect(problems({ PULSE_TLS_CERT_FILE: cert.certFile })).toEqual(['PULSE_TLS_KEY_FILE is required when PULSE_TLS_CERT_FILE is set (TLS needs both)']);
    expect(problems({ PULSE_TLS_KEY_FILE: cert.keyFile })).toEqual(['PULSE_TLS_CERT_FILE is required when PULSE_TLS_KEY_FILE is set (TLS needs both)']);
    expect(problems({ PULSE_TLS_CERT_FILE: cert.certFile, PULSE_TLS_KEY_FILE: other.keyFile })).toEqual([
      'PULSE_TLS_KEY_FILE is not the key of the certificate in PULSE_TLS_CERT_FILE',
    ]);
    expect(problems({ PULSE_TLS_CERT_FILE: cert.keyFile, PULSE_TLS_KEY_FILE: cert.keyFile })).toEqual([
      'PULSE_TLS_CERT_FILE must name a PEM file holding an X.509 certificate',
    ]);
    expect(problems({ PULSE_TLS_CERT_FILE: cert.certFile, PULSE_TLS_KEY_FILE: cert.certFile })).toEqual([
      'PULSE_TLS_KEY_FILE must name a PEM file holding a private key',
    ]);
    expect(problems({ PULSE_TLS_CERT_FILE: join(dir, 'nope.crt'), PULSE_TLS_KEY_FILE: cert.keyFile, PULSE_TLS_CA_FILE: join(dir, 'nope-ca.crt') })).toEqual([
      'PULSE_TLS_CERT_FILE names a file that cannot be read (ENOENT)',
      'PULSE_TLS_CA_FILE names a file that cannot be read (ENOENT)',
    ]);
    expect(problems({ PULSE_TLS_CERT_FILE: cert.certFile, PULSE_TLS_KEY_FILE: cert.keyFile, PULSE_TLS_CA_FILE: cert.certFile })).toEqual([]);
    // Key material never appears in a problem.
    expect(JSON.stringify(problems({ PULSE_TLS_CERT_FILE: cert.keyFile, PULSE_TLS_KEY_FILE: cert.keyFile }))).not.toContain('PRIVATE KEY');
  });
});
