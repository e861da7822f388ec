// Spans for RPCs and messaging. OpenTelemetry's http instrumentation does not see HTTP/2 (h2c), so RPC spans come
// from these Connect interceptors, on both sides, whatever the protocol. Across the broker the consumer span is a
// child of the publish span (W3C trace context in the message headers), so one trace runs from
// SubmitInteraction to the delivered notification.
import {
  type Attributes,
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';

const headersGetter: TextMapGetter<Headers> = {
  get: (carrier, key) => carrier.get(key) ?? undefined,
  keys: (carrier) => [...carrier.keys()],
};

const recordGetter: TextMapGetter<Record<string, string>> = {
  get: (carrier, key) => carrier[key],
  keys: (carrier) => Object.keys(carrier),
};

export function tracer(service: string): Tracer {
  return trace.getTracer(`pulse.${service}`);
}

/** connect, grpc or grpc-web, from the request's content type. */
export function protocolOf(header: Headers): string {
  const type = header.get('content-type') ?? '';
  if (type.startsWith('application/grpc-web')) return 'grpc-web';
  if (type.startsWith('application/grpc')) return 'grpc';
  return 'connect';
}

function rpcAttributes(typeName: string, method: string): Attributes {
  return { 'rpc.system': 'connect_rpc', 'rpc.service': typeName, 'rpc.method': method };
}

function finish(span: Span, err?: unknown): void {
  if (err !== undefined) {
    const code = ConnectError.from(err).code;
    span.setAttribute('rpc.connect_rpc.error_code', Code[code]);
    span.setStatus({ code: SpanStatusCode.ERROR, message: Code[code] });
  }
  span.end();
}

/** Ends the span when a streamed response finishes instead of when the stream is returned. */
async function* traced<T>(span: Span, messages: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* messages;
    finish(span);
  } catch (err) {
    finish(span, err);
    throw err;
  }
}

export function serverTracing(t: Tracer): Interceptor {
  return (next) => async (req) => {
    const parent = propagation.extract(context.active(), req.header, headersGetter);
    const span = t.startSpan(
      `${req.service.typeName}/${req.method.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: { ...rpcAttributes(req.service.typeName, req.method.name), 'pulse.rpc.protocol': protocolOf(req.header) },
      },
      parent,
    );
    try {
      const res = await context.with(trace.setSpan(parent, span), () => next(req));
      if (res.stream) return { ...res, message: traced(span, res.message) };
      finish(span);
      return res;
    } catch (err) {
      finish(span, err);
      throw err;
    }
  };
}

export function clientTracing(t: Tracer, peer: string): Interceptor {
  return (next) => async (req) => {
    const span = t.startSpan(`${req.service.typeName}/${req.method.name}`, {
      kind: SpanKind.CLIENT,
      attributes: { ...rpcAttributes(req.service.typeName, req.method.name), 'pulse.peer': peer },
    });
    const ctx = trace.setSpan(context.active(), span);
    propagation.inject(ctx, req.header, { set: (carrier, key, value) => carrier.set(key, value) });
    try {
      const res = await context.with(ctx, () => next(req));
      if (res.stream) return { ...res, message: traced(span, res.message) };
      finish(span);
      return res;
    } catch (err) {
      finish(span, err);
      throw err;
    }
  };
}

/** W3C trace context of the active span, for message headers. */
export function currentTraceHeaders(ctx: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(ctx, headers);
  return headers;
}

/** Runs fn in a span that continues the trace carried by message headers. */
export function withMessageSpan<T>(
  t: Tracer,
  name: string,
  kind: SpanKind,
  headers: Record<string, string>,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = propagation.extract(context.active(), headers, recordGetter);
  return t.startActiveSpan(name, { kind, attributes }, parent, async (span) => {
    try {
      const result = await fn(span);
      span.end();
      return result;
    } catch (err) {
      span.recordException({ name: (err as Error).name ?? 'Error', message: (err as Error).message ?? String(err) });
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw err;
    }
  });
}
