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

/** Decodes a received message; PermanentError when its routing key, type or body cannot be trusted. */
export function decodeEvent(message: Pick<BusMessage, 'routingKey' | 'type' | 'body'>): EventOf<EventName> {
  const schema = (EVENT_SCHEMAS as Record<string, DescMessage>)[message.routingKey];
  if (!schema) throw new PermanentError(`unknown routing key "${message.routingKey.slice(0, 100)}"`);
  if (message.type !== schema.typeName) {
    throw new PermanentError(`type "${String(message.type).slice(0, 100)}" does not match ${message.routingKey} (${schema.typeName})`);
  }
  try {
    return fromBinary(schema, message.body) as EventOf<EventName>;
  } catch (err) {
    throw new PermanentError(`undecodable ${schema.typeName} body: ${(err as Error).message.slice(0, 200)}`);
  }
}
