// A recording proxy in front of an HTTP stand-in (Slack, Twilio). Every request is recorded with the answer and
// its timing, so a test can count what was really posted, and forwarded to the stand-in and its spec check,
// unless the test holds it (gate), is told of it first (onRequest, e.g. to make the stand-in fail it), or answers
// it itself (fault: a 5xx, a 429 with Retry-After) to take the provider down for exactly as long as it wants.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An answer the test gives in the provider's place. */
export interface TapReply {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

/** One request that went through the tap, and what Pulse got back. */
export interface TapExchange {
  method: string;
  url: string;
  /** The request body as sent (form-encoded or JSON). */
  body: string;
  /** When the request reached the tap (Date.now()). */
  arrivedAt: number;
  /** The answer's status: 0 while pending, -1 when the connection to the stand-in dropped. */
  status: number;
  responseBody: string;
  /** When the answer went back to Pulse. */
  answeredAt: number;
  /** Answered by the fault hook rather than the stand-in. */
  injected: boolean;
}

export interface Tap {
  /** http://127.0.0.1:<port> */
  origin: string;
  exchanges: TapExchange[];
  /** While set, requests wait for it before going on: the provider is "still working on it". */
  gate: Promise<void> | undefined;
  /** Called for each request before it is forwarded. */
  onRequest: (() => void) | undefined;
  /** Answers a request itself when it returns a reply; undefined forwards it. */
  fault: ((exchange: TapExchange) => TapReply | undefined) | undefined;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host']);

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

export async function startTap(target: string): Promise<Tap> {
  const upstream = new URL(target);
  const tap: Tap = { origin: '', exchanges: [], gate: undefined, onRequest: undefined, fault: undefined, close: async () => {} };
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readAll(req);
      const exchange: TapExchange = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        body: body.toString('utf8'),
        arrivedAt: Date.now(),
        status: 0,
        responseBody: '',
        answeredAt: 0,
        injected: false,
      };
      tap.exchanges.push(exchange);
      await tap.gate;
      tap.onRequest?.();
      const injected = tap.fault?.(exchange);
      if (injected) {
        const text = JSON.stringify(injected.body);
        Object.assign(exchange, { status: injected.status, responseBody: text, answeredAt: Date.now(), injected: true });
        res.writeHead(injected.status, { 'content-type': 'application/json; charset=utf-8', ...injected.headers });
        res.end(text);
        return;
      }
      const forwarded = httpRequest({
        host: upstream.hostname,
        port: upstream.port,
        method: exchange.method,
        path: exchange.url,
        headers: { ...forwardable(req.headers), 'content-length': String(body.length) },
      });
      forwarded.on('response', (answer) => {
        void readAll(answer).then((answerBody) => {
          exchange.status = answer.statusCode ?? 0;
          exchange.responseBody = answerBody.toString('utf8');
          exchange.answeredAt = Date.now();
          res.writeHead(exchange.status, { ...forwardable(answer.headers), 'content-length': String(answerBody.length) });
          res.end(answerBody);
        });
      });
      forwarded.on('error', () => {
        exchange.status = -1;
        res.destroy(); // Pulse sees the connection drop, as it would with the provider
      });
      forwarded.end(body);
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  tap.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tap.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return tap;
}
