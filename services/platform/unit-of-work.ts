// A unit of work: store writes and the events they cause, committed together (see bus/outbox.ts).
import { context } from '@opentelemetry/api';
import type { EventBus } from './bus/bus.js';
import type { EventName, EventOf } from './bus/events.js';
import type { Outbox, OutboxRow } from './bus/outbox.js';
import { unavailable } from './errors.js';
import type { Store, TxScope } from './store/collection.js';

export interface UnitOfWork extends TxScope {
  /** Records an event to publish once the unit of work commits. */
  emit<N extends EventName>(name: N, event: EventOf<N>): Promise<void>;
  /** Runs fn once the unit of work has committed (never if it fails): wake watchers, count metrics. */
  afterCommit(fn: () => void): void;
}

export type Transact = <R>(fn: (tx: UnitOfWork) => Promise<R>) => Promise<R>;

export function createTransact(store: Store, outbox: Outbox, bus: EventBus): Transact {
  return async (fn) => {
    // Accept no work that cannot be handed on: with the broker down, callers get unavailable and retry later.
    if (!bus.isReady()) throw unavailable('the event broker is unreachable; retry shortly');
    let rows: OutboxRow[] = [];
    let hooks: Array<() => void> = [];
    const result = await store.transaction(async (tx) => {
      rows = []; // MongoDB may run the function again after a transient conflict
      hooks = [];
      const done = await fn({
        collection: (name) => tx.collection(name),
        emit: async (name, event) => {
          rows.push(outbox.row(name, event));
        },
        // A hook runs in the context it was registered in (the span of the event whose handler registered it, when
        // a batch of events shares the unit of work).
        afterCommit: (hook) => {
          const registeredIn = context.active();
          hooks.push(() => context.with(registeredIn, hook));
        },
      });
      // Every event of the unit of work in one write.
      await outbox.write(tx, rows);
      return done;
    });
    outbox.publishCommitted(rows);
    for (const hook of hooks) {
      try {
        hook();
      } catch {
        // A hook only tells others about work that is already committed; its failure must not undo that.
      }
    }
    return result;
  };
}
