// A recording proxy in front of an HTTP stand-in (Slack, Twilio): every request is forwarded and recorded with the
// answer's status, unless the fault hook answers it first (a 5xx, a 429 with Retry-After), which lets a test inject
// a provider fault for exactly as long as it wants and count what was really accepted.
import { createServer, type IncomingHttpHeaders, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TapReply {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

export interface TapExchange {
  url: string;
  body: string;
  /** The answer Pulse got (0 while pending, -1 when the connection dropped). */
  status: number;
  /** Answered by the fault hook rather than the stand-in. */
  injected: boolean;
}

export interface Tap {
  origin: string;
  exchanges: TapExchange[];
  /** Answers a request itself when it returns a reply (the provider's fault); undefined forwards it. */
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
  const tap: Tap = { origin: '', exchanges: [], fault: undefined, close: async () => {} };
  const server = createServer((req, res) => {
    void readAll(req).then((body) => {
      const exchange: TapExchange = { url: req.url ?? '/', body: body.toString('utf8'), status: 0, injected: false };
      tap.exchanges.push(exchange);
      const injected = tap.fault?.(exchange);
      if (injected) {
        exchange.status = injected.status;
        exchange.injected = true;
        const text = JSON.stringify(injected.body);
        res.writeHead(injected.status, { 'content-type': 'application/json; charset=utf-8', ...injected.headers });
        res.end(text);
        return;
      }
      const forwarded = httpRequest({
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: exchange.url,
        headers: { ...forwardable(req.headers), 'content-length': String(body.length) },
      });
      forwarded.on('response', (answer) => {
        void readAll(answer).then((answerBody) => {
          exchange.status = answer.statusCode ?? 0;
          res.writeHead(exchange.status, { ...forwardable(answer.headers), 'content-length': String(answerBody.length) });
          res.end(answerBody);
        });
      });
      forwarded.on('error', () => {
        exchange.status = -1;
        res.destroy();
      });
      forwarded.end(body);
    });
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
