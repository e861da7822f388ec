// A collection of the embedded store as one session sees it (outside a transaction, or inside one). Documents are
// cloned on the way in and out so callers never share state with the store; a stored version is never changed in
// place (applyUpdate copies on write), so older versions can be kept for snapshots at no cost.
import type {
  Collection,
  Doc,
  Filter,
  FindOneAndUpdateOptions,
  FindOptions,
  IndexOptions,
  SortSpec,
  Update,
  UpdateOptions,
  UpdateResult,
} from './collection.js';
import { type CollectionState, type Index, indexKey } from './collection-state.js';
import { DuplicateKeyError } from './errors.js';
import { applyUpdate, cloneValue, compareBy, seedFromFilter } from './query.js';
import type { Plan, Session } from './sessions.js';

export class MemoryCollection<T extends Doc> implements Collection<T> {
  constructor(
    private readonly state: CollectionState<T>,
    private readonly session: Session,
  ) {}

  get name(): string {
    return this.state.name;
  }

  private select(filter: Filter, options: FindOptions = {}): T[] {
    let found = this.session.candidates(this.state, filter);
    if (options.sort) found.sort(compareBy(options.sort));
    if (options.skip) found = found.slice(options.skip);
    if (options.limit !== undefined && options.limit > 0) found = found.slice(0, options.limit);
    return found;
  }

  private write<R>(plan: () => Plan<R>): Promise<R> {
    return this.session.write(this.state as unknown as CollectionState<Doc>, plan);
  }

  /** The document an upsert inserts, refused when its _id is taken. */
  private upserted(filter: Filter, update: Update): T {
    const doc = applyUpdate(seedFromFilter(filter) as Partial<T>, update, true) as T;
    if (typeof doc._id !== 'string') throw new Error(`${this.name}: an upsert needs _id in the filter or $setOnInsert`);
    if (this.session.visible(this.state, doc._id)) throw new DuplicateKeyError(this.name, '_id');
    return doc;
  }

  async insertOne(doc: T): Promise<void> {
    if (typeof doc._id !== 'string' || doc._id === '') throw new Error(`${this.name}: documents need a string _id`);
    const copy = cloneValue(doc);
    await this.write(() => {
      if (this.session.visible(this.state, copy._id)) throw new DuplicateKeyError(this.name, '_id');
      return { writes: [{ id: copy._id, doc: copy }], result: undefined };
    });
  }

  async findOne(filter: Filter, options: Omit<FindOptions, 'limit'> = {}): Promise<T | null> {
    const [doc] = this.select(filter, { ...options, limit: 1 });
    return doc ? cloneValue(doc) : null;
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    return this.select(filter, options).map((doc) => cloneValue(doc));
  }

  async countDocuments(filter: Filter = {}): Promise<number> {
    return this.session.candidates(this.state, filter).length;
  }

  async updateOne(filter: Filter, update: Update, options: UpdateOptions = {}): Promise<UpdateResult> {
    return this.write<UpdateResult>(() => {
      const [doc] = this.select(filter, { limit: 1 });
      if (doc) {
        return { writes: [{ id: doc._id, doc: applyUpdate(doc, update, false) }], result: { matchedCount: 1, modifiedCount: 1, upsertedId: null } };
      }
      if (!options.upsert) return { writes: [], result: { matchedCount: 0, modifiedCount: 0, upsertedId: null } };
      const created = this.upserted(filter, update);
      return { writes: [{ id: created._id, doc: created }], result: { matchedCount: 0, modifiedCount: 0, upsertedId: created._id } };
    });
  }

  async updateMany(filter: Filter, update: Update): Promise<UpdateResult> {
    return this.write(() => {
      const found = this.select(filter);
      return {
        writes: found.map((doc) => ({ id: doc._id, doc: applyUpdate(doc, update, false) })),
        result: { matchedCount: found.length, modifiedCount: found.length, upsertedId: null },
      };
    });
  }

  async findOneAndUpdate(filter: Filter, update: Update, options: FindOneAndUpdateOptions = {}): Promise<T | null> {
    const after = options.returnDocument === 'after';
    const result = await this.write<T | null>(() => {
      const [doc] = this.select(filter, { sort: options.sort, limit: 1 });
      if (doc) {
        const next = applyUpdate(doc, update, false);
        return { writes: [{ id: doc._id, doc: next }], result: after ? next : doc };
      }
      if (!options.upsert) return { writes: [], result: null };
      const created = this.upserted(filter, update);
      return { writes: [{ id: created._id, doc: created }], result: after ? created : null };
    });
    return result && cloneValue(result);
  }

  async deleteOne(filter: Filter): Promise<{ deletedCount: number }> {
    return this.write(() => {
      const [doc] = this.select(filter, { limit: 1 });
      return { writes: doc ? [{ id: doc._id, doc: null }] : [], result: { deletedCount: doc ? 1 : 0 } };
    });
  }

  async deleteMany(filter: Filter): Promise<{ deletedCount: number }> {
    return this.write(() => {
      const found = this.select(filter);
      return { writes: found.map((doc) => ({ id: doc._id, doc: null })), result: { deletedCount: found.length } };
    });
  }

  /** Indexes are not transactional (as on MongoDB): created on the committed state at once. */
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
    this.state.addIndex(index);
  }
}
