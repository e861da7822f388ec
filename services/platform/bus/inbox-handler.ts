// The handling of an inbox consumer's events (consumer.ts): idempotent, and batched. Each handled event id is
// recorded in the service's `inbox` collection in the same unit of work as the handler's effects, so a redelivered
// or re-published event is acknowledged and skipped, and a handler that fails leaves no trace of itself.
//
// The events a consumer has in hand are handled in batches (batches.ts): one unit of work per batch (one
// transaction, one journal frame, one inbox insertMany, one publish of what its handlers emitted), so the bus
// acknowledges them together once it committed. When a batch fails, its events run again one by one, so a failing
// event is retried or dead-lettered alone, as if it had never been in a batch. Each event's handler runs in the
// event's own process span; the batch's span links to them.
import { type Context, context, ROOT_CONTEXT, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { Logger } from '../log.js';
import { type Doc, isDuplicateKey, type Store } from '../store/collection.js';
import type { Transact, UnitOfWork } from '../unit-of-work.js';
import { Batches, type Settled } from './batches.js';
import type { Delivery } from './bus.js';
import type { EventName, EventOf } from './events.js';

export interface InboxRecord extends Doc {
  processedAt: Date;
}

export const INBOX = 'inbox';

export type Outcome = 'processed' | 'duplicate';

export type InboxHandle<N extends EventName> = (event: EventOf<N>, tx: UnitOfWork, delivery: Delivery) => Promise<void>;

/** One event in hand, waiting for its batch, with the context of its process span. */
interface InHand<N extends EventName> {
  delivery: Delivery;
  event: EventOf<N>;
  key: string;
  context: Context;
}

class AlreadyProcessed extends Error {}

interface InboxHandlerDeps {
  store: Store;
  transaction: Transact;
  tracer: Tracer;
  log: Logger;
}

/**
 * Handles each decoded event of queue (called in the event's process span) in a batch of at most maxBatch; resolves
 * with its outcome once its unit of work committed, or rejects with what failed it when handled alone.
 */
export function inboxHandler<N extends EventName>(
  deps: InboxHandlerDeps,
  queue: string,
  maxBatch: number,
  handle: InboxHandle<N>,
): (event: EventOf<N>, delivery: Delivery) => Promise<Outcome> {
  const inbox = deps.store.collection<InboxRecord>(INBOX);
  const handleIn = (entry: InHand<N>, tx: UnitOfWork) => context.with(entry.context, () => handle(entry.event, tx, entry.delivery));

  /** One event in a unit of work of its own, all in the event's process span. */
  const handleAlone = (entry: InHand<N>): Promise<Outcome> =>
    context.with(entry.context, async () => {
      if (await inbox.findOne({ _id: entry.key })) return 'duplicate';
      try {
        await deps.transaction(async (tx) => {
          try {
            await tx.collection<InboxRecord>(INBOX).insertOne({ _id: entry.key, processedAt: new Date() });
          } catch (err) {
            if (isDuplicateKey(err)) throw new AlreadyProcessed();
            throw err;
          }
          await handleIn(entry, tx);
        });
        return 'processed';
      } catch (err) {
        if (err instanceof AlreadyProcessed) return 'duplicate';
        throw err;
      }
    });

  /**
   * The events of a batch in one unit of work: one insertMany of the ids not recorded yet (an event recorded before,
   * or twice in the batch, is a duplicate), then each handler in turn, all committed together.
   */
  const handleTogether = (entries: Array<InHand<N>>): Promise<Outcome[]> =>
    deps.transaction(async (tx) => {
      const records = tx.collection<InboxRecord>(INBOX);
      const seen = new Set((await records.find({ _id: { $in: entries.map((entry) => entry.key) } })).map((record) => record._id));
      const outcomes: Outcome[] = [];
      const fresh: InboxRecord[] = [];
      const processedAt = new Date();
      for (const { key } of entries) {
        outcomes.push(seen.has(key) ? 'duplicate' : 'processed');
        if (!seen.has(key)) fresh.push({ _id: key, processedAt });
        seen.add(key);
      }
      await records.insertMany(fresh);
      for (let i = 0; i < entries.length; i++) if (outcomes[i] === 'processed') await handleIn(entries[i], tx);
      return outcomes;
    });

  const handleBatch = async (entries: Array<InHand<N>>): Promise<Array<Settled<Outcome>>> => {
    if (entries.length === 1) return Promise.allSettled([handleAlone(entries[0])]);
    try {
      const outcomes = await withBatchSpan(deps.tracer, queue, entries, () => handleTogether(entries));
      return outcomes.map((value) => ({ status: 'fulfilled', value }));
    } catch (err) {
      // One failing event must not hold back the others: each runs alone, so only the failing one is retried or
      // dead-lettered.
      deps.log.debug({ err, queue, events: entries.length }, 'a batch failed; handling its events one by one');
      return Promise.allSettled(entries.map(handleAlone));
    }
  };

  const batches = new Batches<InHand<N>, Outcome>(maxBatch, handleBatch);
  return (event, delivery) => batches.add({ delivery, event, key: `${queue}:${delivery.id}`, context: context.active() });
}

/** A span for a batch's unit of work, linked to the process span of each of its events. */
function withBatchSpan<R>(t: Tracer, queue: string, entries: Array<{ context: Context }>, fn: () => Promise<R>): Promise<R> {
  const links = entries.flatMap((entry) => {
    const linked = trace.getSpanContext(entry.context);
    return linked ? [{ context: linked }] : [];
  });
  const attributes = { 'messaging.destination.name': queue, 'messaging.batch.message_count': entries.length };
  return t.startActiveSpan(`process batch ${queue}`, { kind: SpanKind.INTERNAL, attributes, links }, ROOT_CONTEXT, async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'Error' });
      throw err;
    } finally {
      span.end();
    }
  });
}
