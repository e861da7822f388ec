// OpenTelemetry for a service process. Started by telemetry-register.ts (loaded with --import, before any other
// module) so auto-instrumentations can patch modules as they load. Export is OTLP, configured by the standard
// OTEL_* variables; without an endpoint nothing is exported, but spans still get real ids so logs carry them.
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

function exportConfigured(): boolean {
  const env = process.env;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) && env.OTEL_SDK_DISABLED !== 'true';
}

export function startTelemetry(serviceName: string): void {
  if (sdk) return;
  process.env.OTEL_METRICS_EXPORTER ??= 'none'; // metrics are served as Prometheus text on /metrics
  process.env.OTEL_LOGS_EXPORTER ??= 'none'; // logs go to stdout as JSON
  sdk = new NodeSDK({
    serviceName,
    spanProcessors: exportConfigured() ? undefined : [keepIdsOnly],
    instrumentations: [
      getNodeAutoInstrumentations({
        '@opentelemetry/instrumentation-fs': { enabled: false },
        '@opentelemetry/instrumentation-dns': { enabled: false },
        '@opentelemetry/instrumentation-net': { enabled: false },
        '@opentelemetry/instrumentation-http': {
          // Probes and scrapes would drown the traces; RPCs get their spans from our Connect interceptors.
          ignoreIncomingRequestHook: (req) => ['/healthz', '/readyz', '/metrics'].includes((req.url ?? '').split('?')[0]),
        },
      }),
    ],
  });
  sdk.start();
}

/** Flushes and stops telemetry; part of graceful shutdown. */
export async function shutdownTelemetry(): Promise<void> {
  await sdk?.shutdown();
  sdk = undefined;
}
