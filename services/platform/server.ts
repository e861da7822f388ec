// One plaintext port per service that speaks Connect, gRPC and gRPC-Web over HTTP/1.1 and HTTP/2 (h2c). Each new
// connection is sniffed: if it opens with the HTTP/2 preface it goes to an http2 server, otherwise to an http
// server; both run the same connect-node handler. Plain paths (/healthz, /readyz, /metrics) are served alongside.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { type ConnectRouter, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Logger } from './log.js';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const SNIFF_TIMEOUT_MS = 10_000;

type NodeHandler = ReturnType<typeof connectNodeAdapter>;
type NodeRequest = Parameters<NodeHandler>[0];
type NodeResponse = Parameters<NodeHandler>[1];

type PlainResponse = { status: number; contentType: string; body: string };
export type PlainRoute = () => Promise<PlainResponse> | PlainResponse;

export interface RpcServerOptions {
  port: number;
  host?: string;
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
  /** Largest request message accepted; larger ones are resource_exhausted. */
  readMaxBytes: number;
  /** GET paths served without RPC framing. */
  plainRoutes: Record<string, PlainRoute>;
  log: Logger;
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

export async function startRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const shutdown = new AbortController();
  let active = 0;
  let drained: (() => void) | undefined;

  const plain = (req: NodeRequest, res: NodeResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = options.plainRoutes[path];
    const send = ({ status, contentType, body }: PlainResponse) => {
      res.writeHead(status, { 'content-type': contentType });
      res.end(body);
    };
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
    routes: options.routes,
    interceptors: options.interceptors,
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
    adapter(req, res);
  };

  const h1 = http.createServer({ keepAliveTimeout: 65_000 }, handler);
  const h2 = http2.createServer({}, handler);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  for (const server of [h1, h2]) server.on('clientError', (_err: Error, socket: net.Socket) => socket.destroy());

  const tcp = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
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
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(options.port, options.host, () => {
      tcp.off('error', reject);
      resolve();
    });
  });

  return {
    port: (tcp.address() as AddressInfo).port,
    async close(graceMs) {
      tcp.close();
      for (const session of sessions) session.close(); // GOAWAY: finish open streams, take no new ones
      h1.closeIdleConnections();
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
