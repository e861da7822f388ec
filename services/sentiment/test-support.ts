// Event helpers for the sentiment and review tests, whose services share one embedded bus (each service's platform
// is services/platform/testing.ts): publish, record and wait for events.
import { randomUUID } from 'node:crypto';
import type { EmbeddedBus } from '../platform/bus/embedded.js';
import { decodeEvent, encodeEvent, type EventName, type EventOf } from '../platform/bus/events.js';

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
