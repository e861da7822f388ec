// The exchange's one job beyond HTTP: say how far a failed request got.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExchangeFailure, HttpExchange } from './http-exchange.js';

let server: Server;
let origin: string;
let requests = 0;
const exchange = new HttpExchange();

async function failureOf(promise: Promise<unknown>): Promise<ExchangeFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ExchangeFailure);
  return err as ExchangeFailure;
}

beforeAll(async () => {
  // /ok answers; /drop closes the connection without an answer once it has the whole request.
  server = createServer((req, res) => {
    requests += 1;
    req.resume();
    req.on('end', () => {
      if (req.url === '/drop') req.socket.destroy();
      else res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  exchange.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const limits = () => ({ signal: new AbortController().signal, timeoutMs: 2000 });

describe('HTTP exchange', () => {
  it('returns status, headers and body', async () => {
    const response = await exchange.send({ method: 'POST', url: `${origin}/ok`, headers: { 'content-type': 'text/plain' }, body: 'hi' }, limits());
    expect(response).toMatchObject({ status: 200, body: 'ok' });
    expect(response.headers['content-length']).toBe('2');
  });

  it('reports a connection lost after a fresh request was written as possibly sent', async () => {
    const fresh = new HttpExchange();
    try {
      const failure = await failureOf(fresh.send({ method: 'POST', url: `${origin}/drop`, headers: {}, body: 'x' }, limits()));
      expect(failure.requestSent).toBe(true);
      expect(failure.staleConnection).toBe(false);
      expect(failure.reason).toMatch(/^connection failed \(ECONNRESET\) \(request may have been sent\)$/);
    } finally {
      fresh.close();
    }
  });

  it('reports a reset on a reused keep-alive connection as stale, not sent', async () => {
    await exchange.send({ method: 'POST', url: `${origin}/ok`, headers: {}, body: 'warm up' }, limits());
    const failure = await failureOf(exchange.send({ method: 'POST', url: `${origin}/drop`, headers: {}, body: 'x' }, limits()));
    expect(failure.staleConnection).toBe(true);
    expect(failure.requestSent).toBe(false);
  });

  it('does not send at all when the signal is already aborted', async () => {
    const before = requests;
    const controller = new AbortController();
    controller.abort();
    const failure = await failureOf(exchange.send({ method: 'POST', url: `${origin}/ok`, headers: {} }, { signal: controller.signal, timeoutMs: 1000 }));
    expect([failure.requestSent, failure.reason]).toEqual([false, 'aborted (request not sent)']);
    expect(requests).toBe(before);
  });
});
