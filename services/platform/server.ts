// One plaintext port per service that speaks Connect, gRPC and gRPC-Web over HTTP/1.1 and HTTP/2 (h2c). Each new
// connection is sniffed: if it opens with the HTTP/2 preface it goes to an http2 server, otherwise to an http
// server; both run the same connect-node handler. Plain paths (/healthz, /readyz, /metrics) and a service's
// webhooks (POST, no token: providers' callbacks, each checking its caller) are served alongside.
// With TLS (options.tls) the port speaks TLS only: one http2 secure server with allowHTTP1 picks h2 or http/1.1 by
// ALPN and runs the same handler.
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { type ConnectRouter, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Logger } from './log.js';
import { arrivalContext } from './load-shed.js';
import { closeConnectionIfBodyUnread, reportUndecodableRequestsAsInvalid } from './request-errors.js';
import type { ServerTls } from './tls.js';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const SNIFF_TIMEOUT_MS = 10_000;

/** A request handler both the HTTP/1.1 and the HTTP/2 server accept (connect-node's types). */
export type NodeHandler = ReturnType<typeof connectNodeAdapter>;
type NodeRequest = Parameters<NodeHandler>[0];
type NodeResponse = Parameters<NodeHandler>[1];

type PlainResponse = { status: number; contentType: string; body: string };
export type PlainRoute = () => Promise<PlainResponse> | PlainResponse;
/** A POST from outside Pulse (a provider's callback): no token, the route checks the caller itself. */
export interface WebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The raw body, at most readMaxBytes. */
  body: Buffer;
}
export type WebhookRoute = (request: WebhookRequest) => Promise<PlainResponse> | PlainResponse;

export interface RpcServerOptions {
  port: number;
  host?: string;
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
  /** Largest request message accepted; larger ones are resource_exhausted. */
  readMaxBytes: number;
  /** GET paths served without RPC framing. */
  plainRoutes: Record<string, PlainRoute>;
  /** POST paths served without RPC framing or a token (webhooks). */
  webhooks?: Record<string, WebhookRoute>;
  log: Logger;
  /** Serve TLS (h2 and http/1.1 by ALPN) with this certificate and key instead of plaintext. */
  tls?: ServerTls;
}

export interface RpcServer {
  readonly port: number;
  /** Stops accepting, lets in-flight requests finish within graceMs, then cuts what is left. */
  close(graceMs: number): Promise<void>;
}

/**
 * connect-es percent-encodes grpc-message with encodeURIComponent, which also encodes ':', ';', ',' and friends;
 * @grpc/grpc-js decodes with decodeURI, which leaves those encoded. The gRPC spec encodes only bytes outside
 * 0x20-0x7E and '%', which every client decodes alike, so rewrite the header to that form.
 */
export function grpcMessageForSpec(value: string): string {
  let text: string;
  try {
    text = decodeURIComponent(value);
  } catch {
    return value;
  }
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function specEncodeGrpcMessage(res: NodeResponse): void {
  const fix = (headers: unknown) => {
    const h = headers as Record<string, unknown> | undefined;
    if (h && typeof h['grpc-message'] === 'string') h['grpc-message'] = grpcMessageForSpec(h['grpc-message']);
  };
  const writeHead = res.writeHead.bind(res) as (status: number, headers?: unknown) => unknown;
  res.writeHead = ((status: number, headers?: unknown) => {
    fix(headers);
    return writeHead(status, headers);
  }) as typeof res.writeHead;
  const addTrailers = res.addTrailers.bind(res) as (trailers: unknown) => void;
  res.addTrailers = ((trailers: unknown) => {
    fix(trailers);
    addTrailers(trailers);
  }) as typeof res.addTrailers;
}

/**
 * HTTP/1.1 and cleartext HTTP/2 on one TCP listener: the first bytes of each connection say which. onSocket sees
 * every connection first (to track it); malformed requests close their connection.
 */
export function plainListener(handler: NodeHandler, onSocket: (socket: net.Socket) => void): { listener: net.Server; h1: http.Server; h2: http2.Http2Server } {
  const h1 = http.createServer({ keepAliveTimeout: 65_000 }, handler);
  const h2 = http2.createServer({}, handler);
  for (const server of [h1, h2]) server.on('clientError', (_err: Error, socket: net.Socket) => socket.destroy());
  const listener = net.createServer((socket) => {
    onSocket(socket);
    sniff(socket, (isHttp2) => {
      // The sniffed bytes wait in the paused socket's buffer. The http2 session reads that buffer itself on its
      // next tick; the http server only listens for 'data', so its socket must be resumed.
      if (isHttp2) {
        h2.emit('connection', socket);
      } else {
        h1.emit('connection', socket);
        socket.resume();
      }
    });
  });
  return { listener, h1, h2 };
}

/** Listens on port and host; rejects when it cannot (the port is taken). */
export function listen(server: net.Server, port: number, host?: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Waits for the first bytes of a connection and says whether they are the HTTP/2 preface. */
function sniff(socket: net.Socket, route: (isHttp2: boolean) => void): void {
  let buffered = Buffer.alloc(0);
  const abandon = () => socket.destroy();
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    const n = Math.min(buffered.length, H2_PREFACE.length);
    const isPrefix = buffered.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (isPrefix && buffered.length < H2_PREFACE.length) return; // could still be HTTP/2: wait for more
    socket.removeListener('data', onData);
    socket.removeListener('error', abandon);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(buffered);
    route(isPrefix);
  };
  socket.on('data', onData);
  socket.on('error', abandon);
  socket.setTimeout(SNIFF_TIMEOUT_MS, abandon);
}

/** The request body, or undefined once it exceeds maxBytes. */
async function readBody(req: NodeRequest, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function startRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const shutdown = new AbortController();
  // connect-es links every in-flight request's signal to this one: more than 10 at once is normal, not a leak.
  setMaxListeners(0, shutdown.signal);
  let active = 0;
  let drained: (() => void) | undefined;

  const plain = (req: NodeRequest, res: NodeResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = options.plainRoutes[path];
    const send = ({ status, contentType, body }: PlainResponse) => {
      res.writeHead(status, { 'content-type': contentType });
      res.end(body);
    };
    const webhook = options.webhooks?.[path];
    if (webhook && req.method === 'POST') {
      if (Number(req.headers['content-length'] ?? 0) > options.readMaxBytes) {
        send({ status: 413, contentType: 'text/plain', body: 'too large\n' });
        return;
      }
      readBody(req, options.readMaxBytes)
        .then((body) => (body ? webhook({ headers: req.headers, body }) : { status: 413, contentType: 'text/plain', body: 'too large\n' }))
        .then(send, (err: unknown) => {
          options.log.error({ err, path }, 'webhook failed');
          send({ status: 500, contentType: 'text/plain', body: 'internal error' });
        });
      return;
    }
    if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) {
      send({ status: 404, contentType: 'application/json', body: JSON.stringify({ code: 'not_found', message: `no route for ${req.method} ${path}` }) });
      return;
    }
    Promise.resolve()
      .then(route)
      .then(send, (err: unknown) => {
        options.log.error({ err, path }, 'plain route failed');
        send({ status: 500, contentType: 'text/plain', body: 'internal error' });
      });
  };

  const adapter = connectNodeAdapter({
    // Undecodable request bodies are the caller's fault: invalid_argument, not connect-es's `internal`.
    routes: (router) => {
      options.routes(router);
      reportUndecodableRequestsAsInvalid(router.handlers);
    },
    interceptors: options.interceptors,
    contextValues: arrivalContext, // load shedding measures each request's wait from here
    readMaxBytes: options.readMaxBytes,
    // Strict JSON: a misspelt field or enum name is an error naming it, not a silently dropped value.
    jsonOptions: { ignoreUnknownFields: false },
    shutdownSignal: shutdown.signal,
    fallback: plain,
  });
  const handler = (req: NodeRequest, res: NodeResponse) => {
    active++;
    res.once('close', () => {
      active--;
      if (active === 0) drained?.();
    });
    if (String(req.headers['content-type'] ?? '').startsWith('application/grpc')) specEncodeGrpcMessage(res);
    closeConnectionIfBodyUnread(req, res);
    adapter(req, res);
  };

  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const trackSessions = (server: http2.Http2Server | http2.Http2SecureServer) =>
    server.on('session', (session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    });
  const trackSocket = (socket: net.Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  let listener: net.Server;
  let h1: http.Server | undefined;
  if (options.tls) {
    const secure = http2.createSecureServer(
      { cert: options.tls.cert, key: options.tls.key, allowHTTP1: true, minVersion: 'TLSv1.2', handshakeTimeout: SNIFF_TIMEOUT_MS },
      handler,
    );
    trackSessions(secure);
    secure.on('connection', trackSocket);
    secure.on('tlsClientError', (_err: Error, socket: net.Socket) => socket.destroy());
    listener = secure;
  } else {
    const plain = plainListener(handler, trackSocket);
    trackSessions(plain.h2);
    h1 = plain.h1;
    listener = plain.listener;
  }
  await listen(listener, options.port, options.host);

  return {
    port: (listener.address() as AddressInfo).port,
    async close(graceMs) {
      listener.close();
      for (const session of sessions) session.close(); // GOAWAY: finish open streams, take no new ones
      h1?.closeIdleConnections();
      if (active > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, graceMs).unref();
        });
      }
      shutdown.abort(); // handlers still running see their signal abort
      for (const socket of sockets) socket.destroy();
    },
  };
}
