// Events straight on an embedded bus, for tests of services that talk through events (several may share one bus,
// see platform.ts): publish one as a producer's outbox would, record what others publish.
import { randomUUID } from 'node:crypto';
import type { EmbeddedBus } from '../../services/platform/bus/embedded.js';
import { decodeEvent, encodeEvent, type EventName, type EventOf } from '../../services/platform/bus/events.js';

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
