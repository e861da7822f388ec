// Test wiring for the sentiment and review tests: a service's memory store, outbox and unit of work on a shared
// embedded bus, its consumers started the way the platform starts them, and helpers to publish, record and wait
// for events. No server, no Runtime: handlers are called through an in-memory router transport.
import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import type { Consumer } from '../platform/bus/bus.js';
import { type ConsumerSpec, initInbox, startConsumer } from '../platform/bus/consumer.js';
import type { EmbeddedBus } from '../platform/bus/embedded.js';
import { decodeEvent, encodeEvent, type EventName, type EventOf } from '../platform/bus/events.js';
import { Outbox } from '../platform/bus/outbox.js';
import { createLogger, type Logger } from '../platform/log.js';
import { Metrics } from '../platform/metrics.js';
import { MemoryStore } from '../platform/store/memory.js';
import { createTransact, type Transact } from '../platform/unit-of-work.js';

export interface TestService {
  store: MemoryStore;
  transaction: Transact;
  metrics: Metrics;
  log: Logger;
  /** Starts a consumer as the platform would: queue `pulse.<service>.<purpose>`, inbox, unit of work. */
  consume<N extends EventName>(spec: ConsumerSpec<N>): Promise<Consumer>;
}

export async function testService(service: string, bus: EmbeddedBus): Promise<TestService> {
  const store = new MemoryStore(`pulse_${service}`);
  const log = createLogger(service, 'silent');
  const metrics = new Metrics(service);
  const tracer = trace.getTracer('test');
  const outbox = new Outbox(store, bus, { log, metrics, tracer });
  await outbox.init();
  await initInbox(store);
  const transaction = createTransact(store, outbox, bus);
  return {
    store,
    transaction,
    metrics,
    log,
    consume: (spec) =>
      startConsumer({ service, bus, store, transaction, tracer, metrics, log }, spec as unknown as ConsumerSpec<EventName>),
  };
}

/** Publishes an event straight onto the bus, as a producer's outbox would. */
export async function publish<N extends EventName>(bus: EmbeddedBus, name: N, event: EventOf<N> & { eventId: string }): Promise<void> {
  await bus.publish({ id: event.eventId, routingKey: name, ...encodeEvent(name, event), headers: {}, timestamp: new Date() });
}

/** Every event with this routing key published from now on, decoded, in arrival order. */
export async function record<N extends EventName>(bus: EmbeddedBus, name: N): Promise<EventOf<N>[]> {
  const seen: EventOf<N>[] = [];
  await bus.consume(
    { name: `test.${name}.${randomUUID()}`, bindings: [name], deadLetterQueue: 'test.dlq', prefetch: 100, maxAttempts: 1, retryDelaysMs: [10] },
    async (delivery) => {
      seen.push(decodeEvent(delivery) as EventOf<N>);
    },
  );
  return seen;
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** Polls probe until it returns something truthy (and returns that), or fails after timeoutMs saying what it waited for. */
export async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 5_000): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as Truthy<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves once the bus has no message waiting or in hand in any of these queues. */
export async function drained(bus: EmbeddedBus, queues: string[], timeoutMs = 5_000): Promise<void> {
  await until(
    `queues ${queues.join(', ')} to drain`,
    async () => {
      const depths = await Promise.all(queues.map((q) => bus.queueDepth(q)));
      return depths.every((d) => d === 0 || d === undefined);
    },
    timeoutMs,
  );
}
