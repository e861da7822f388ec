// The plumbing the Slack and Twilio stand-ins share: an HTTP server on 127.0.0.1 (free port) that checks every
// request against the provider's OpenAPI description, records it, answers a violation with 422 (as Prism does), and
// otherwise answers what the stand-in decides, possibly after a delay.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CheckResult, OpenApiCheck } from './openapi-check.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  pathParams: Record<string, string>;
  violations: string[];
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
  /** Answer only after this long (the request is recorded at once). */
  delayMs?: number;
}

export interface HttpStandIn {
  /** http://127.0.0.1:<port> */
  origin: string;
  requests: RecordedRequest[];
  /** Every violation of every request so far; tests assert it is empty. */
  violations(): string[];
  close(): Promise<void>;
}

export async function startHttpStandIn(check: OpenApiCheck, answer: (request: RecordedRequest) => Reply): Promise<HttpStandIn> {
  const requests: RecordedRequest[] = [];
  const delayed = new Set<NodeJS.Timeout>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      const result: CheckResult = check.check({ method, url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const recorded: RecordedRequest = { method, url, headers: req.headers, ...result };
      requests.push(recorded);
      const reply: Reply =
        result.violations.length > 0
          ? { status: 422, body: { message: 'request violates the OpenAPI description', violations: result.violations } }
          : answer(recorded);
      const send = () => {
        res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
        res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
      };
      if (!reply.delayMs) return send();
      const timer = setTimeout(() => {
        delayed.delete(timer);
        send();
      }, reply.delayMs);
      delayed.add(timer);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    violations: () => requests.flatMap((r) => r.violations.map((v) => `${r.method} ${r.url}: ${v}`)),
    close: async () => {
      for (const timer of delayed) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
