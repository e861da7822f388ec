// The data of one collection of the embedded store: the committed documents, their indexes, the change records
// running transactions' snapshots still need, and which transaction holds which document or unique key.
//
// Indexes work as MongoDB's do for the queries repositories make: a unique index enforces uniqueness and answers
// equality on all its fields; every index (unique or not) also answers equality on its first field (lookup.ts), so
// a query such as "unsent outbox rows" reads the matching documents rather than the whole collection. Candidates
// come back in insertion order, as a full scan returns them.
import type { Doc, Filter } from './collection.js';
import { equalityKeys, FieldLookup } from './lookup.js';
import { getPath, matcher, seedFromFilter } from './query.js';
import { type History, recordChange, versionAt } from './versions.js';

export interface Index {
  name: string;
  fields: string[];
  unique: boolean;
  /** unique indexes only: index key -> _id */
  entries: Map<string, string>;
}

/** Whatever holds a document or unique key until it ends: a running transaction. */
export interface Holder {
  /** Resolves once the holder has committed or aborted. */
  ended(): Promise<void>;
}

/** What one reader sees of a collection: the committed state as of snapshot, overlaid with its own writes. */
export interface View<T extends Doc> {
  snapshot: number;
  /** The reader's own writes: id -> new version (null: deleted). */
  own: Map<string, T | null> | undefined;
}

export function indexKey(doc: unknown, fields: string[]): string {
  return JSON.stringify(fields.map((f) => getPath(doc, f) ?? null));
}

/** The name a unique index key is held under. */
export function heldKey(index: Index, key: string): string {
  return `${index.name}\u0000${key}`;
}

function isPlainValue(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value) || value instanceof Date;
}

export class CollectionState<T extends Doc> {
  readonly docs = new Map<string, T>();
  readonly indexes: Index[] = [];
  readonly uniqueIndexes: Index[] = [];
  /** Equality lookups on the first field of each index, one per distinct field. */
  readonly lookups: FieldLookup[] = [];
  /** Change records of documents changed after the oldest running snapshot (see versions.ts). */
  readonly histories = new Map<string, History<T>>();
  /** The newest commit with a change record here: a snapshot at or after it sees the current state as it is. */
  newestChange = 0;
  /** The documents with a change record, by the commit that changed them, oldest first: what changed after a snapshot. */
  private changes: Array<{ seq: number; id: string }> = [];
  private changesHead = 0;
  /** Documents (by _id) and unique keys (heldKey) written by running transactions, held until they end. */
  readonly heldIds = new Map<string, Holder>();
  readonly heldKeys = new Map<string, Holder>();
  /**
   * Insertion order of each document (what a full scan follows), to return indexed candidates in that order; kept
   * only once a lookup is in use, so collections never queried by an index field pay nothing for it.
   */
  private order: Map<string, number> | undefined;
  private sequence = 0;
  ttl: { field: string; seconds: number } | null = null;

  constructor(readonly name: string) {}

  /** The key of doc in uniqueIndexes[position]. */
  uniqueKey(doc: T, position: number): string {
    return indexKey(doc, this.uniqueIndexes[position].fields);
  }

  /** The version of id the view sees. */
  visible(id: string, view: View<T>): T | undefined {
    const own = view.own?.get(id);
    if (own !== undefined) return own ?? undefined;
    return versionAt(this.docs.get(id), this.histories.get(id), view.snapshot);
  }

  /** Keeps what commit seq is about to replace of id for the snapshots that predate it. */
  remember(id: string, seq: number): void {
    this.histories.set(id, recordChange(this.histories.get(id), this.docs.get(id), seq));
    this.changes.push({ seq, id });
    this.newestChange = seq;
  }

  /** Forgets that commits up to `oldest` changed anything: no running snapshot predates them. */
  forgetChanges(oldest: number): void {
    while (this.changesHead < this.changes.length && this.changes[this.changesHead].seq <= oldest) this.changesHead++;
    if (this.changesHead === this.changes.length) {
      this.changes = [];
      this.changesHead = 0;
    } else if (this.changesHead > 1_024 && this.changesHead * 2 > this.changes.length) {
      this.changes = this.changes.slice(this.changesHead);
      this.changesHead = 0;
    }
  }

  /** Adds to ids the documents changed by commits after snapshot. */
  private changedAfter(snapshot: number, ids: Set<string>): void {
    for (let i = this.changes.length - 1; i >= this.changesHead && this.changes[i].seq > snapshot; i--) ids.add(this.changes[i].id);
  }

  /** Stores doc (insert or replace). Uniqueness is the committer's to check first. */
  put(doc: T): void {
    const previous = this.docs.get(doc._id);
    for (let i = 0; i < this.uniqueIndexes.length; i++) {
      const { entries } = this.uniqueIndexes[i];
      // The previous key may already belong to another document of the same commit.
      if (previous) {
        const old = this.uniqueKey(previous, i);
        if (entries.get(old) === doc._id) entries.delete(old);
      }
      entries.set(this.uniqueKey(doc, i), doc._id);
    }
    for (const lookup of this.lookups) {
      if (!lookup.active) continue;
      if (previous) lookup.delete(previous);
      lookup.add(doc);
    }
    if (!previous) this.order?.set(doc._id, this.sequence++);
    this.docs.set(doc._id, doc);
  }

  remove(id: string): void {
    const previous = this.docs.get(id);
    if (!previous) return;
    for (let i = 0; i < this.uniqueIndexes.length; i++) {
      const key = this.uniqueKey(previous, i);
      if (this.uniqueIndexes[i].entries.get(key) === id) this.uniqueIndexes[i].entries.delete(key);
    }
    for (const lookup of this.lookups) if (lookup.active) lookup.delete(previous);
    this.order?.delete(id);
    this.docs.delete(id);
  }

  addIndex(index: Index): void {
    this.indexes.push(index);
    if (index.unique) this.uniqueIndexes.push(index);
    if (index.fields[0] !== '_id' && !this.lookups.some((lookup) => lookup.field === index.fields[0])) {
      this.lookups.push(new FieldLookup(index.fields[0])); // built when a query first asks for it
    }
  }

  private activate(lookup: FieldLookup): FieldLookup {
    this.ordered();
    if (!lookup.active) {
      for (const doc of this.docs.values()) lookup.add(doc);
      lookup.active = true;
    }
    return lookup;
  }

  private ordered(): Map<string, number> {
    if (!this.order) {
      this.order = new Map();
      for (const id of this.docs.keys()) this.order.set(id, this.sequence++);
    }
    return this.order;
  }

  /**
   * The current documents that may match filter, narrowed by _id, a unique index or the narrowest equality lookup
   * the filter allows: `scan` when it is the whole collection (in insertion order), else the documents to check.
   */
  private source(filter: Filter): { scan: true } | { scan: false; docs: T[]; sorted: boolean } {
    const id = filter._id;
    if (typeof id === 'string') {
      const doc = this.docs.get(id);
      return { scan: false, docs: doc ? [doc] : [], sorted: true };
    }
    const ids = (id as { $in?: unknown[] } | undefined)?.$in;
    if (Array.isArray(ids) && Object.keys(id as object).length === 1) {
      const docs: T[] = [];
      for (const key of new Set(ids)) {
        const doc = typeof key === 'string' ? this.docs.get(key) : undefined;
        if (doc) docs.push(doc);
      }
      return { scan: false, docs, sorted: true };
    }
    for (const index of this.uniqueIndexes) {
      if (!index.fields.every((f) => f in filter && isPlainValue(filter[f]))) continue;
      const owner = index.entries.get(indexKey(seedFromFilter(filter), index.fields));
      const doc = owner === undefined ? undefined : this.docs.get(owner);
      return { scan: false, docs: doc ? [doc] : [], sorted: true };
    }
    // The narrowest equality lookup the filter allows, if any: sized first, so a wide $in is never collected in vain.
    let best: { lookup: FieldLookup; count: number } | undefined;
    for (const lookup of this.lookups) {
      // Only a condition a lookup can serve builds it (and makes every later write maintain it).
      if (!(lookup.field in filter) || !equalityKeys(filter[lookup.field])) continue;
      const count = this.activate(lookup).estimate(filter[lookup.field]);
      if (count !== undefined && (!best || count < best.count)) best = { lookup, count };
    }
    const narrowest = best?.lookup.lookup(filter[best.lookup.field]);
    if (!narrowest) return { scan: true };
    const docs: T[] = [];
    for (const key of narrowest) {
      const doc = this.docs.get(key);
      if (doc) docs.push(doc);
    }
    return { scan: false, docs, sorted: false };
  }

  private inInsertionOrder(found: T[]): T[] {
    if (found.length < 2) return found;
    const order = this.ordered();
    // Documents the current state no longer holds (seen only by a snapshot, or not yet committed) go last.
    const at = (doc: T) => order.get(doc._id) ?? Number.MAX_SAFE_INTEGER;
    return found.sort((a, b) => at(a) - at(b));
  }

  /** Committed documents matching filter. */
  candidates(filter: Filter): T[] {
    const matches = matcher(filter);
    const source = this.source(filter);
    const found: T[] = [];
    if (source.scan) {
      for (const doc of this.docs.values()) if (matches(doc)) found.push(doc);
      return found;
    }
    for (const doc of source.docs) if (matches(doc)) found.push(doc);
    return source.sorted ? found : this.inInsertionOrder(found);
  }

  /** Documents matching filter as view sees them. Costs what candidates costs plus the documents view sees differently. */
  candidatesAt(filter: Filter, view: View<T>): T[] {
    const changed = this.newestChange > view.snapshot;
    if (!changed && !view.own?.size) return this.candidates(filter);
    const matches = matcher(filter);
    if (typeof filter._id === 'string') {
      const doc = this.visible(filter._id, view);
      return doc && matches(doc) ? [doc] : [];
    }
    // The documents whose version for view differs from the current one.
    const shadowed = new Set<string>(view.own?.keys());
    if (changed) this.changedAfter(view.snapshot, shadowed);
    const source = this.source(filter);
    const found: T[] = [];
    const consider = (doc: T | undefined) => {
      if (doc && matches(doc)) found.push(doc);
    };
    if (source.scan) {
      for (const [id, doc] of this.docs) consider(shadowed.has(id) ? this.visible(id, view) : doc);
      for (const id of shadowed) if (!this.docs.has(id)) consider(this.visible(id, view));
      return found;
    }
    for (const doc of source.docs) if (!shadowed.has(doc._id)) consider(doc);
    for (const id of shadowed) consider(this.visible(id, view));
    return this.inInsertionOrder(found);
  }

  /** Committed documents past their TTL that no transaction holds (a held one goes at the next sweep). */
  expired(now: Date): T[] {
    if (!this.ttl) return [];
    const cutoff = now.getTime() - this.ttl.seconds * 1000;
    const found: T[] = [];
    for (const doc of this.docs.values()) {
      const at = getPath(doc, this.ttl.field);
      if (at instanceof Date && at.getTime() <= cutoff && !this.heldIds.has(doc._id)) found.push(doc);
    }
    return found;
  }
}
