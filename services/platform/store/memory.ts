// The embedded store: the same collections as MongoDB, in process memory. Used by `npm start` and the unit tests.
// Documents are cloned on the way in and out so callers never share state with the store. With a journal
// (PULSE_DATA_DIR) committed writes also survive a process crash.
//
// Indexes work as MongoDB's do for the queries repositories make: a unique index enforces uniqueness and answers
// equality on all its fields; every index (unique or not) also answers equality (a value, `$eq` or `$in` of plain
// values) on its first field, so a query such as "unsent outbox rows" or "deliveries of this notification" reads
// the matching documents rather than the whole collection. An index only narrows the candidates; every candidate
// is still checked against the whole filter, and candidates come back in insertion order, as a full scan would
// return them.
import {
  type Collection,
  type Doc,
  DuplicateKeyError,
  type Filter,
  type FindOneAndUpdateOptions,
  type FindOptions,
  type IndexOptions,
  type SortSpec,
  type Store,
  type TxScope,
  type Update,
  type UpdateOptions,
  type UpdateResult,
} from './collection.js';
import { registerInventory, unregisterInventory } from './inventory.js';
import { type Change, Journal } from './journal.js';
import { applyUpdate, cloneValue, compareBy, getPath, matches, seedFromFilter } from './query.js';

interface Index {
  name: string;
  fields: string[];
  unique: boolean;
  /** unique indexes only: index key -> _id */
  entries: Map<string, string>;
}

/** The equality keys of a value: one per element for an array (MongoDB's multikey indexes). */
type ValueKey = string;
/** Documents whose first-field value has no plain key (an object, a nested array): always candidates. */
const UNKEYED = '\u0000unkeyed';

function plainKey(value: unknown): ValueKey | undefined {
  if (value === undefined || value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return `s${value}`;
    case 'number':
      return `n${value}`;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return `n${value}`;
    default:
      return value instanceof Date ? `d${value.getTime()}` : undefined;
  }
}

/** The keys a document is found under for equality on its value at a path. */
function valueKeys(value: unknown): ValueKey[] {
  if (!Array.isArray(value)) return [plainKey(value) ?? UNKEYED];
  const keys = new Set<ValueKey>();
  // Equality with a whole array is never looked up (the filter's array value makes the lookup decline).
  for (const item of value) keys.add(Array.isArray(item) ? UNKEYED : (plainKey(item) ?? UNKEYED));
  return [...keys];
}

/** The value keys an equality condition ($eq, $in or a plain value) asks for; undefined for any other condition. */
function equalityKeys(condition: unknown): ValueKey[] | undefined {
  let values: unknown[];
  if (condition !== null && typeof condition === 'object' && !(condition instanceof Date)) {
    if (Array.isArray(condition)) return undefined;
    const ops = Object.keys(condition);
    if (ops.length !== 1) return undefined;
    if (ops[0] === '$eq') values = [(condition as { $eq: unknown }).$eq];
    else if (ops[0] === '$in' && Array.isArray((condition as { $in: unknown }).$in)) values = (condition as { $in: unknown[] }).$in;
    else return undefined;
  } else {
    values = [condition];
  }
  const keys: ValueKey[] = [];
  for (const value of values) {
    const key = plainKey(value);
    if (key === undefined) return undefined;
    keys.push(key);
  }
  return keys;
}

/**
 * Equality lookup on one field (the first of an index): value key -> the ids under it (one id as a string, more
 * as a Set). A lookup is built the first time a query asks for equality on its field and maintained from then on,
 * so indexes that serve only sorting, ranges or expiry (createdAt, a TTL field) cost writes nothing.
 */
class FieldLookup {
  readonly entries = new Map<ValueKey, string | Set<string>>();
  active = false;

  constructor(readonly field: string) {}

  add(doc: Doc): void {
    for (const key of valueKeys(getPath(doc, this.field))) {
      const ids = this.entries.get(key);
      if (ids === undefined) this.entries.set(key, doc._id);
      else if (typeof ids === 'string') {
        if (ids !== doc._id) this.entries.set(key, new Set([ids, doc._id]));
      } else ids.add(doc._id);
    }
  }

  delete(doc: Doc): void {
    for (const key of valueKeys(getPath(doc, this.field))) {
      const ids = this.entries.get(key);
      if (ids === undefined) continue;
      if (typeof ids === 'string') {
        if (ids === doc._id) this.entries.delete(key);
      } else {
        ids.delete(doc._id);
        if (ids.size === 1) this.entries.set(key, ids.values().next().value!);
      }
    }
  }

  private idsOf(key: ValueKey): Iterable<string> & { size?: number } {
    const ids = this.entries.get(key);
    return ids === undefined ? [] : typeof ids === 'string' ? [ids] : ids;
  }

  private countOf(key: ValueKey): number {
    const ids = this.entries.get(key);
    return ids === undefined ? 0 : typeof ids === 'string' ? 1 : ids.size;
  }

  /** How many ids lookup(condition) would return at most, without collecting them; undefined when it cannot serve. */
  estimate(condition: unknown): number | undefined {
    const keys = equalityKeys(condition);
    return keys && keys.reduce((sum, key) => sum + this.countOf(key), this.countOf(UNKEYED));
  }

  /** Ids that may match the filter's condition on the field, or undefined when the condition is not equality. */
  lookup(condition: unknown): string[] | Set<string> | undefined {
    const keys = equalityKeys(condition);
    if (!keys) return undefined;
    const unkeyed = this.entries.get(UNKEYED);
    if (keys.length === 1 && unkeyed === undefined) {
      const ids = this.entries.get(keys[0]);
      return ids === undefined ? [] : typeof ids === 'string' ? [ids] : ids;
    }
    const out = new Set<string>(this.idsOf(UNKEYED));
    for (const key of keys) for (const id of this.idsOf(key)) out.add(id);
    return out;
  }
}

type Undo = () => void;

/** Where a view's writes go: undo steps (inside a transaction) and the changes to journal once committed. */
interface WriteScope {
  undo: Undo[] | null;
  record(change: Change): void;
}

function indexKey(doc: unknown, fields: string[]): string {
  return JSON.stringify(fields.map((f) => getPath(doc, f) ?? null));
}

/** The data of one collection, shared by every view of it (plain and transactional). */
class CollectionState<T extends Doc> {
  readonly docs = new Map<string, T>();
  readonly indexes: Index[] = [];
  /** Equality lookups on the first field of each index, one per distinct field. */
  readonly lookups: FieldLookup[] = [];
  /**
   * Insertion order of each document (what a full scan follows), to return indexed candidates in that order; kept
   * only once a lookup is in use, so collections never queried by an index field pay nothing for it.
   */
  private order: Map<string, number> | undefined;
  private sequence = 0;
  ttl: { field: string; seconds: number } | null = null;

  constructor(readonly name: string) {}

  /** Stores doc (insert or replace), enforcing unique indexes unless forced (undo). */
  put(doc: T, force = false): void {
    const previous = this.docs.get(doc._id);
    for (const index of this.indexes) {
      if (!index.unique) continue;
      const owner = index.entries.get(indexKey(doc, index.fields));
      if (!force && owner !== undefined && owner !== doc._id) throw new DuplicateKeyError(this.name, index.fields.join(','));
    }
    for (const index of this.indexes) {
      if (!index.unique) continue;
      if (previous) index.entries.delete(indexKey(previous, index.fields));
      index.entries.set(indexKey(doc, index.fields), doc._id);
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
    for (const index of this.indexes) {
      if (index.unique && index.entries.get(indexKey(previous, index.fields)) === id) {
        index.entries.delete(indexKey(previous, index.fields));
      }
    }
    for (const lookup of this.lookups) if (lookup.active) lookup.delete(previous);
    this.order?.delete(id);
    this.docs.delete(id);
  }

  /** Declares an equality lookup on field (the first field of a new index); it is built when first asked for. */
  addLookup(field: string): void {
    if (this.lookups.some((lookup) => lookup.field === field)) return;
    this.lookups.push(new FieldLookup(field));
  }

  private activate(lookup: FieldLookup): FieldLookup {
    if (!this.order) {
      this.order = new Map();
      for (const id of this.docs.keys()) this.order.set(id, this.sequence++);
    }
    if (!lookup.active) {
      for (const doc of this.docs.values()) lookup.add(doc);
      lookup.active = true;
    }
    return lookup;
  }

  /** Documents matching filter, using _id or a unique index when the filter pins it. */
  candidates(filter: Filter): T[] {
    const id = filter._id;
    if (typeof id === 'string') {
      const doc = this.docs.get(id);
      return doc && matches(doc, filter) ? [doc] : [];
    }
    const ids = (id as { $in?: unknown[] } | undefined)?.$in;
    if (Array.isArray(ids) && Object.keys(id as object).length === 1) {
      const found: T[] = [];
      for (const key of new Set(ids)) {
        const doc = typeof key === 'string' ? this.docs.get(key) : undefined;
        if (doc && matches(doc, filter)) found.push(doc);
      }
      return found;
    }
    for (const index of this.indexes) {
      if (!index.unique || !index.fields.every((f) => f in filter && isPlainValue(filter[f]))) continue;
      const owner = index.entries.get(indexKey(seedFromFilter(filter), index.fields));
      const doc = owner === undefined ? undefined : this.docs.get(owner);
      return doc && matches(doc, filter) ? [doc] : [];
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
    const found: T[] = [];
    if (narrowest) {
      for (const id of narrowest) {
        const doc = this.docs.get(id);
        if (doc && matches(doc, filter)) found.push(doc);
      }
      const order = this.order!;
      if (found.length > 1) found.sort((a, b) => order.get(a._id)! - order.get(b._id)!);
      return found;
    }
    for (const doc of this.docs.values()) if (matches(doc, filter)) found.push(doc);
    return found;
  }

  /** Removes documents past their TTL; returns their ids. */
  sweepExpired(now: Date): string[] {
    if (!this.ttl) return [];
    const cutoff = now.getTime() - this.ttl.seconds * 1000;
    const removed: string[] = [];
    for (const doc of [...this.docs.values()]) {
      const at = getPath(doc, this.ttl.field);
      if (at instanceof Date && at.getTime() <= cutoff) {
        this.remove(doc._id);
        removed.push(doc._id);
      }
    }
    return removed;
  }
}

function isPlainValue(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value) || value instanceof Date;
}

class MemoryCollection<T extends Doc> implements Collection<T> {
  constructor(
    private readonly state: CollectionState<T>,
    private readonly scope: WriteScope,
  ) {}

  get name(): string {
    return this.state.name;
  }

  private write(doc: T): void {
    const before = this.state.docs.get(doc._id);
    this.state.put(doc);
    this.scope.undo?.push(before ? () => this.state.put(before, true) : () => this.state.remove(doc._id));
    this.scope.record({ collection: this.state.name, put: doc });
  }

  private erase(doc: T): void {
    this.state.remove(doc._id);
    this.scope.undo?.push(() => this.state.put(doc, true));
    this.scope.record({ collection: this.state.name, remove: doc._id });
  }

  private select(filter: Filter, options: FindOptions = {}): T[] {
    let found = this.state.candidates(filter);
    if (options.sort) found.sort(compareBy(options.sort));
    if (options.skip) found = found.slice(options.skip);
    if (options.limit !== undefined && options.limit > 0) found = found.slice(0, options.limit);
    return found;
  }

  async insertOne(doc: T): Promise<void> {
    if (typeof doc._id !== 'string' || doc._id === '') throw new Error(`${this.name}: documents need a string _id`);
    if (this.state.docs.has(doc._id)) throw new DuplicateKeyError(this.name, '_id');
    this.write(cloneValue(doc));
  }

  async findOne(filter: Filter, options: Omit<FindOptions, 'limit'> = {}): Promise<T | null> {
    const [doc] = this.select(filter, { ...options, limit: 1 });
    return doc ? cloneValue(doc) : null;
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    return this.select(filter, options).map((doc) => cloneValue(doc));
  }

  async countDocuments(filter: Filter = {}): Promise<number> {
    return this.state.candidates(filter).length;
  }

  private upsert(filter: Filter, update: Update): T {
    const seed = seedFromFilter(filter) as Partial<T>;
    const doc = applyUpdate(seed, update, true) as T;
    if (typeof doc._id !== 'string') throw new Error(`${this.name}: an upsert needs _id in the filter or $setOnInsert`);
    if (this.state.docs.has(doc._id)) throw new DuplicateKeyError(this.name, '_id');
    this.write(doc);
    return doc;
  }

  async updateOne(filter: Filter, update: Update, options: UpdateOptions = {}): Promise<UpdateResult> {
    const [doc] = this.select(filter, { limit: 1 });
    if (!doc) {
      if (!options.upsert) return { matchedCount: 0, modifiedCount: 0, upsertedId: null };
      return { matchedCount: 0, modifiedCount: 0, upsertedId: this.upsert(filter, update)._id };
    }
    this.write(applyUpdate(doc, update, false));
    return { matchedCount: 1, modifiedCount: 1, upsertedId: null };
  }

  async updateMany(filter: Filter, update: Update): Promise<UpdateResult> {
    const found = this.select(filter);
    for (const doc of found) this.write(applyUpdate(doc, update, false));
    return { matchedCount: found.length, modifiedCount: found.length, upsertedId: null };
  }

  async findOneAndUpdate(filter: Filter, update: Update, options: FindOneAndUpdateOptions = {}): Promise<T | null> {
    const [doc] = this.select(filter, { sort: options.sort, limit: 1 });
    if (!doc) {
      if (!options.upsert) return null;
      const created = this.upsert(filter, update);
      return options.returnDocument === 'after' ? cloneValue(created) : null;
    }
    const next = applyUpdate(doc, update, false);
    this.write(next);
    return cloneValue(options.returnDocument === 'after' ? next : doc);
  }

  async deleteOne(filter: Filter): Promise<{ deletedCount: number }> {
    const [doc] = this.select(filter, { limit: 1 });
    if (doc) this.erase(doc);
    return { deletedCount: doc ? 1 : 0 };
  }

  async deleteMany(filter: Filter): Promise<{ deletedCount: number }> {
    const found = this.select(filter);
    for (const doc of found) this.erase(doc);
    return { deletedCount: found.length };
  }

  async createIndex(keys: SortSpec, options: IndexOptions = {}): Promise<void> {
    const fields = Object.keys(keys);
    const name = options.name ?? fields.map((f) => `${f}_${keys[f]}`).join('_');
    if (options.expireAfterSeconds !== undefined) this.state.ttl = { field: fields[0], seconds: options.expireAfterSeconds };
    if (this.state.indexes.some((index) => index.name === name)) return;
    const index: Index = { name, fields, unique: options.unique === true, entries: new Map() };
    if (index.unique) {
      for (const doc of this.state.docs.values()) {
        const key = indexKey(doc, fields);
        if (index.entries.has(key)) throw new DuplicateKeyError(this.name, fields.join(','));
        index.entries.set(key, doc._id);
      }
    }
    this.state.indexes.push(index);
    if (fields[0] !== '_id') this.state.addLookup(fields[0]);
  }
}

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly states = new Map<string, CollectionState<Doc>>();
  private readonly views = new Map<string, MemoryCollection<Doc>>();
  private readonly sweeper: NodeJS.Timeout;

  private readonly direct: WriteScope;

  constructor(
    readonly database: string,
    private readonly journal?: Journal,
  ) {
    this.direct = { undo: null, record: (change) => this.journal?.append([change]) };
    // MongoDB's TTL monitor runs every 60 s; so does this one.
    this.sweeper = setInterval(() => this.sweepExpired(new Date()), 60_000).unref();
    registerInventory(database, this.inventory);
  }

  /** Documents held per collection. */
  readonly inventory = (): Record<string, number> =>
    Object.fromEntries([...this.states.values()].map((state) => [state.name, state.docs.size]));

  /** An embedded store that journals its writes to `<dir>/<database>.journal` and replays them on open. */
  static withJournal(database: string, dir: string): MemoryStore {
    const { journal, changes } = Journal.open(`${dir}/${database}.journal`);
    const store = new MemoryStore(database, journal);
    for (const change of changes) {
      const state = store.state(change.collection);
      if ('put' in change) state.put(change.put, true);
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
    const changes: Change[] = [];
    const writes: WriteScope = { undo: [], record: (change) => changes.push(change) };
    const scope: TxScope = {
      collection: <T extends Doc>(name: string) => new MemoryCollection(this.state(name), writes) as unknown as Collection<T>,
    };
    try {
      const result = await fn(scope);
      this.journal?.append(changes); // one frame: after a crash the whole unit is there, or none of it
      return result;
    } catch (err) {
      for (const undo of writes.undo!.reverse()) undo();
      throw err;
    }
  }

  /** Removes documents past their TTL; returns how many. Runs every minute on its own. */
  sweepExpired(now: Date): number {
    let removed = 0;
    for (const state of this.states.values()) {
      const ids = state.sweepExpired(now);
      this.journal?.append(ids.map((id) => ({ collection: state.name, remove: id })));
      removed += ids.length;
    }
    return removed;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    unregisterInventory(this.database, this.inventory);
    this.journal?.close();
  }
}
