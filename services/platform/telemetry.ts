// OpenTelemetry for a service process. Started by telemetry-register.ts (loaded with --import, before any other
// module, together with the ESM loader hook) so auto-instrumentations can patch modules as they load. Export is
// OTLP, configured by the standard OTEL_* variables; without an endpoint nothing is exported, but spans still get
// real ids so logs carry them.
//
// Personal data: auto-instrumentations record no request or message bodies by default, and the settings below keep
// it that way (mongodb statements with values replaced by "?", no amqplib payload hooks, no captured headers, the
// Connect GET `message` query parameter redacted, pino records not forwarded). Pulse's own spans carry ids only
// (see tracing.ts and span-ids.ts).
import type { IncomingMessage, RequestOptions } from 'node:http';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { NodeSDK } from '@opentelemetry/sdk-node';

let sdk: NodeSDK | undefined;

const keepIdsOnly: SpanProcessor = {
  onStart() {},
  onEnd() {},
  forceFlush: async () => {},
  shutdown: async () => {},
};

/** Probes and scrapes would drown the traces. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

function untraced(path: string | null | undefined): boolean {
  return UNTRACED_PATHS.has((path ?? '').split('?')[0]);
}

/**
 * Query parameters whose values never reach a span. `message` is a Connect GET request's whole (encoded) request
 * message; the others are credentials or addresses an outside API might take in a URL. The first group repeats
 * the instrumentation's defaults, which a custom list replaces.
 */
const REDACTED_QUERY_PARAMS = [
  'sig',
  'Signature',
  'AWSAccessKeyId',
  'X-Goog-Signature',
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Amz-Security-Token',
  'message',
  'token',
  'access_token',
  'key',
  'email',
  'phone',
  'to',
  'from',
  'text',
];

function exportConfigured(): boolean {
  const env = process.env;
  const endpoint = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  return endpoint && env.OTEL_TRACES_EXPORTER !== 'none';
}

function instrumentations() {
  return getNodeAutoInstrumentations({
    '@opentelemetry/instrumentation-fs': { enabled: false },
    '@opentelemetry/instrumentation-dns': { enabled: false },
    '@opentelemetry/instrumentation-net': { enabled: false },
    '@opentelemetry/instrumentation-http': {
      // RPCs get their spans from our Connect interceptors (http does not see h2c); HTTP/1.1 requests get an http
      // span too, the parent of the RPC span.
      ignoreIncomingRequestHook: (req: IncomingMessage) => untraced(req.url),
      ignoreOutgoingRequestHook: (req: RequestOptions) => untraced(req.path),
      redactedQueryParams: REDACTED_QUERY_PARAMS,
      redactedQueryParamsServer: REDACTED_QUERY_PARAMS,
      // Request and response headers are not recorded (no headersToSpanAttributes); bodies never are.
    },
    // Node's fetch: peers' /healthz probes only; provider calls go through node:http(s) (http-exchange.ts).
    '@opentelemetry/instrumentation-undici': { ignoreRequestHook: (req) => untraced(req.path) },
    // Payload hooks (publishHook/consumeHook) are left unset: message bodies never reach a span. The URL it records
    // has its password masked by the instrumentation.
    '@opentelemetry/instrumentation-amqplib': {},
    // Statements are recorded with every value replaced by "?" (field names only); never the documents.
    '@opentelemetry/instrumentation-mongodb': { enhancedDatabaseReporting: false },
    // Log correlation only: log records stay on stdout (pino's redaction applies), none is sent over OTLP.
    '@opentelemetry/instrumentation-pino': { disableLogSending: true },
  });
}

export function startTelemetry(serviceName: string): void {
  if (sdk) return;
  process.env.OTEL_METRICS_EXPORTER ??= 'none'; // metrics are served as Prometheus text on /metrics
  process.env.OTEL_LOGS_EXPORTER ??= 'none'; // logs go to stdout as JSON
  sdk = new NodeSDK({
    serviceName,
    spanProcessors: exportConfigured() ? undefined : [keepIdsOnly],
    instrumentations: [instrumentations()],
  });
  sdk.start();
}

/** Flushes and stops telemetry; part of graceful shutdown. */
export async function shutdownTelemetry(): Promise<void> {
  await sdk?.shutdown();
  sdk = undefined;
}
