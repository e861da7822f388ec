// Tracing of a batch: each event keeps its own process span, continuing the trace it was published in, and its
// handler (and what it emits) runs in that span; the batch's span links to the events' spans.
import { create } from '@bufbuild/protobuf';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import { context, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { node } from '@opentelemetry/sdk-node';
import { afterAll, expect, it } from 'vitest';
import { ReviewResolvedSchema } from '../../../gen/pulse/events/v1/events_pb.js';
import { until } from '../../../test/support/poll.js';
import { createLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { MemoryStore } from '../store/memory.js';
import { messageTraceHeaders, tracer } from '../tracing.js';
import { createTransact } from '../unit-of-work.js';
import { initInbox, startConsumer } from './consumer.js';
import { EmbeddedBus } from './embedded.js';
import { encodeEvent } from './events.js';
import { Outbox, type OutboxRow } from './outbox.js';

const exporter = new node.InMemorySpanExporter();
const provider = new node.NodeTracerProvider({ spanProcessors: [new node.SimpleSpanProcessor(exporter)] });
provider.register();

afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

it('gives each event of a batch its own process span in its own trace, linked from the batch span', async () => {
  const store = new MemoryStore('pulse_batch_tracing');
  const bus = new EmbeddedBus();
  const deps = { log: createLogger('test', 'silent'), metrics: new Metrics('test'), tracer: tracer('test') };
  const outbox = new Outbox(store, bus, deps);
  await initInbox(store);
  const activeInHandler = new Map<string, string | undefined>();
  await startConsumer(
    { service: 'test', bus, store, transaction: createTransact(store, outbox, bus), ...deps },
    {
      purpose: 'resolved',
      events: ['review.resolved'],
      handle: async (event, tx) => {
        activeInHandler.set(event.eventId, trace.getActiveSpan()?.spanContext().spanId);
        if (event.reviewer === 'ann') {
          const echo = create(ReviewResolvedSchema, { eventId: `echo-${event.eventId}`, occurredAt: timestampNow(), reviewId: event.reviewId, reviewer: 'bob' });
          await tx.emit('review.resolved', echo);
        }
      },
    },
  );

  // Three events, each published in a trace of its own, handed to the consumer in one turn.
  const published = new Map<string, string>();
  await Promise.all(
    ['e1', 'e2', 'e3'].map((id) => {
      const span = tracer('publisher').startSpan(`publish ${id}`, { kind: SpanKind.PRODUCER }, ROOT_CONTEXT);
      published.set(id, span.spanContext().traceId);
      const headers = messageTraceHeaders(trace.setSpan(ROOT_CONTEXT, span));
      span.end();
      const event = create(ReviewResolvedSchema, { eventId: id, occurredAt: timestampNow(), reviewId: `rev-${id}`, reviewer: 'ann' });
      return bus.publish({ id, routingKey: 'review.resolved', ...encodeEvent('review.resolved', event), headers, timestamp: new Date() });
    }),
  );
  await until('the events and their echoes handled', () => activeInHandler.size === 6);

  const spans = exporter.getFinishedSpans();
  const processOf = (id: string) =>
    spans.find((s) => s.name === 'process review.resolved' && s.attributes['messaging.message.id'] === id && s.spanContext().traceId === published.get(id));
  const batch = spans.find((s) => s.name === 'process batch pulse.test.resolved' && s.attributes['messaging.batch.message_count'] === 3);
  expect(batch).toBeDefined();
  for (const id of ['e1', 'e2', 'e3']) {
    const process = processOf(id);
    expect(process, `process span of ${id} in its publisher's trace`).toBeDefined();
    expect(activeInHandler.get(id)).toBe(process!.spanContext().spanId);
    expect(batch!.links.map((link) => link.context.spanId)).toContain(process!.spanContext().spanId);
    // What the handler emitted carries its event's trace on.
    const row = await store.collection<OutboxRow>('outbox').findOne({ _id: `echo-${id}` });
    expect(row!.headers.traceparent).toContain(published.get(id));
  }
});
