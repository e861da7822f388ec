// How a BusMessage maps onto an AMQP message and back.
//
// Properties: message_id, type, content_type and timestamp (AMQP timestamps are whole seconds, so the exact
// milliseconds also travel in a header). Headers: the message's own (W3C trace context) plus a few internal ones
// that never reach a handler: the attempt count, and the event's routing key once the message has been moved to a
// retry queue or DLQ through the default exchange (whose routing key is then a queue name).
import type { Message, Options } from 'amqplib';
import { ATTEMPT_HEADER, type BusMessage, type Delivery } from './bus.js';

const CONTENT_TYPE = 'application/x-protobuf';
const ROUTING_KEY_HEADER = 'x-pulse-routing-key';
const TIMESTAMP_MS_HEADER = 'x-pulse-timestamp-ms';
const INTERNAL_HEADERS = new Set([ATTEMPT_HEADER, ROUTING_KEY_HEADER, TIMESTAMP_MS_HEADER]);
/** Set by RabbitMQ itself when a retry queue dead-letters a message. */
const BROKER_HEADER = /^x-(death$|first-death-|last-death-)/;

export type InternalHeaders = Record<string, string | number>;

export function publishOptions(message: BusMessage, internal: InternalHeaders = {}): Options.Publish {
  const ms = message.timestamp.getTime();
  return {
    messageId: message.id || undefined,
    type: message.type || undefined,
    timestamp: Math.floor(ms / 1000),
    contentType: CONTENT_TYPE,
    persistent: true,
    mandatory: true,
    headers: { ...message.headers, [TIMESTAMP_MS_HEADER]: ms, ...internal },
  };
}

/** Options for moving a delivery to another queue (retry, DLQ, replay), keeping its event routing key. */
export function forwardOptions(delivery: Delivery, internal: InternalHeaders = {}): Options.Publish {
  return publishOptions(delivery, { [ROUTING_KEY_HEADER]: delivery.routingKey, ...internal });
}

/** Never throws: a missing message_id or type is left empty for the consumer to reject. */
export function readDelivery(message: Message, queue: string): Delivery {
  const { properties } = message;
  const raw: Record<string, unknown> = properties.headers ?? {};
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value === 'string' && !INTERNAL_HEADERS.has(name) && !BROKER_HEADER.test(name)) headers[name] = value;
  }
  const attempt = Number(raw[ATTEMPT_HEADER]);
  const routingKey = raw[ROUTING_KEY_HEADER];
  return {
    id: typeof properties.messageId === 'string' ? properties.messageId : '',
    routingKey: typeof routingKey === 'string' ? routingKey : message.fields.routingKey,
    type: typeof properties.type === 'string' ? properties.type : '',
    body: message.content,
    headers,
    timestamp: readTimestamp(raw[TIMESTAMP_MS_HEADER], properties.timestamp),
    queue,
    attempt: Number.isInteger(attempt) && attempt >= 1 ? attempt : 1,
  };
}

function readTimestamp(ms: unknown, seconds: unknown): Date {
  if (typeof ms === 'number' && ms > 0) return new Date(ms);
  if (typeof seconds === 'number' && seconds > 0) return new Date(seconds * 1000);
  return new Date();
}
