// Event consumers: the queue of each, its event decoding, metrics, process spans and failure logging. Consumers with
// an inbox (the default) are idempotent and batched (inbox-handler.ts); those without handle each event alone.
import { SpanKind, type Tracer } from '@opentelemetry/api';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/collection.js';
import { withMessageSpan } from '../tracing.js';
import type { UnitOfWork } from '../unit-of-work.js';
import { type Delivery, EXCHANGE, type EventBus, PermanentError, type QueueSpec } from './bus.js';
import { decodeEvent, EVENT_TYPES, type EventName, type EventOf } from './events.js';
import { INBOX, type InboxRecord, inboxHandler, type Outcome } from './inbox-handler.js';

interface ConsumerOptions<N extends EventName> {
  /** The queue is `pulse.<service>.<purpose>`. */
  purpose: string;
  /** Routing keys bound to the queue. */
  events: readonly N[];
  /** Messages in hand at once. Default 32. */
  prefetch?: number;
  /** Attempts before dead-lettering. Default 5. */
  maxAttempts?: number;
  /** Backoff per retry. Default 1 s, 5 s, 30 s, 2 min. */
  retryDelaysMs?: number[];
}

export type ConsumerSpec<N extends EventName> = ConsumerOptions<N> &
  (
    | {
        /** Default: each event id is recorded in the inbox, in one unit of work with the handler's writes. */
        inbox?: true;
        /** Does the work; writes through tx commit together with the inbox record. */
        handle(event: EventOf<N>, tx: UnitOfWork, delivery: Delivery): Promise<void>;
      }
    | {
        /**
         * For handlers that are idempotent by themselves and must not hold a transaction open (delivery jobs,
         * whose records' conditional updates make a repeat harmless; cache invalidation).
         */
        inbox: false;
        handle(event: EventOf<N>, delivery: Delivery): Promise<void>;
      }
  );

/** How long a processed event's id is remembered: a redelivery later than that would be processed again. */
export const INBOX_RETENTION_SECONDS = 7 * 24 * 3_600;

export async function initInbox(store: Store, retentionSeconds = INBOX_RETENTION_SECONDS): Promise<void> {
  await store.collection<InboxRecord>(INBOX).createIndex({ processedAt: 1 }, { expireAfterSeconds: retentionSeconds });
}

export interface ConsumerDeps {
  service: string;
  bus: EventBus;
  store: Store;
  transaction: <R>(fn: (tx: UnitOfWork) => Promise<R>) => Promise<R>;
  tracer: Tracer;
  metrics: Metrics;
  log: Logger;
}

/** The queue of a consumer; throws (at start-up) for a routing key no contract defines, which would bind nothing. */
export function queueSpec(service: string, spec: ConsumerSpec<EventName>): QueueSpec {
  const unknown = spec.events.filter((key) => !EVENT_TYPES.has(key));
  if (unknown.length > 0) throw new Error(`consumer ${service}.${spec.purpose} binds ${unknown.join(', ')}, which no contract defines`);
  return {
    name: `pulse.${service}.${spec.purpose}`,
    bindings: [...spec.events],
    deadLetterQueue: `pulse.${service}.dlq`,
    prefetch: spec.prefetch ?? 32,
    maxAttempts: spec.maxAttempts ?? 5,
    retryDelaysMs: spec.retryDelaysMs ?? [1_000, 5_000, 30_000, 120_000],
  };
}

export function startConsumer<N extends EventName>(deps: ConsumerDeps, spec: ConsumerSpec<N>) {
  const queue = queueSpec(deps.service, spec as ConsumerSpec<EventName>);
  const handleDecoded =
    spec.inbox === false
      ? async (event: EventOf<N>, delivery: Delivery): Promise<Outcome> => {
          await spec.handle(event, delivery);
          return 'processed';
        }
      : inboxHandler(deps, queue.name, queue.prefetch, spec.handle);
  const handle = (delivery: Delivery) => handleDecoded(decodeEvent(delivery) as EventOf<N>, delivery);

  return deps.bus.consume(queue, async (delivery) => {
    const attributes = {
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': queue.name,
      'messaging.rabbitmq.destination.routing_key': delivery.routingKey,
      'messaging.message.id': delivery.id,
      'pulse.exchange': EXCHANGE,
      'pulse.event_type': delivery.type,
      'pulse.attempt': delivery.attempt,
    };
    await withMessageSpan(deps.tracer, `process ${delivery.routingKey}`, SpanKind.CONSUMER, delivery.headers, attributes, async () => {
      try {
        const outcome = await handle(delivery);
        deps.metrics.eventsConsumed.inc({ queue: queue.name, outcome });
        deps.metrics.consumeLag.observe({ queue: queue.name }, (Date.now() - delivery.timestamp.getTime()) / 1000);
      } catch (err) {
        const final = err instanceof PermanentError || delivery.attempt >= queue.maxAttempts;
        deps.metrics.eventsConsumed.inc({ queue: queue.name, outcome: final ? 'dead_lettered' : 'retried' });
        deps.log.warn(
          { err, queue: queue.name, event_id: delivery.id, attempt: delivery.attempt },
          final ? 'event handling failed for good; dead-lettering' : 'event handling failed; will retry',
        );
        throw err;
      }
    });
  });
}
