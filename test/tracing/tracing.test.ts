// Fast checks of the tracing pieces, in process with an in-memory exporter (the cross-process trace is in
// trace-across-processes.test.ts): the Connect interceptors' client and server spans, message spans across a
// publish and a consume (parent/child; a link when a message arrives in another trace), the scrubbing of exception
// messages, annotate(); and, in a child process started like a service, that the auto-instrumentations really patch
// the packages the services `import` (which needs the ESM loader hook).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Code, ConnectError, createClient, createRouterTransport } from '@connectrpc/connect';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { node } from '@opentelemetry/sdk-node';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Health, HealthCheckResponse_ServingStatus } from '../../gen/grpc/health/v1/health_pb.js';
import { annotate } from '../../services/platform/span-ids.js';
import {
  clientTracing,
  messageTraceHeaders,
  ORIGIN_HEADER,
  scrub,
  serverTracing,
  tracer as pulseTracer,
  withMessageSpan,
} from '../../services/platform/tracing.js';

const exporter = new node.InMemorySpanExporter();
const provider = new node.NodeTracerProvider({ spanProcessors: [new node.SimpleSpanProcessor(exporter)] });
provider.register(); // AsyncLocalStorage context manager and the W3C propagator, as NodeSDK sets them up

afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

beforeEach(() => exporter.reset());

const finished = () => exporter.getFinishedSpans();
const t = pulseTracer('test');

describe('Connect interceptors', () => {
  const transport = (check: () => void) =>
    createRouterTransport(
      (router) =>
        router.service(Health, {
          check() {
            check();
            return { status: HealthCheckResponse_ServingStatus.SERVING };
          },
        }),
      { transport: { interceptors: [clientTracing(t, 'peer-x')] }, router: { interceptors: [serverTracing(t)] } },
    );

  it('makes a client span and a server span that continues it, with the RPC attributes and the code', async () => {
    const client = createClient(Health, transport(() => annotate({ 'pulse.review_id': 'rev-1' })));
    await client.check({ service: '' });
    const [server, clientSpan] = finished();
    expect(clientSpan).toMatchObject({ name: 'grpc.health.v1.Health/Check', kind: SpanKind.CLIENT });
    expect(server).toMatchObject({ name: 'grpc.health.v1.Health/Check', kind: SpanKind.SERVER });
    expect(server.spanContext().traceId).toBe(clientSpan.spanContext().traceId);
    expect(server.parentSpanContext?.spanId).toBe(clientSpan.spanContext().spanId);
    const rpc = { 'rpc.system': 'connect_rpc', 'rpc.service': 'grpc.health.v1.Health', 'rpc.method': 'Check', 'rpc.status_code': 'ok' };
    expect(clientSpan.attributes).toEqual({ ...rpc, 'pulse.peer': 'peer-x' });
    // annotate() in a handler lands on the server span.
    expect(server.attributes).toEqual({ ...rpc, 'pulse.rpc.protocol': 'connect', 'pulse.review_id': 'rev-1' });
  });

  it('records the Connect code of a failure on both sides, but not its message', async () => {
    const client = createClient(
      Health,
      transport(() => {
        throw new ConnectError('no preferences for zed@example.org', Code.NotFound);
      }),
    );
    await expect(client.check({ service: '' })).rejects.toThrow(ConnectError);
    expect(finished()).toHaveLength(2);
    for (const span of finished()) {
      expect(span.attributes).toMatchObject({ 'rpc.status_code': 'not_found', 'rpc.connect_rpc.error_code': 'not_found' });
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'not_found' });
      expect(JSON.stringify([span.attributes, span.events, span.status])).not.toContain('zed@example.org');
    }
  });
});

describe('message spans', () => {
  /** Publishes as the outbox does: in the unit of work's context, with the headers a message gets. */
  async function publish(): Promise<{ headers: Record<string, string>; unitOfWork: string }> {
    return t.startActiveSpan('unit of work', async (work) => {
      const saved: Record<string, string> = {};
      propagation.inject(context.active(), saved);
      work.end();
      const headers = await context.with(ROOT_CONTEXT, () =>
        withMessageSpan(t, 'publish some.event', SpanKind.PRODUCER, saved, {}, async () => messageTraceHeaders()),
      );
      return { headers, unitOfWork: work.spanContext().spanId };
    });
  }

  it('continue the trace: unit of work -> publish -> process', async () => {
    const { headers, unitOfWork } = await publish();
    expect(headers[ORIGIN_HEADER]).toBe(headers.traceparent);
    await context.with(ROOT_CONTEXT, () => withMessageSpan(t, 'process some.event', SpanKind.CONSUMER, headers, {}, async () => {}));
    const [, published, processed] = finished();
    expect(published.parentSpanContext?.spanId).toBe(unitOfWork);
    expect(processed.parentSpanContext?.spanId).toBe(published.spanContext().spanId);
    expect(processed.spanContext().traceId).toBe(published.spanContext().traceId);
    expect(processed.links).toEqual([]);
  });

  it('link a message that arrives in another trace (a replayed dead letter) to where it was published', async () => {
    const { headers } = await publish();
    const published = finished()[1];
    // The replay publishes it afresh from the operator's request: transport instrumentation rewrites traceparent.
    const replay = t.startSpan('ReplayDeadLetters');
    const replayed = { ...headers, traceparent: `00-${replay.spanContext().traceId}-${replay.spanContext().spanId}-01` };
    await context.with(ROOT_CONTEXT, () => withMessageSpan(t, 'process some.event', SpanKind.CONSUMER, replayed, {}, async () => {}));
    replay.end();
    const processed = finished().find((s) => s.name === 'process some.event')!;
    expect(processed.spanContext().traceId).toBe(replay.spanContext().traceId);
    expect(processed.links).toEqual([{ context: expect.objectContaining({ spanId: published.spanContext().spanId }), attributes: { 'pulse.link': 'origin' } }]);
  });

  it('record a failure with its message scrubbed of addresses and phone numbers', async () => {
    const failing = withMessageSpan(t, 'process some.event', SpanKind.CONSUMER, {}, {}, async () => {
      throw new Error('cannot notify zed.quill@example.org or +1 (555) 014-7392 about ntf_0mwq4vhcr00009969c9efe89f');
    });
    await expect(failing).rejects.toThrow('zed.quill@example.org');
    const [span] = finished();
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Error' });
    expect(span.events[0].attributes).toEqual({
      'exception.type': 'Error',
      'exception.message': 'cannot notify [email] or [number] about ntf_0mwq4vhcr00009969c9efe89f',
    });
  });
});

describe('scrub', () => {
  it('masks addresses and phone-like numbers, keeps ids, codes and durations', () => {
    expect(scrub('to a.b+c@mail.example.com, +44 20 7946 0958, 555-0147392, (212) 555-0199')).toBe('to [email], [number], [number], [number]');
    expect(scrub('delivery dlv_0mwq54kky0001bad134e17a5f: timeout after 120000 ms (code 503)')).toBe(
      'delivery dlv_0mwq54kky0001bad134e17a5f: timeout after 120000 ms (code 503)',
    );
    expect(scrub('x'.repeat(1000))).toHaveLength(300);
  });
});

describe('annotate', () => {
  it('sets the given, non-empty ids on the active span and does nothing outside one', () => {
    annotate({ 'pulse.interaction_id': 'lost' });
    t.startActiveSpan('handler', (span) => {
      annotate({ 'pulse.interaction_id': 'm-1', 'pulse.conversation_id': '', 'pulse.notification_id': 'ntf-1' });
      span.end();
    });
    expect(finished().map((s) => s.attributes)).toEqual([{ 'pulse.interaction_id': 'm-1', 'pulse.notification_id': 'ntf-1' }]);
  });
});

describe('auto-instrumentation of ES modules', () => {
  const run = promisify(execFile);
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const patched = async (register: string) => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--import', register, 'test/tracing/fixtures/patched-modules.ts'], {
      cwd: root,
      env: { ...process.env, OTEL_SDK_DISABLED: undefined, OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_SERVICE_NAME: 'fixture' },
      timeout: 30_000,
    });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, boolean>;
  };

  it('patches http, amqplib, mongodb and pino in a process started like a service', async () => {
    expect(await patched('./services/platform/telemetry-register.ts')).toEqual({ http: true, amqplib: true, mongodb: true, pino: true });
  }, 40_000);

  it('would miss pino without the ESM loader hook (the control)', async () => {
    expect(await patched('./test/tracing/fixtures/sdk-without-hook.ts')).toMatchObject({ pino: false });
  }, 40_000);
});
