// One port, every protocol: Connect JSON over HTTP/1.1, Connect over h2c, a stock gRPC client (@grpc/grpc-js)
// over h2c, gRPC health checks and the plain probes, run against a real service on a free port.
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../services/platform/log.js';
import { type RunningService, startService } from '../../services/platform/service.js';
import { ingestion } from '../../services/ingestion/service.js';
import { stockGrpcClients } from '../support/grpc-js.js';

const TOKEN = 'one-port-test-token-0123456789';
let service: RunningService;

beforeAll(async () => {
  service = await startService(ingestion, {
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      PULSE_API_TOKENS: `tester:${TOKEN}`,
      PULSE_SERVICE_TOKEN: TOKEN,
      PREFERENCE_URL: 'http://127.0.0.1:9', // nothing listens: readiness must say so
      PULSE_RPC_TIMEOUT_MS: '2000',
    },
    log: createLogger('ingestion', 'silent'),
  });
});

afterAll(() => service?.stop());

const rpc = (method: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${service.url}/pulse.ingestion.v1.IngestionService/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
    body,
  });

const message = (id: string) =>
  JSON.stringify({ messageId: id, conversationId: 'c-1', customerId: 'cust-1', author: 'AUTHOR_CUSTOMER', text: 'hello there' });

function h2(path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(service.url);
    session.on('error', reject);
    const req = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/json',
      authorization: `Bearer ${TOKEN}`,
    });
    let data = '';
    let status = 0;
    req.on('response', (headers) => (status = Number(headers[':status'])));
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => {
      session.close();
      resolve({ status, body: data });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('one port, every protocol', () => {
  it('serves Connect JSON over HTTP/1.1', async () => {
    const res = await rpc('SubmitInteraction', message('h1-1'));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ interaction: { messageId: 'h1-1', channel: 'chat' } });
  });

  it('serves Connect JSON over HTTP/2 cleartext on the same port', async () => {
    const res = await h2('/pulse.ingestion.v1.IngestionService/SubmitInteraction', message('h2-1'));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ interaction: { messageId: 'h2-1' } });
  });

  it('serves a stock gRPC client (@grpc/grpc-js) over h2c, with auth and health', async () => {
    const { ingestion: client, health, call, close } = stockGrpcClients(service.url.replace('http://', ''), grpc.credentials.createInsecure());
    const auth = new grpc.Metadata();
    auth.set('authorization', `Bearer ${TOKEN}`);
    try {
      const res = await call<{ interaction: { messageId: string } }>(client, 'submitInteraction', JSON.parse(message('grpc-1')) , auth);
      expect(res.interaction.messageId).toBe('grpc-1');
      await expect(call(client, 'getInteraction', { messageId: 'grpc-1' })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
      await expect(call(client, 'getInteraction', { messageId: 'nope' }, auth)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      await expect(call(client, 'submitInteraction', { messageId: 'x' }, auth)).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: expect.stringContaining('conversation_id: is required'),
      });
      // No auth needed for health; not serving because the preference peer is down.
      const status = await call<{ status: string }>(health, 'check', { service: '' });
      expect(status.status).toBe('NOT_SERVING');
      await expect(call(health, 'check', { service: 'no.such.Service' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    } finally {
      close();
    }
  });

  it('answers the plain probes without authentication', async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ service: 'ingestion', ready: false, checks: { bus: 'ok', store: 'ok', 'peer:preference': 'unreachable' } });
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/pulse_rpc_server_requests_total\{rpc_service="pulse.ingestion.v1.IngestionService",rpc_method="SubmitInteraction",code="ok"/);
    expect(metrics).toContain('pulse_rpc_server_duration_seconds_bucket');
    expect((await fetch(`${service.url}/nope`)).status).toBe(404);
  });
});

describe('bad input', () => {
  it.each([
    ['no token', message('a'), { authorization: '' }, 401, 'unauthenticated', 'missing bearer token'],
    ['a wrong token', message('a'), { authorization: 'Bearer not-the-right-token-at-all' }, 401, 'unauthenticated', 'invalid bearer token'],
    ['malformed JSON', '{"messageId":', {}, 400, 'invalid_argument', 'cannot decode'],
    ['a wrong type', '{"messageId": 12}', {}, 400, 'invalid_argument', 'SubmitInteractionRequest.message_id from JSON: expected string'],
    ['an unknown enum name', '{"author":"AUTHOR_ROBOT"}', {}, 400, 'invalid_argument', 'cannot decode enum pulse.common.v1.Author from JSON: "AUTHOR_ROBOT"'],
    ['a misspelt field', '{"mesageId":"x"}', {}, 400, 'invalid_argument', 'key "mesageId" is unknown'],
    ['an out-of-range enum number', JSON.stringify({ ...JSON.parse(message('e')), author: 9 }), {}, 400, 'invalid_argument', 'author: must be one of'],
    ['missing fields', '{}', {}, 400, 'invalid_argument', 'message_id: is required'],
    ['an over-long text', JSON.stringify({ ...JSON.parse(message('long')), text: 'x'.repeat(10_001) }), {}, 400, 'invalid_argument', 'text: must be at most 10000 characters'],
    ['a future timestamp', JSON.stringify({ ...JSON.parse(message('f')), occurredAt: '2999-01-01T00:00:00Z' }), {}, 400, 'invalid_argument', 'occurred_at: must not be more than 5 minutes in the future'],
  ])('%s gets the right error', async (_what, body, headers, status, code, text) => {
    const res = await rpc('SubmitInteraction', body, headers as Record<string, string>);
    expect(res.status).toBe(status);
    const json = (await res.json()) as { code: string; message: string };
    expect(json.code).toBe(code);
    expect(json.message).toContain(text);
  });

  it('caps the request size (1 MiB by default) with resource_exhausted', async () => {
    const res = await rpc('SubmitInteraction', JSON.stringify({ text: 'x'.repeat(1_100_000) }));
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ code: 'resource_exhausted' });
  });

  it('writes nothing for a rejected request', async () => {
    await rpc('SubmitInteraction', JSON.stringify({ ...JSON.parse(message('half')), author: 9 }));
    const res = await rpc('GetInteraction', JSON.stringify({ messageId: 'half' }));
    expect(res.status).toBe(404);
  });

  it('answers a repeated message_id with the first message and duplicate: true', async () => {
    await rpc('SubmitInteraction', message('dup-1'));
    const again = await rpc('SubmitInteraction', JSON.stringify({ ...JSON.parse(message('dup-1')), text: 'different text' }));
    expect(await again.json()).toMatchObject({ duplicate: true, interaction: { messageId: 'dup-1', text: 'hello there' } });
  });
});

describe('per-item batch results', () => {
  it('accepts good items and names what is wrong with bad ones', async () => {
    const res = await rpc(
      'SubmitInteractions',
      JSON.stringify({ interactions: [JSON.parse(message('b-1')), { messageId: 'b-2' }, JSON.parse(message('b-1'))] }),
    );
    const json = (await res.json()) as { results: Array<Record<string, unknown>>; acceptedCount: number; rejectedCount: number; duplicateCount: number };
    expect(json).toMatchObject({ acceptedCount: 1, rejectedCount: 1, duplicateCount: 1 });
    expect(json.results[1]).toMatchObject({ index: 1, errorCode: 'invalid_argument' });
    expect(String(json.results[1].errorMessage)).toContain('interactions[1].conversation_id: is required');
  });

  it('rejects an empty or over-long batch as a whole', async () => {
    const empty = await rpc('SubmitInteractions', '{}');
    expect(await empty.json()).toMatchObject({ code: 'invalid_argument', message: 'interactions: must not be empty' });
    const big = await rpc('SubmitInteractions', JSON.stringify({ interactions: Array.from({ length: 501 }, () => ({})) }));
    expect(await big.json()).toMatchObject({ code: 'invalid_argument', message: 'interactions: must have at most 500 items (got 501)' });
  });
});
