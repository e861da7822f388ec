// The gateway of `npm start` over real HTTP: one origin for the console and for every service, in each protocol
// (Connect over HTTP/1.1, gRPC-Web, gRPC over h2c), each service still checking its own callers, no CORS, and the
// console's files under a strict CSP.
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { Code, createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReviewService } from '../../gen/pulse/review/v1/review_service_pb.js';
import { StatusService } from '../../gen/pulse/status/v1/status_service_pb.js';
import { type Mesh, startMesh } from '../../services/all-in-one/mesh.js';
import { generateToken } from '../../services/platform/auth.js';
import { createLogger } from '../../services/platform/log.js';
import { ensureConsoleBuilt } from '../../services/gateway/console-build.js';
import { type Gateway, startGateway } from '../../services/gateway/gateway.js';
import { bearer } from '../../services/platform/peers.js';
import { rejectionOf } from '../support/rejection.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const admin = generateToken();
const alice = generateToken();
let mesh: Mesh;
let gateway: Gateway;

beforeAll(async () => {
  await ensureConsoleBuilt(ROOT);
  mesh = await startMesh({ ports: 'free', env: { ...process.env, LOG_LEVEL: 'error', PULSE_API_TOKENS: `ops:${admin}:admin,alice:${alice}:user`, PULSE_DEV_TOKEN: admin } });
  gateway = await startGateway({ port: 0, host: '127.0.0.1', upstreams: mesh.urls, consoleDir: `${ROOT}console/dist`, log: createLogger('gateway', 'silent') });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await mesh?.stop();
});

describe('one origin for every service', () => {
  it('routes Connect, gRPC-Web and gRPC by path, streams included', async () => {
    for (const transport of [
      createConnectTransport({ baseUrl: gateway.url, httpVersion: '1.1', interceptors: [bearer(admin)] }),
      createGrpcWebTransport({ baseUrl: gateway.url, httpVersion: '1.1', interceptors: [bearer(admin)] }),
      createGrpcTransport({ baseUrl: gateway.url, interceptors: [bearer(admin)] }),
    ]) {
      const review = createClient(ReviewService, transport);
      expect((await review.getReviewPolicy({})).policy?.topic).toBe('review');
      for await (const message of review.watchReviewCases({})) {
        expect(message.snapshotComplete).toBe(true); // no cases yet: the snapshot ends at once
        break;
      }
      const status = createClient(StatusService, transport);
      expect((await status.listInbox({ userId: 'alice' })).unreadCount).toBe(0);
    }
  });

  it('keeps each service\'s own auth: no token, or a token without the scope, is refused by the service', async () => {
    const none = createClient(ReviewService, createConnectTransport({ baseUrl: gateway.url, httpVersion: '1.1' }));
    expect((await rejectionOf(none.getReviewPolicy({}))).code).toBe(Code.Unauthenticated);
    const user = createClient(ReviewService, createGrpcWebTransport({ baseUrl: gateway.url, httpVersion: '1.1', interceptors: [bearer(alice)] }));
    const denied = await rejectionOf(user.listReviews({}));
    expect(denied.code).toBe(Code.PermissionDenied);
    expect(denied.rawMessage).toContain('reviews:read');
  });

  it('answers unavailable, in the caller\'s protocol, when a service cannot be reached', async () => {
    const down = await startGateway({ port: 0, host: '127.0.0.1', upstreams: { ...mesh.urls, review: 'http://127.0.0.1:1' }, consoleDir: `${ROOT}console/dist`, log: createLogger('gateway', 'silent') });
    try {
      for (const transport of [
        createConnectTransport({ baseUrl: down.url, httpVersion: '1.1', interceptors: [bearer(admin)] }),
        createGrpcWebTransport({ baseUrl: down.url, httpVersion: '1.1', interceptors: [bearer(admin)] }),
        createGrpcTransport({ baseUrl: down.url, interceptors: [bearer(admin)] }),
      ]) {
        const err = await rejectionOf(createClient(ReviewService, transport).getReviewPolicy({}));
        expect(err.code).toBe(Code.Unavailable);
        expect(err.rawMessage).toBe('review is not reachable');
      }
    } finally {
      await down.close();
    }
  });
});

/** A raw HTTP/1.1 exchange (fetch hides some headers and refuses some methods). */
function raw(method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${gateway.url}${path}`, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the console\'s files', () => {
  it('are served with a strict Content-Security-Policy, app routes fall back to index.html', async () => {
    for (const path of ['/', '/reviews/rev_123', '/inbox']) {
      const res = await raw('GET', path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.headers['content-security-policy']).toMatch(/default-src 'self'; script-src 'self'; style-src 'self'/);
      expect(res.headers['content-security-policy']).not.toContain('unsafe');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.body).toContain('<div id="root"></div>');
    }
    const script = /src="(\/assets\/[^"]+\.js)"/.exec((await raw('GET', '/')).body)![1];
    const asset = await raw('GET', script);
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
  });

  it('never leaves console/dist, and a missing file is not_found', async () => {
    expect((await raw('GET', '/assets/nothing.js')).status).toBe(404);
    expect((await raw('GET', '/../package.json')).status).toBe(404);
    expect((await raw('GET', '/%2e%2e/%2e%2e/package.json')).status).toBe(404);
    expect((await raw('GET', '/..%2fpackage.json')).status).toBe(404);
  });

  it('sends no CORS headers: the console is same-origin, and other origins get nothing that lets them in', async () => {
    const preflight = await raw('OPTIONS', '/pulse.review.v1.ReviewService/GetReviewPolicy', {
      origin: 'https://evil.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    });
    const page = await raw('GET', '/', { origin: 'https://evil.example' });
    for (const res of [preflight, page]) {
      expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    }
  });
});
