// One attempt of a transaction on the embedded store, with MongoDB's semantics: it reads the snapshot taken at its
// first operation plus its own writes; its writes are buffered and commit at once; the first transaction to write
// a document (or a unique key) holds it until it ends, and another transaction writing it, or a transaction
// writing a document changed after its snapshot, is aborted at once with a WriteConflict (a transient error: the
// whole transaction may run again). Writes outside transactions wait for the holder (see sessions.ts).
import type { Doc, Filter } from './collection.js';
import { type CollectionState, type Holder, heldKey, type View } from './collection-state.js';
import type { Commits, Write } from './commits.js';
import { DuplicateKeyError, TransientTransactionError } from './errors.js';
import type { Plan, Session } from './sessions.js';
import { versionAt } from './versions.js';

/** MongoDB's transactionLifetimeLimitSeconds default: a transaction running longer is aborted, releasing what it holds. */
export const TRANSACTION_LIFETIME_MS = 60_000;

/** What a transaction buffered in one collection. */
interface OwnView extends View<Doc> {
  own: Map<string, Doc | null>;
  /** Unique keys (heldKey) of the buffered documents -> their _id. */
  keys: Map<string, string>;
}

type Status = 'active' | 'committed' | 'aborted';

export class MemoryTransaction implements Session, Holder {
  private snapshot: number | undefined;
  private released = false;
  private readonly views = new Map<CollectionState<Doc>, OwnView>();
  private held: Array<{ map: Map<string, Holder>; key: string }> = [];
  private status: Status = 'active';
  /** Why the transaction was aborted under its body: every later operation, and the commit, throws it. */
  private failure: TransientTransactionError | undefined;
  private waiters: Array<() => void> | undefined;
  private lifetime: NodeJS.Timeout | undefined;

  constructor(
    private readonly commits: Commits,
    private readonly lifetimeMs = TRANSACTION_LIFETIME_MS,
  ) {}

  candidates<T extends Doc>(state: CollectionState<T>, filter: Filter): T[] {
    return state.candidatesAt(filter, this.view(state) as View<T>);
  }

  visible<T extends Doc>(state: CollectionState<T>, id: string): T | undefined {
    return state.visible(id, this.view(state) as View<T>);
  }

  async write<R>(state: CollectionState<Doc>, plan: () => Plan<R>): Promise<R> {
    const view = this.view(state);
    try {
      const { writes, result, error } = plan();
      if (error) throw error;
      this.stage(state, view, writes);
      return result;
    } catch (err) {
      // As on MongoDB, a duplicate key aborts the transaction: a body that catches it and goes on fails at its next
      // step or at commit with NoSuchTransaction, a transient error, and runs again on a fresh snapshot.
      if (err instanceof DuplicateKeyError && this.status === 'active') {
        this.failure = new TransientTransactionError('NoSuchTransaction', `transaction aborted by an earlier error: ${err.message}`);
        this.finish('aborted');
      }
      throw err;
    }
  }

  /** Applies the buffered writes as one commit (keys were checked as staged); throws the transient error that aborted it. */
  commit(): void {
    this.check();
    const writes: Write[] = [];
    for (const [state, view] of this.views) for (const [id, doc] of view.own) writes.push({ state, id, doc });
    // Its own snapshot needs none of the versions this commit replaces.
    this.releaseSnapshot();
    let status: Status = 'aborted';
    try {
      this.commits.commit(writes, true);
      status = 'committed';
    } finally {
      this.finish(status);
    }
  }

  abort(): void {
    if (this.status === 'active') this.finish('aborted');
  }

  ended(): Promise<void> {
    if (this.status !== 'active') return Promise.resolve();
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }

  private check(): void {
    if (this.failure) throw this.failure;
    if (this.status !== 'active') throw new Error(`the transaction has already ${this.status === 'committed' ? 'committed' : 'aborted'}`);
  }

  /** What the transaction sees of state; its snapshot is taken at its first operation, as MongoDB's is. */
  private view(state: CollectionState<Doc>): OwnView {
    this.check();
    if (this.snapshot === undefined) {
      this.snapshot = this.commits.seq;
      this.commits.snapshots.take(this.snapshot);
    }
    let view = this.views.get(state);
    if (!view) this.views.set(state, (view = { snapshot: this.snapshot, own: new Map(), keys: new Map() }));
    return view;
  }

  /** Buffers an operation's writes, all or none: every check runs before anything is buffered or held. */
  private stage(state: CollectionState<Doc>, view: OwnView, writes: Plan<unknown>['writes']): void {
    const unique = state.uniqueIndexes;
    const batch = writes.length > 1 ? new Map<string, string>() : undefined;
    const heldKeys: string[][] = [];
    for (const { id, doc } of writes) {
      this.checkDocument(state, view, id);
      const keys: string[] = [];
      heldKeys.push(keys);
      if (!doc) continue;
      for (let i = 0; i < unique.length; i++) {
        const key = state.uniqueKey(doc, i);
        const held = heldKey(unique[i], key);
        keys.push(held);
        const other = batch?.get(held);
        if (other !== undefined && other !== id) throw new DuplicateKeyError(state.name, unique[i].fields.join(','));
        batch?.set(held, id);
        this.checkKey(state, view, i, key, id);
      }
    }
    for (let w = 0; w < writes.length; w++) {
      const { id, doc } = writes[w];
      this.hold(state.heldIds, id);
      const before = view.own.get(id);
      if (before) {
        for (let i = 0; i < unique.length; i++) {
          const held = heldKey(unique[i], state.uniqueKey(before, i));
          if (view.keys.get(held) === id) view.keys.delete(held);
        }
      }
      view.own.set(id, doc);
      if (!doc) continue;
      for (const held of heldKeys[w]) {
        view.keys.set(held, id);
        this.hold(state.heldKeys, held);
      }
    }
  }

  private checkDocument(state: CollectionState<Doc>, view: OwnView, id: string): void {
    const holder = state.heldIds.get(id);
    if (holder !== undefined && holder !== this) throw this.conflict(`${state.name} "${id}" is being written by another transaction`);
    const history = state.histories.get(id);
    if (history && history.seq > view.snapshot) throw this.conflict(`${state.name} "${id}" changed after the transaction's snapshot`);
  }

  /** Duplicates of the key in the transaction's view are DuplicateKeyError; a key taken or freed since, a conflict. */
  private checkKey(state: CollectionState<Doc>, view: OwnView, position: number, key: string, id: string): void {
    const index = state.uniqueIndexes[position];
    const held = heldKey(index, key);
    const holder = state.heldKeys.get(held);
    const where = `${state.name} unique key ${index.fields.join(',')}`;
    if (holder !== undefined && holder !== this) throw this.conflict(`${where} is being written by another transaction`);
    const mine = view.keys.get(held);
    if (mine !== undefined && mine !== id) throw new DuplicateKeyError(state.name, index.fields.join(','));
    const owner = index.entries.get(key);
    if (owner !== undefined && owner !== id && !view.own.has(owner)) {
      const seen = state.visible(owner, view);
      if (seen && state.uniqueKey(seen, position) === key) throw new DuplicateKeyError(state.name, index.fields.join(','));
      throw this.conflict(`${where} was taken after the transaction's snapshot`);
    }
    if (state.newestChange <= view.snapshot) return;
    for (const [other, history] of state.histories) {
      if (history.seq <= view.snapshot || other === id || view.own.has(other)) continue;
      const seen = versionAt(state.docs.get(other), history, view.snapshot);
      if (seen && state.uniqueKey(seen, position) === key) throw this.conflict(`${where} was released after the transaction's snapshot`);
    }
  }

  private hold(map: Map<string, Holder>, key: string): void {
    if (map.has(key)) return;
    map.set(key, this);
    this.held.push({ map, key });
    this.lifetime ??= setTimeout(() => this.expire(), this.lifetimeMs).unref();
  }

  private conflict(message: string): TransientTransactionError {
    this.failure = new TransientTransactionError('WriteConflict', `write conflict: ${message}`);
    this.finish('aborted');
    return this.failure;
  }

  /** As MongoDB does past transactionLifetimeLimitSeconds: what it holds is released; its next step fails. */
  private expire(): void {
    if (this.status !== 'active') return;
    this.failure = new TransientTransactionError('NoSuchTransaction', `transaction aborted: it ran longer than ${this.lifetimeMs} ms`);
    this.finish('aborted');
  }

  private releaseSnapshot(): void {
    if (this.snapshot === undefined || this.released) return;
    this.released = true;
    this.commits.snapshots.release(this.snapshot);
    this.commits.prune();
  }

  private finish(status: Status): void {
    this.status = status;
    clearTimeout(this.lifetime);
    for (const { map, key } of this.held) if (map.get(key) === this) map.delete(key);
    this.held = [];
    this.releaseSnapshot();
    const waiters = this.waiters;
    this.waiters = undefined;
    for (const wake of waiters ?? []) wake();
  }
}
