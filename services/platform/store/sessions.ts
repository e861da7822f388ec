// How the embedded store's collection views read and write: outside a transaction (the committed state; each write
// is a commit of its own) or inside one (its snapshot plus its own writes; writes buffered until it commits).
import type { Doc, Filter } from './collection.js';
import type { CollectionState, Holder } from './collection-state.js';
import type { Commits } from './commits.js';

/** A write operation's outcome: the documents it changes and what it returns. */
export interface Plan<R> {
  writes: Array<{ id: string; doc: Doc | null }>;
  result: R;
  /**
   * An ordered bulk write stopped by this error: outside a transaction `writes` (those before it) are made and then
   * it is thrown; inside a transaction it is thrown at once and aborts the transaction.
   */
  error?: Error;
}

export interface Session {
  /** The documents of state matching filter, as this session sees them (unsorted). */
  candidates<T extends Doc>(state: CollectionState<T>, filter: Filter): T[];
  /** The version of a document this session sees. */
  visible<T extends Doc>(state: CollectionState<T>, id: string): T | undefined;
  /**
   * Runs plan against what the session sees (through candidates and visible) and makes its writes: plan must read
   * only through this session and may run more than once.
   */
  write<R>(state: CollectionState<Doc>, plan: () => Plan<R>): Promise<R>;
}

/** Outside a transaction: reads see the latest commit, and every write operation is a commit of its own. */
export class DirectSession implements Session {
  constructor(private readonly commits: Commits) {}

  candidates<T extends Doc>(state: CollectionState<T>, filter: Filter): T[] {
    return state.candidates(filter);
  }

  visible<T extends Doc>(state: CollectionState<T>, id: string): T | undefined {
    return state.docs.get(id);
  }

  async write<R>(state: CollectionState<Doc>, plan: () => Plan<R>): Promise<R> {
    for (;;) {
      const { writes, result, error } = plan();
      const all = writes.map(({ id, doc }) => ({ state, id, doc }));
      const holder: Holder | undefined = this.commits.holderOf(all);
      if (!holder) {
        this.commits.commit(all);
        if (error) throw error;
        return result;
      }
      // As on MongoDB, a write outside a transaction waits for the transaction writing the same document, then
      // runs against what that one left.
      await holder.ended();
    }
  }
}
