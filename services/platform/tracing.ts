// Spans for RPCs and messaging. OpenTelemetry's http instrumentation does not see HTTP/2 (h2c), so RPC spans come
// from these Connect interceptors, on both sides, whatever the protocol.
//
// Across the broker the trace continues as parent/child (docs/tracing.md says why): the publish span is a child of
// the unit of work that wrote the outbox row (its trace context is saved in the row), the W3C context of the publish
// travels in the message headers, and the consumer's process span continues it. So one trace runs from
// SubmitInteraction to the delivered notification. The exception is a message that arrives in another trace than
// the one it was published in (a dead letter replayed by an operator: the replay publishes it afresh): its process
// span then also links to the original publish, whose context rides along in the `pulse-origin` header.
//
// Spans carry ids and names, never message text or personal data: RPC spans the service, method and code (no
// request fields, no error messages), messaging spans the exchange, queue, routing key and ids; handlers add
// business ids with annotate() (span-ids.ts). Exception messages are scrubbed of addresses and phone numbers.
import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { ConnectError, type Interceptor } from '@connectrpc/connect';
import { codeName } from './errors.js';

/** Message header holding the W3C `traceparent` of the publish span, untouched by transport instrumentation. */
export const ORIGIN_HEADER = 'pulse-origin';

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

/**
 * The Connect code goes on every RPC span as `rpc.status_code` ("ok", "not_found", ...), and on failures also as
 * `rpc.connect_rpc.error_code`. The error's message is not recorded: it may repeat what the caller sent.
 */
function finish(span: Span, err?: unknown): void {
  if (err === undefined) {
    span.setAttribute('rpc.status_code', 'ok');
  } else {
    const code = codeName(ConnectError.from(err).code);
    span.setAttributes({ 'rpc.status_code': code, 'rpc.connect_rpc.error_code': code });
    span.setStatus({ code: SpanStatusCode.ERROR, message: code });
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

/** W3C trace context of the active span (or ctx), e.g. to save with an outbox row. */
export function currentTraceHeaders(ctx: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(ctx, headers);
  return headers;
}

/**
 * Trace headers for a message being published: the W3C context of the active (publish) span, which transport
 * instrumentation may replace with its own child span on the way, plus the same `traceparent` under
 * ORIGIN_HEADER, which nothing rewrites, so a consumer can still link to the publish after a replay.
 */
export function messageTraceHeaders(ctx: Context = context.active()): Record<string, string> {
  const headers = currentTraceHeaders(ctx);
  if (headers.traceparent) headers[ORIGIN_HEADER] = headers.traceparent;
  return headers;
}

/**
 * Parent and links of a span for a message. A publish (PRODUCER) continues the context saved with the outbox row.
 * A process (CONSUMER) span continues the context the message carries; when the message carries an origin from
 * another trace (replayed from a dead-letter queue), it links to that origin too.
 */
export function messageSpanContext(kind: SpanKind, headers: Record<string, string>): { parent: Context; links: Link[] } {
  const parent = propagation.extract(context.active(), headers, recordGetter);
  if (kind !== SpanKind.CONSUMER || !headers[ORIGIN_HEADER]) return { parent, links: [] };
  const origin = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, { traceparent: headers[ORIGIN_HEADER] }, recordGetter));
  if (!origin || origin.traceId === trace.getSpanContext(parent)?.traceId) return { parent, links: [] };
  return { parent, links: [{ context: origin, attributes: { 'pulse.link': 'origin' } }] };
}

const EMAIL = /[^\s@<>"'(),;:]+@[^\s@<>"'(),;:]+\.[A-Za-z]{2,}/g;
/** Seven or more digits, possibly grouped by spaces, dots, dashes or parentheses, not part of a word (an id). */
const PHONE = /(?<!\w)\+?\(?\d[\d\s().-]{5,}\d(?!\w)/g;
const MAX_EXCEPTION_MESSAGE = 300;

/** An error message fit for a span: addresses and phone-like numbers masked, bounded in length. */
export function scrub(message: string): string {
  return message.replace(EMAIL, '[email]').replace(PHONE, '[number]').slice(0, MAX_EXCEPTION_MESSAGE);
}

/** Runs fn in a span for publishing (PRODUCER) or processing (CONSUMER) one message; see messageSpanContext. */
export function withMessageSpan<T>(
  t: Tracer,
  name: string,
  kind: SpanKind,
  headers: Record<string, string>,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const { parent, links } = messageSpanContext(kind, headers);
  return t.startActiveSpan(name, { kind, attributes, links }, parent, async (span) => {
    try {
      const result = await fn(span);
      span.end();
      return result;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      span.recordException({ name: error.name, message: scrub(error.message) });
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.name });
      span.end();
      throw err;
    }
  });
}
