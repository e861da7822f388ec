// A webhook receiver on loopback, as a client of Pulse would run one: it verifies every request's Standard Webhooks
// signature with the endpoint's secret, and records what it accepted, so tests can count duplicates and check the
// order per notification. Its behaviour is set per test: accept, fail (HTTP 500) the first attempts of each
// message, fail everything, or hang until the sender times out.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { secretKey, verifyWebhook } from '../../services/status/webhooks/signature.js';

export type ReceiverMode = { kind: 'accept' } | { kind: 'fail-first'; attempts: number } | { kind: 'fail' } | { kind: 'hang' };

export interface Received {
  id: string;
  body: { type: string; timestamp: string; data: Record<string, string | number> };
}

export interface WebhookReceiver {
  url: string;
  secret: string;
  mode: ReceiverMode;
  /** Messages answered 2xx, in the order they arrived (a duplicate appears twice). */
  accepted: Received[];
  /** Requests per message id, answered or not. */
  attempts: Map<string, number>;
  /** Requests whose signature did not verify (answered 401). */
  forged: number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string, mode: ReceiverMode = { kind: 'accept' }): Promise<WebhookReceiver> {
  const key = secretKey(secret);
  if (!key) throw new Error('not a webhook secret');
  const receiver: WebhookReceiver = { url: '', secret, mode, accepted: [], attempts: new Map(), forged: 0, close: async () => {} };
  const hanging = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (verifyWebhook(key, req.headers, body) !== null) {
        receiver.forged++;
        res.writeHead(401).end();
        return;
      }
      const id = String(req.headers['webhook-id']);
      const attempt = (receiver.attempts.get(id) ?? 0) + 1;
      receiver.attempts.set(id, attempt);
      const current = receiver.mode;
      if (current.kind === 'hang') {
        hanging.add(() => res.destroy());
        return;
      }
      if (current.kind === 'fail' || (current.kind === 'fail-first' && attempt <= current.attempts)) {
        res.writeHead(500).end('try later');
        return;
      }
      receiver.accepted.push({ id, body: JSON.parse(body) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pulse-hooks`;
  receiver.close = async () => {
    for (const drop of hanging) drop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}
