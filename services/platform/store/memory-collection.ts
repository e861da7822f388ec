// A collection of the embedded store as one session sees it (outside a transaction, or inside one). Documents are
// cloned on the way in and out so callers never share state with the store; a stored version is never changed in
// place (applyUpdate copies on write), so older versions can be kept for snapshots at no cost.
import type {
  BulkOperation,
  BulkWriteResult,
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
import { PendingWrites } from './pending-writes.js';
import type { Plan, Session } from './sessions.js';

const noWrites = (): BulkWriteResult => ({ insertedCount: 0, matchedCount: 0, modifiedCount: 0, deletedCount: 0, upsertedCount: 0 });

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
  private upserted(filter: Filter, update: Update, pending: PendingWrites<T>): T {
    const doc = applyUpdate(seedFromFilter(filter) as Partial<T>, update, true) as T;
    if (typeof doc._id !== 'string') throw new Error(`${this.name}: an upsert needs _id in the filter or $setOnInsert`);
    if (pending.visible(doc._id)) throw new DuplicateKeyError(this.name, '_id');
    return doc;
  }

  private checkId(doc: T): void {
    if (typeof doc._id !== 'string' || doc._id === '') throw new Error(`${this.name}: documents need a string _id`);
  }

  /**
   * Plans one operation of a bulk write (or a single write) on top of the ones before it, counting what it did;
   * returns the _id of a document it upserted.
   */
  private step(op: BulkOperation<T>, pending: PendingWrites<T>, counts: BulkWriteResult): string | null {
    if ('insertOne' in op) {
      const doc = op.insertOne.document;
      if (pending.visible(doc._id)) throw new DuplicateKeyError(this.name, '_id');
      pending.set(doc._id, doc);
      counts.insertedCount++;
    } else if ('updateOne' in op) {
      const { filter, update, upsert } = op.updateOne;
      const doc = pending.first(filter);
      if (doc) {
        pending.set(doc._id, applyUpdate(doc, update, false));
        counts.matchedCount++;
        counts.modifiedCount++;
      } else if (upsert) {
        const created = this.upserted(filter, update, pending);
        pending.set(created._id, created);
        counts.upsertedCount++;
        return created._id;
      }
    } else {
      const doc = pending.first(op.deleteOne.filter);
      if (doc) {
        pending.set(doc._id, null);
        counts.deletedCount++;
      }
    }
    return null;
  }

  /**
   * Runs ops in order as one write; a duplicate _id ends the plan there (see Plan.error). A duplicate on another
   * unique index shows when the writes are staged or committed, and refuses all of them.
   */
  private bulk(ops: Array<BulkOperation<T>>): Promise<BulkWriteResult> {
    return this.write(() => {
      const pending = new PendingWrites(this.state, this.session);
      const counts = noWrites();
      for (const op of ops) {
        try {
          this.step(op, pending, counts);
        } catch (err) {
          if (err instanceof DuplicateKeyError) return pending.plan({ ...counts }, err);
          throw err;
        }
      }
      return pending.plan({ ...counts });
    });
  }

  async insertOne(doc: T): Promise<void> {
    this.checkId(doc);
    await this.bulk([{ insertOne: { document: cloneValue(doc) } }]);
  }

  async insertMany(docs: T[]): Promise<{ insertedCount: number }> {
    for (const doc of docs) this.checkId(doc);
    const { insertedCount } = await this.bulk(docs.map((doc) => ({ insertOne: { document: cloneValue(doc) } })));
    return { insertedCount };
  }

  async bulkWrite(ops: Array<BulkOperation<T>>): Promise<BulkWriteResult> {
    const copies = ops.map((op) => {
      if (!('insertOne' in op)) return op;
      this.checkId(op.insertOne.document);
      return { insertOne: { document: cloneValue(op.insertOne.document) } };
    });
    return this.bulk(copies);
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
      const pending = new PendingWrites(this.state, this.session);
      const counts = noWrites();
      const upsertedId = this.step({ updateOne: { filter, update, upsert: options.upsert } }, pending, counts);
      return pending.plan({ matchedCount: counts.matchedCount, modifiedCount: counts.modifiedCount, upsertedId });
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
      const created = this.upserted(filter, update, new PendingWrites(this.state, this.session));
      return { writes: [{ id: created._id, doc: created }], result: after ? created : null };
    });
    return result && cloneValue(result);
  }

  async deleteOne(filter: Filter): Promise<{ deletedCount: number }> {
    const { deletedCount } = await this.bulk([{ deleteOne: { filter } }]);
    return { deletedCount };
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
