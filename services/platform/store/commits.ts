// Commits of the embedded store. Every change of the committed state is one commit here, made synchronously: a
// transaction's writes, one write outside a transaction, one TTL sweep. A commit checks the unique indexes,
// appends one journal frame, then applies its writes and takes the next sequence number, so the journal holds the
// commits in the order they were served, and replays to the same state.
import type { Doc } from './collection.js';
import { type CollectionState, type Holder, heldKey } from './collection-state.js';
import { DuplicateKeyError } from './errors.js';
import type { Change, Journal } from './journal.js';
import { pruneHistory, Snapshots } from './versions.js';

/** One document's new version (null: deleted) in one collection. */
export interface Write {
  state: CollectionState<Doc>;
  id: string;
  doc: Doc | null;
}

/** Throws DuplicateKeyError when a write would take a unique key another document keeps. */
function checkUnique(writes: Write[]): void {
  let written: Set<string> | undefined;
  const taken = writes.length > 1 ? new Map<string, string>() : undefined;
  for (const { state, id, doc } of writes) {
    if (!doc) continue;
    for (let i = 0; i < state.uniqueIndexes.length; i++) {
      const index = state.uniqueIndexes[i];
      const key = state.uniqueKey(doc, i);
      const owner = index.entries.get(key);
      if (owner !== undefined && owner !== id) {
        // The owner may give the key up in this very commit.
        written ??= new Set(writes.map((w) => `${w.state.name}\u0000${w.id}`));
        if (!written.has(`${state.name}\u0000${owner}`)) throw new DuplicateKeyError(state.name, index.fields.join(','));
      }
      if (taken) {
        const slot = `${state.name}\u0000${heldKey(index, key)}`;
        const other = taken.get(slot);
        if (other !== undefined && other !== id) throw new DuplicateKeyError(state.name, index.fields.join(','));
        taken.set(slot, id);
      }
    }
  }
}

export class Commits {
  /** The number of the last commit; a snapshot taken now reads as of it. */
  seq = 0;
  readonly snapshots = new Snapshots();
  /** Changes with a change record, in commit order, to forget once no snapshot predates them. */
  private recorded: Array<{ seq: number; state: CollectionState<Doc>; id: string }> = [];
  private head = 0;

  constructor(private readonly journal?: Journal) {}

  /**
   * Commits writes as one unit, or throws (DuplicateKeyError, a journal write error) having changed nothing.
   * `checked`: a transaction's writes, whose unique keys were checked when staged and held since.
   */
  commit(writes: Write[], checked = false): void {
    if (writes.length === 0) return;
    if (!checked) checkUnique(writes);
    this.journal?.append(
      writes.map((w): Change => (w.doc ? { collection: w.state.name, put: w.doc } : { collection: w.state.name, remove: w.id })),
    );
    const seq = this.seq + 1;
    const keep = this.snapshots.any;
    for (const write of writes) {
      if (keep) {
        write.state.remember(write.id, seq);
        this.recorded.push({ seq, state: write.state, id: write.id });
      }
      if (write.doc) write.state.put(write.doc);
      else write.state.remove(write.id);
    }
    this.seq = seq;
  }

  /** Forgets the versions no running snapshot can see any more; called whenever a transaction ends. */
  prune(): void {
    const oldest = this.snapshots.oldest ?? this.seq;
    while (this.head < this.recorded.length && this.recorded[this.head].seq <= oldest) {
      const { state, id } = this.recorded[this.head++];
      const history = state.histories.get(id);
      if (history && !pruneHistory(history, oldest)) state.histories.delete(id);
      state.forgetChanges(oldest);
    }
    if (this.head === this.recorded.length) {
      this.recorded = [];
      this.head = 0;
    } else if (this.head > 1_024 && this.head * 2 > this.recorded.length) {
      this.recorded = this.recorded.slice(this.head);
      this.head = 0;
    }
  }

  /** A running transaction holding a document or unique key the writes touch: a write outside one waits for it. */
  holderOf(writes: Write[]): Holder | undefined {
    for (const { state, id, doc } of writes) {
      if (state.heldIds.size === 0 && state.heldKeys.size === 0) continue;
      const holder = state.heldIds.get(id);
      if (holder) return holder;
      if (!doc || state.heldKeys.size === 0) continue;
      for (let i = 0; i < state.uniqueIndexes.length; i++) {
        const byKey = state.heldKeys.get(heldKey(state.uniqueIndexes[i], state.uniqueKey(doc, i)));
        if (byKey) return byKey;
      }
    }
    return undefined;
  }
}
