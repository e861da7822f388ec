// The front door of `npm start` (port 8080): the console's files, and every Pulse RPC routed by its path to the
// service that serves it, so a browser or client talks to one origin. It speaks HTTP/1.1 and h2c on one port (like
// the services), adds no CORS headers (the console is same-origin) and checks no credentials: each service keeps its
// own auth. In compose and Tilt nginx does the same job (ops/gateway/nginx.conf).
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ServiceName } from '../platform/catalog.js';
import type { Logger } from '../platform/log.js';
import { listen, plainListener } from '../platform/server.js';
import { forward, type GatewayRequest, type GatewayResponse, unavailable, UpstreamPool } from './proxy.js';
import { serviceOfPath } from './routes.js';
import { consoleFile } from './static.js';

export interface GatewayOptions {
  port: number;
  host?: string;
  /** Each service's base URL. */
  upstreams: Record<ServiceName, string>;
  /** The built console (console/dist). */
  consoleDir: string;
  log: Logger;
}

export interface Gateway {
  url: string;
  close(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const pool = new UpstreamPool(options.log);
  const handler = (req: GatewayRequest, res: GatewayResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const service = serviceOfPath(path);
    if (service) return forward(pool, options.upstreams[service], service, req, res);
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end('ok');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ code: 'not_found', message: `no route for ${req.method} ${path}` }));
    }
    consoleFile(options.consoleDir, path).then(
      ({ status, headers, body }) => {
        res.writeHead(status, headers);
        if (req.method === 'HEAD') res.end();
        else res.end(body);
      },
      (err: unknown) => {
        options.log.error({ err }, 'gateway: reading the console failed');
        unavailable(req, res, 'the console could not be read');
      },
    );
  };
  const sockets = new Set<net.Socket>();
  const { listener } = plainListener(handler, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await listen(listener, options.port, options.host);
  const port = (listener.address() as AddressInfo).port;
  return {
    url: `http://${!options.host || options.host === '0.0.0.0' ? 'localhost' : options.host}:${port}`,
    async close() {
      listener.close();
      pool.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
