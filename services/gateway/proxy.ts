// Forwards one RPC to its service over HTTP/2 (every Pulse port speaks h2c), whatever protocol the caller used:
// Connect and gRPC-Web from browsers over HTTP/1.1, gRPC over h2c. Headers go through as they are (Authorization
// included: each service checks its own callers), bodies and trailers are streamed, and a caller that leaves
// cancels the upstream call. One HTTP/2 session per service, opened again when it closes.
import http2 from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http';
import type { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Logger } from '../platform/log.js';
import { isGrpc } from './routes.js';

type NodeHandler = ReturnType<typeof connectNodeAdapter>;
/** What the HTTP/1.1 and the HTTP/2 servers hand a handler (the types connect-node uses for the same). */
export type GatewayRequest = Parameters<NodeHandler>[0];
export type GatewayResponse = Parameters<NodeHandler>[1];

/** Connection-level headers: they describe one hop, never the call. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings']);

function forwardable(headers: IncomingHttpHeaders | http2.IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || HOP_BY_HOP.has(name)) continue;
    if (name === 'te' && value !== 'trailers') continue; // HTTP/2 allows only "te: trailers"
    out[name] = value;
  }
  return out;
}

export class UpstreamPool {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();

  constructor(private readonly log: Logger) {}

  session(baseUrl: string): http2.ClientHttp2Session {
    const open = this.sessions.get(baseUrl);
    if (open && !open.closed && !open.destroyed) return open;
    const session = http2.connect(baseUrl);
    session.on('error', (err) => this.log.warn({ err, upstream: baseUrl }, 'gateway: upstream session failed'));
    session.once('close', () => {
      if (this.sessions.get(baseUrl) === session) this.sessions.delete(baseUrl);
    });
    session.unref();
    this.sessions.set(baseUrl, session);
    return session;
  }

  close(): void {
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }
}

/** Answers a call the gateway could not forward, in the caller's protocol. */
export function unavailable(req: GatewayRequest, res: GatewayResponse, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const contentType = String(req.headers['content-type'] ?? '');
  if (isGrpc(contentType) || contentType.startsWith('application/grpc-web')) {
    // A trailers-only response: the status travels in the headers.
    res.writeHead(200, { 'content-type': contentType.split(';')[0], 'grpc-status': '14', 'grpc-message': encodeURIComponent(message) });
    res.end();
    return;
  }
  res.writeHead(503, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ code: 'unavailable', message }));
}

export function forward(pool: UpstreamPool, baseUrl: string, service: string, req: GatewayRequest, res: GatewayResponse): void {
  let upstream: http2.ClientHttp2Stream;
  try {
    upstream = pool.session(baseUrl).request({
      ...forwardable(req.headers),
      ':method': req.method ?? 'POST',
      ':path': req.url ?? '/',
    });
  } catch {
    unavailable(req, res, `${service} is not reachable`);
    return;
  }
  upstream.on('response', (headers) => {
    res.writeHead(Number(headers[':status'] ?? 502), forwardable(headers));
    upstream.pipe(res);
  });
  upstream.on('trailers', (trailers) => res.addTrailers(forwardable(trailers) as Record<string, string>));
  upstream.on('error', () => unavailable(req, res, `${service} is not reachable`));
  // The caller left before the answer was complete: cancel the call upstream too.
  res.once('close', () => {
    if (!upstream.destroyed) upstream.close(http2.constants.NGHTTP2_CANCEL);
  });
  req.pipe(upstream);
}
