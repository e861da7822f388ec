// The embedded store: the same collections as MongoDB, in process memory, with MongoDB's transaction semantics
// (snapshot reads, buffered atomic commits, write conflicts retried as withTransaction retries them). Used by
// `npm start` and the unit tests. With a journal (PULSE_DATA_DIR) every commit also survives a process crash.
//
// The parts: collection-state.ts (documents, indexes, versions, holds), commits.ts (the one way the committed
// state changes), transaction.ts (one attempt of a transaction), sessions.ts (writes outside transactions),
// memory-collection.ts (the Collection API over either), transaction-retry.ts (the retry rule).
import type { Collection, Doc, Store, TxScope } from './collection.js';
import { CollectionState } from './collection-state.js';
import { Commits } from './commits.js';
import { registerInventory, unregisterInventory } from './inventory.js';
import { Journal } from './journal.js';
import { MemoryCollection } from './memory-collection.js';
import { DirectSession } from './sessions.js';
import { MemoryTransaction, TRANSACTION_LIFETIME_MS } from './transaction.js';
import { retryTransient, TRANSACTION_RETRY_LIMIT_MS } from './transaction-retry.js';

export interface MemoryStoreOptions {
  /** How long transaction() retries transient conflicts (the driver's 120 s). */
  retryLimitMs?: number;
  /** How long a transaction may run before it is aborted (MongoDB's 60 s). */
  transactionLifetimeMs?: number;
}

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly states = new Map<string, CollectionState<Doc>>();
  private readonly views = new Map<string, MemoryCollection<Doc>>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly commits: Commits;
  private readonly direct: DirectSession;

  constructor(
    readonly database: string,
    private readonly journal?: Journal,
    private readonly options: MemoryStoreOptions = {},
  ) {
    this.commits = new Commits(journal);
    this.direct = new DirectSession(this.commits);
    // MongoDB's TTL monitor runs every 60 s; so does this one.
    this.sweeper = setInterval(() => this.sweepExpired(new Date()), 60_000).unref();
    registerInventory(database, this.inventory);
  }

  /** Documents held per collection. */
  readonly inventory = (): Record<string, number> =>
    Object.fromEntries([...this.states.values()].map((state) => [state.name, state.docs.size]));

  /** An embedded store that journals its commits to `<dir>/<database>.journal` and replays them on open. */
  static withJournal(database: string, dir: string, options: MemoryStoreOptions = {}): MemoryStore {
    const { journal, changes } = Journal.open(`${dir}/${database}.journal`);
    const store = new MemoryStore(database, journal, options);
    for (const change of changes) {
      const state = store.state(change.collection);
      if ('put' in change) state.put(change.put);
      else state.remove(change.remove);
    }
    journal.compact([...store.states.values()].flatMap((state) => [...state.docs.values()].map((put) => ({ collection: state.name, put }))));
    return store;
  }

  private state(name: string): CollectionState<Doc> {
    let state = this.states.get(name);
    if (!state) this.states.set(name, (state = new CollectionState(name)));
    return state;
  }

  collection<T extends Doc>(name: string): Collection<T> {
    let view = this.views.get(name);
    if (!view) this.views.set(name, (view = new MemoryCollection(this.state(name), this.direct)));
    return view as unknown as Collection<T>;
  }

  async transaction<R>(fn: (tx: TxScope) => Promise<R>): Promise<R> {
    return retryTransient(async () => {
      const tx = new MemoryTransaction(this.commits, this.options.transactionLifetimeMs ?? TRANSACTION_LIFETIME_MS);
      const views = new Map<string, Collection<Doc>>();
      const scope: TxScope = {
        collection: <T extends Doc>(name: string) => {
          let view = views.get(name);
          if (!view) views.set(name, (view = new MemoryCollection(this.state(name), tx)));
          return view as unknown as Collection<T>;
        },
      };
      try {
        const result = await fn(scope);
        tx.commit();
        return result;
      } finally {
        tx.abort(); // no-op once committed
      }
    }, this.options.retryLimitMs ?? TRANSACTION_RETRY_LIMIT_MS);
  }

  /**
   * Removes the documents past their TTL as one commit; returns how many. Runs every minute on its own. Documents
   * a running transaction holds stay until the next sweep; snapshots that still see them keep seeing them.
   */
  sweepExpired(now: Date): number {
    const writes = [...this.states.values()].flatMap((state) => state.expired(now).map((doc) => ({ state, id: doc._id, doc: null })));
    this.commits.commit(writes);
    return writes.length;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    unregisterInventory(this.database, this.inventory);
    this.journal?.close();
  }
}
