import { createClient, createRouterTransport } from '@connectrpc/connect';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { StatusService } from '../../../gen/pulse/status/v1/status_service_pb.js';
import { type TestPlatform, testPlatform } from '../../../test/support/platform.js';
import { failureOf } from '../../../test/support/rejection.js';
import { asCaller } from '../../platform/access.js';
import { fullAccessCaller } from '../../platform/auth.js';
import { EndpointsRepository } from './endpoints.js';
import { webhookHandlers } from './handlers.js';
import { MessagesRepository } from './messages.js';
import { secretKey } from './signature.js';

let platform: TestPlatform;

beforeEach(async () => {
  platform = await testPlatform('status');
});

afterEach(() => platform.close());

function api(settings = { allowHttp: false, allowPrivate: false }) {
  const handlers = webhookHandlers({
    store: platform.store,
    endpoints: new EndpointsRepository(platform.store),
    messages: new MessagesRepository(platform.store, 60),
    settings: { ...settings, maxAttempts: 3, backoffMs: 10, maxBackoffMs: 100, timeoutMs: 100, pollMs: 10 },
  });
  const router = { interceptors: [asCaller(fullAccessCaller('billing'))] };
  return createClient(StatusService, createRouterTransport((r) => r.service(StatusService, handlers), { router }));
}

it('refuses endpoints that would reach inside the network: http, loopback, link-local, private, even by name', async () => {
  const strict = api();
  expect(await failureOf(strict.createWebhookEndpoint({ endpoint: { url: 'http://hooks.example.com/x' } }))).toContain('endpoint.url: must be an https URL');
  for (const url of ['https://127.0.0.1/x', 'https://localhost/x', 'https://169.254.169.254/latest', 'https://[::1]/x', 'https://10.0.0.8/x']) {
    expect(await failureOf(strict.createWebhookEndpoint({ endpoint: { url } })), url).toMatch(/^InvalidArgument: endpoint\.url: address .* is not public/);
  }
  expect((await strict.listWebhookEndpoints({})).endpoints).toEqual([]);
});

it('registers an endpoint with a new secret returned once, lists it without the secret, and removes it', async () => {
  const open = api({ allowHttp: true, allowPrivate: true });
  const created = await open.createWebhookEndpoint({ endpoint: { url: 'http://127.0.0.1:9/hooks', notificationTypes: ['invoice.overdue', 'invoice.overdue'] } });
  expect(secretKey(created.secret)).toHaveLength(32);
  expect(created.endpoint).toMatchObject({ url: 'http://127.0.0.1:9/hooks', notificationTypes: ['invoice.overdue'], createdBy: 'billing' });
  const { endpoints } = await open.listWebhookEndpoints({});
  expect(endpoints.map((e) => e.endpointId)).toEqual([created.endpoint!.endpointId]);
  expect(JSON.stringify(endpoints, (_key, value) => (typeof value === 'bigint' ? String(value) : value))).not.toContain(created.secret.slice(6));
  expect(await open.deleteWebhookEndpoint({ endpointId: created.endpoint!.endpointId })).toMatchObject({ droppedMessages: 0 });
  expect(await failureOf(open.deleteWebhookEndpoint({ endpointId: created.endpoint!.endpointId }))).toMatch(/^NotFound: there is no webhook endpoint/);
});

it('asks for dead letters named or by endpoint, not both', async () => {
  const open = api({ allowHttp: true, allowPrivate: true });
  expect(await failureOf(open.replayWebhookDeadLetters({}))).toContain('message_ids: name dead letters, or set endpoint_id instead');
  expect(await failureOf(open.replayWebhookDeadLetters({ messageIds: ['msg_1'], endpointId: 'whe_1' }))).toContain('not both');
  expect(await open.replayWebhookDeadLetters({ messageIds: ['msg_1'] })).toMatchObject({ replayed: 0 });
});
