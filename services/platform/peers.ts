// Typed clients for peer services, built from gen/. Every call carries the service token, a deadline, a client
// span with the trace context, metrics, and goes through the peer's circuit breaker.
import type { DescService } from '@bufbuild/protobuf';
import { type Client, ConnectError, createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import type { Tracer } from '@opentelemetry/api';
import { type Breaker, throughBreaker } from './breaker.js';
import { codeName } from './errors.js';
import type { Metrics } from './metrics.js';
import { clientTracing } from './tracing.js';

export interface PeerOptions {
  /** Peer service name, for breaker, metrics and span attributes. */
  name: string;
  baseUrl: string;
  /** The token this service presents (PULSE_SERVICE_TOKEN). */
  token: string;
  /** Certificates trusted for an https peer (PULSE_TLS_CA_FILE plus the public roots); default Node's. */
  ca?: string[];
  /** Deadline of a call that sets none itself. */
  timeoutMs: number;
  breaker: Breaker;
  metrics: Metrics;
  tracer: Tracer;
}

/** Presents token as `Authorization: Bearer <token>` on every call. */
export function bearer(token: string): Interceptor {
  return (next) => (req) => {
    req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
}

function clientMetrics(metrics: Metrics, peer: string): Interceptor {
  return (next) => async (req) => {
    const stop = metrics.rpcClientDuration.startTimer({ peer, rpc_method: req.method.name });
    try {
      const res = await next(req);
      metrics.rpcClientRequests.inc({ peer, rpc_method: req.method.name, code: 'ok' });
      return res;
    } catch (err) {
      metrics.rpcClientRequests.inc({ peer, rpc_method: req.method.name, code: codeName(ConnectError.from(err).code) });
      throw err;
    } finally {
      stop();
    }
  };
}

function viaBreaker(breaker: Breaker): Interceptor {
  return (next) => (req) => throughBreaker(breaker, () => next(req));
}

export function createPeerClient<S extends DescService>(service: S, options: PeerOptions): Client<S> {
  const transport = createConnectTransport({
    baseUrl: options.baseUrl,
    httpVersion: '2',
    useBinaryFormat: true,
    defaultTimeoutMs: options.timeoutMs,
    ...(options.ca && options.baseUrl.startsWith('https:') ? { nodeOptions: { ca: options.ca } } : {}),
    interceptors: [
      clientTracing(options.tracer, options.name),
      clientMetrics(options.metrics, options.name),
      viaBreaker(options.breaker),
      bearer(options.token),
    ],
  });
  return createClient(service, transport);
}
