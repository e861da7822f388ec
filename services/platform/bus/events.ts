// Every message type that travels on the bus, by routing key, read from the contracts of the catalog's event
// files (event-registry.ts). Publishing and consuming go through this registry, so a body always decodes with the
// schema its routing key promises, and an unknown type is rejected outright. The platform names no event: each
// service that publishes one declares its entries of EventSchemas (below) next to its gen import.
import { type DescMessage, fromBinary, type MessageShape, toBinary } from '@bufbuild/protobuf';
import { EVENT_FILES } from '../catalog.js';
import { type BusMessage, PermanentError } from './bus.js';
import { buildEventRegistry, type EventType, missingField } from './event-registry.js';

/** Routing key -> event type, for this process; a contradictory contract stops the start. */
export const EVENT_TYPES: ReadonlyMap<string, EventType> = buildEventRegistry(EVENT_FILES);

/**
 * Routing key -> schema, for typing emit and consume: `emit('review.required', event)` takes a ReviewRequired.
 * Empty here; the service that publishes an event adds it by module augmentation (see
 * services/review/published-events.ts), and encodeEvent checks at run time that the contracts route it there.
 */
export interface EventSchemas {}

export type EventName = keyof EventSchemas & string;
export type EventOf<N extends EventName> = EventSchemas[N] extends DescMessage ? MessageShape<EventSchemas[N]> : never;

/** The body and type of an event, ready for a BusMessage; throws when the contracts route no such event there. */
export function encodeEvent<N extends EventName>(name: N, event: EventOf<N>): { type: string; body: Uint8Array } {
  const type = EVENT_TYPES.get(name);
  const message = event as MessageShape<DescMessage>;
  if (!type || message.$typeName !== type.schema.typeName) {
    throw new Error(`no contract routes ${message.$typeName} under "${name}"${type ? ` (it carries ${type.schema.typeName})` : ''}`);
  }
  return { type: type.schema.typeName, body: toBinary(type.schema, message) };
}

/**
 * The largest event body a consumer accepts. Pulse's own events are bounded by request validation (the largest, a
 * notification's status change carrying its inbox content, stays well under 100 KiB); anything far larger is not
 * one of them, and is dead-lettered before it costs a handler its time and memory.
 */
export const MAX_EVENT_BYTES = 1024 * 1024;

/** Decodes a received message; PermanentError when its routing key, type, size or body cannot be trusted. */
export function decodeEvent(message: Pick<BusMessage, 'routingKey' | 'type' | 'body'>): EventOf<EventName> {
  const type = EVENT_TYPES.get(message.routingKey);
  if (!type) throw new PermanentError(`unknown routing key "${message.routingKey.slice(0, 100)}"`);
  const { schema } = type;
  if (message.type !== schema.typeName) {
    throw new PermanentError(`type "${String(message.type).slice(0, 100)}" does not match ${message.routingKey} (${schema.typeName})`);
  }
  if (message.body.length > MAX_EVENT_BYTES) {
    throw new PermanentError(`${schema.typeName} body of ${message.body.length} bytes is over the ${MAX_EVENT_BYTES}-byte limit`);
  }
  let event: EventOf<EventName>;
  try {
    event = fromBinary(schema, message.body) as EventOf<EventName>;
  } catch (err) {
    throw new PermanentError(`undecodable ${schema.typeName} body: ${(err as Error).message.slice(0, 200)}`);
  }
  const missing = missingField(type, event);
  if (missing) throw new PermanentError(`${schema.typeName} without ${missing}`);
  return event;
}
