// A small OTLP/HTTP receiver for tests: what Jaeger's OTLP port would get, kept in memory. It accepts JSON
// (OTEL_EXPORTER_OTLP_PROTOCOL=http/json), gzip or not, on /v1/traces and answers the other signals with an empty
// success. Each request body is also kept verbatim, so a test can search everything that left the processes.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** An OTLP AnyValue, as the JSON encoding writes it. */
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: string;
}

interface KeyValue {
  key: string;
  value?: AnyValue;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: KeyValue[];
  events?: Array<{ name: string; attributes?: KeyValue[] }>;
  links?: Array<{ traceId: string; spanId: string; attributes?: KeyValue[] }>;
  status?: { code?: number; message?: string };
}

interface ExportTraceServiceRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{ scope?: { name?: string; version?: string }; spans?: OtlpSpan[] }>;
  }>;
}

export type Attributes = Record<string, unknown>;

/** OTLP span kinds (SPAN_KIND_*). */
export const Kind = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  /** Resource service.name, e.g. pulse-ingestion. */
  service: string;
  /** Instrumentation scope, e.g. pulse.ingestion or @opentelemetry/instrumentation-amqplib. */
  scope: string;
  startNs: bigint;
  attributes: Attributes;
  resource: Attributes;
  events: Array<{ name: string; attributes: Attributes }>;
  links: Array<{ traceId: string; spanId: string; attributes: Attributes }>;
  status: { code: number; message: string };
}

function valueOf(value: AnyValue | undefined): unknown {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(valueOf);
  if (value.kvlistValue) return attributesOf(value.kvlistValue.values);
  if (value.bytesValue !== undefined) return value.bytesValue;
  return undefined;
}

function attributesOf(list: KeyValue[] | undefined): Attributes {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));
}

/** The JSON exporter writes ids as hex; the protobuf-to-JSON mapping would write base64. Both end up hex here. */
function hexId(id: string | undefined): string {
  if (!id) return '';
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT (the exporters append /v1/traces). */
  url: string;
  /** What a service needs to export every span here as OTLP/JSON within 100 ms (overriding the shell's settings). */
  env: Record<string, string | undefined>;
  spans: ReceivedSpan[];
  /** Every request body received, decompressed, as text. */
  bodies: string[];
  /** Requests that could not be parsed (a test should expect none). */
  errors: string[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const bodies: string[] = [];
  const errors: string[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      try {
        if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
        const text = raw.toString('utf8');
        if (req.url === '/v1/traces') {
          if (!(req.headers['content-type'] ?? '').includes('json')) {
            throw new Error(`expected OTLP JSON, got ${req.headers['content-type']} (set OTEL_EXPORTER_OTLP_PROTOCOL=http/json)`);
          }
          bodies.push(text);
          spans.push(...flatten(JSON.parse(text) as ExportTraceServiceRequest));
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
        res.writeHead(400, { 'content-type': 'application/json' }).end('{}');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_SDK_DISABLED: undefined,
    },
    spans,
    bodies,
    errors,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

function flatten(request: ExportTraceServiceRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const resourceSpans of request.resourceSpans ?? []) {
    const resource = attributesOf(resourceSpans.resource?.attributes);
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        out.push({
          traceId: hexId(span.traceId),
          spanId: hexId(span.spanId),
          parentSpanId: hexId(span.parentSpanId),
          name: span.name,
          kind: span.kind ?? 0,
          service: String(resource['service.name'] ?? ''),
          scope: scopeSpans.scope?.name ?? '',
          startNs: BigInt(span.startTimeUnixNano ?? 0),
          attributes: attributesOf(span.attributes),
          resource,
          events: (span.events ?? []).map((e) => ({ name: e.name, attributes: attributesOf(e.attributes) })),
          links: (span.links ?? []).map((l) => ({ traceId: hexId(l.traceId), spanId: hexId(l.spanId), attributes: attributesOf(l.attributes) })),
          status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
        });
      }
    }
  }
  return out;
}
