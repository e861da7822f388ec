// Server-side interceptors every service runs, outermost first: tracing, metrics, error boundary, deadline, auth.
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { asConnectError, codeName } from './errors.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

/**
 * Anything that is not a ConnectError is a bug: log it (the error, never the request) and answer `internal`
 * without details, so no stack trace or internal message reaches a caller. The exception is a store transaction
 * that kept conflicting until its retries ran out: `aborted`, which the caller may retry (asConnectError).
 */
export function errorBoundary(log: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      if (err instanceof ConnectError) throw bounded(err);
      const rpc = `${req.service.typeName}/${req.method.name}`;
      const error = asConnectError(err);
      if (error.code !== Code.Internal) {
        log.warn({ err, rpc }, 'transaction kept conflicting with concurrent ones');
        throw new ConnectError(error.rawMessage, error.code);
      }
      log.error({ err, rpc }, 'unexpected error in handler');
      throw new ConnectError('internal error', Code.Internal);
    }
  };
}

/** Longest error message a caller gets. gRPC carries it in a trailer, where a few KiB already break clients. */
export const MAX_ERROR_MESSAGE_LENGTH = 1_024;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The error with a message fit to send: at most MAX_ERROR_MESSAGE_LENGTH characters (a handler quoting a huge
 * input would otherwise send it back whole) and well-formed UTF-16 (connect-es percent-encodes gRPC messages with
 * encodeURIComponent, which throws on a lone surrogate copied from a request).
 */
export function bounded(err: ConnectError): ConnectError {
  const raw = err.rawMessage;
  LONE_SURROGATE.lastIndex = 0;
  const carriesResponseHeaders = TRANSPORT_HEADERS.some((name) => err.metadata.has(name));
  if (raw.length <= MAX_ERROR_MESSAGE_LENGTH && !LONE_SURROGATE.test(raw) && !carriesResponseHeaders) return err;
  const cut = raw.length > MAX_ERROR_MESSAGE_LENGTH ? `${raw.slice(0, MAX_ERROR_MESSAGE_LENGTH - 1)}…` : raw;
  const details = err.details.filter((d) => 'desc' in d);
  const metadata = new Headers(err.metadata);
  for (const name of TRANSPORT_HEADERS) metadata.delete(name);
  return new ConnectError(cut.replace(LONE_SURROGATE, '\ufffd'), err.code, metadata, details, err.cause);
}

/**
 * Headers of the HTTP response an error came in on, when a handler passes on a peer's error: sent again they would
 * describe the wrong message, and HTTP/2 forbids the connection-specific ones (a gRPC caller's stream fails with a
 * protocol error instead of getting the error).
 */
const TRANSPORT_HEADERS = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'content-length', 'content-type', 'date'];

/**
 * Every unary call has a deadline: the caller's, capped at maxMs, or defaultMs when the caller set none. Past it
 * the caller gets deadline_exceeded even if the handler is still busy.
 */
export function deadline(defaultMs: number, maxMs: number): Interceptor {
  return (next) => async (req) => {
    if (req.stream) return next(req);
    const asked = requestedTimeoutMs(req.header);
    const ms = Math.min(asked ?? defaultMs, maxMs);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        next(req),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ConnectError(`deadline of ${ms} ms exceeded`, Code.DeadlineExceeded)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
}

const GRPC_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000001 };

/** The timeout the caller asked for (Connect `connect-timeout-ms` or gRPC `grpc-timeout`), if any. */
export function requestedTimeoutMs(header: Headers): number | undefined {
  const connect = Number(header.get('connect-timeout-ms') ?? NaN);
  if (Number.isFinite(connect) && connect > 0) return connect;
  const grpc = /^(\d{1,8})([HMSmun])$/.exec(header.get('grpc-timeout') ?? '');
  return grpc ? Math.max(1, Number(grpc[1]) * GRPC_UNIT_MS[grpc[2]]) : undefined;
}

export function serverMetrics(metrics: Metrics): Interceptor {
  return (next) => async (req) => {
    const labels = { rpc_service: req.service.typeName, rpc_method: req.method.name };
    const stop = metrics.rpcServerDuration.startTimer(labels);
    try {
      const res = await next(req);
      metrics.rpcServerRequests.inc({ ...labels, code: 'ok' });
      return res;
    } catch (err) {
      metrics.rpcServerRequests.inc({ ...labels, code: codeName(ConnectError.from(err).code) });
      throw err;
    } finally {
      stop();
    }
  };
}
