// Every message type that travels on the bus, by routing key. Publishing and consuming go through this table, so
// a body always decodes with the schema its routing key promises, and an unknown type is rejected outright.
import { type DescMessage, fromBinary, type MessageShape, toBinary } from '@bufbuild/protobuf';
import {
  AssistanceRequestedSchema,
  InteractionReceivedSchema,
  NotificationStatusChangedSchema,
  PreferencesChangedSchema,
  ReviewRequiredSchema,
  ReviewResolvedSchema,
  SentimentAnalyzedSchema,
} from '../../../gen/pulse/events/v1/events_pb.js';
import { DeliveryJobSchema } from '../../../gen/pulse/notification/v1/delivery_job_pb.js';
import { type BusMessage, PermanentError } from './bus.js';

export const EVENT_SCHEMAS = {
  'customer.interaction.new': InteractionReceivedSchema,
  'sentiment.analysis.complete': SentimentAnalyzedSchema,
  'review.required': ReviewRequiredSchema,
  'review.resolved': ReviewResolvedSchema,
  'assistance.requested': AssistanceRequestedSchema,
  'notification.status.changed': NotificationStatusChangedSchema,
  'preference.changed': PreferencesChangedSchema,
  // Delivery jobs are commands internal to notification, one lane per priority; they ride the same exchange so
  // they get the same confirms, retries, dead-lettering and tracing.
  'notification.delivery.critical': DeliveryJobSchema,
  'notification.delivery.high': DeliveryJobSchema,
  'notification.delivery.medium': DeliveryJobSchema,
  'notification.delivery.low': DeliveryJobSchema,
} as const satisfies Record<string, DescMessage>;

export type EventName = keyof typeof EVENT_SCHEMAS;
export type EventOf<N extends EventName> = MessageShape<(typeof EVENT_SCHEMAS)[N]>;

/** The body and type of an event, ready for a BusMessage. */
export function encodeEvent<N extends EventName>(name: N, event: EventOf<N>): { type: string; body: Uint8Array } {
  const schema = EVENT_SCHEMAS[name] as DescMessage;
  return { type: schema.typeName, body: toBinary(schema, event as MessageShape<DescMessage>) };
}

/**
 * The largest event body a consumer accepts. Pulse's own events are bounded by request validation (the largest, a
 * notification's status change carrying its inbox content, stays well under 100 KiB); anything far larger is not
 * one of them, and is dead-lettered before it costs a handler its time and memory.
 */
export const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * Fields (proto names; a oneof by its name) without which an event means nothing: its id, and the ids of what it
 * is about. A body that decodes but lacks them (an empty body decodes to all defaults; so does most of a foreign
 * message) is dead-lettered instead of being handled as a record with empty keys.
 */
const REQUIRED_FIELDS: { readonly [N in EventName]: readonly string[] } = {
  'customer.interaction.new': ['event_id', 'message_id', 'conversation_id'],
  'sentiment.analysis.complete': ['event_id', 'message_id', 'conversation_id'],
  'review.required': ['event_id', 'review_id'],
  'review.resolved': ['event_id', 'review_id'],
  'assistance.requested': ['event_id', 'request_id', 'topic'],
  'notification.status.changed': ['event_id', 'notification_id'],
  'preference.changed': ['event_id', 'subject'],
  'notification.delivery.critical': ['job_id', 'delivery_id'],
  'notification.delivery.high': ['job_id', 'delivery_id'],
  'notification.delivery.medium': ['job_id', 'delivery_id'],
  'notification.delivery.low': ['job_id', 'delivery_id'],
};

/** The first required field the event lacks, if any. */
export function missingField(name: EventName, event: EventOf<EventName>): string | undefined {
  const schema = EVENT_SCHEMAS[name] as DescMessage;
  const values = event as unknown as Record<string, unknown>;
  for (const required of REQUIRED_FIELDS[name]) {
    const oneof = schema.oneofs.find((o) => o.name === required);
    if (oneof) {
      if ((values[oneof.localName] as { case?: string } | undefined)?.case === undefined) return required;
      continue;
    }
    const field = schema.fields.find((f) => f.name === required);
    const value = field ? values[field.localName] : undefined;
    if (value === undefined || value === '' || value === null) return required;
  }
  return undefined;
}

/** Decodes a received message; PermanentError when its routing key, type, size or body cannot be trusted. */
export function decodeEvent(message: Pick<BusMessage, 'routingKey' | 'type' | 'body'>): EventOf<EventName> {
  const schema = (EVENT_SCHEMAS as Record<string, DescMessage>)[message.routingKey];
  if (!schema) throw new PermanentError(`unknown routing key "${message.routingKey.slice(0, 100)}"`);
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
  const missing = missingField(message.routingKey as EventName, event);
  if (missing) throw new PermanentError(`${schema.typeName} without ${missing}`);
  return event;
}
