// The store interface every repository is written against. It is a deliberately small subset of the mongodb
// driver's Collection API, so the MongoDB backing is a thin pass-through and the in-memory backing can implement
// the same semantics. Documents always carry a string `_id` chosen by the repository.

export interface Doc {
  _id: string;
}

type Primitive = string | number | boolean | null | Date;

/** A query operator object on one field. */
export interface Condition {
  $eq?: unknown;
  $ne?: unknown;
  $gt?: Primitive;
  $gte?: Primitive;
  $lt?: Primitive;
  $lte?: Primitive;
  $in?: unknown[];
  $nin?: unknown[];
  $exists?: boolean;
}

/** Field paths (dotted for nested fields) mapped to a value (equality) or a Condition, plus $or / $and. */
export type Filter = {
  [path: string]: unknown;
  $or?: Filter[];
  $and?: Filter[];
};

export type SortSpec = Record<string, 1 | -1>;

export interface Update {
  $set?: Record<string, unknown>;
  $setOnInsert?: Record<string, unknown>;
  $unset?: Record<string, unknown>;
  $inc?: Record<string, number>;
  $max?: Record<string, unknown>;
  $min?: Record<string, unknown>;
  $push?: Record<string, unknown>;
  $addToSet?: Record<string, unknown>;
  $pull?: Record<string, unknown>;
}

export interface FindOptions {
  sort?: SortSpec;
  limit?: number;
  skip?: number;
}

export interface UpdateOptions {
  upsert?: boolean;
}

export interface FindOneAndUpdateOptions extends UpdateOptions {
  sort?: SortSpec;
  returnDocument?: 'before' | 'after';
}

export interface UpdateResult {
  matchedCount: number;
  modifiedCount: number;
  upsertedId: string | null;
}

/** One operation of a bulk write: the subset of the driver's AnyBulkWriteOperation repositories use. */
export type BulkOperation<T extends Doc> =
  | { insertOne: { document: T } }
  | { updateOne: { filter: Filter; update: Update; upsert?: boolean } }
  | { deleteOne: { filter: Filter } };

export interface BulkWriteResult {
  insertedCount: number;
  matchedCount: number;
  modifiedCount: number;
  deletedCount: number;
  upsertedCount: number;
}

export interface IndexOptions {
  unique?: boolean;
  /** TTL: documents expire this many seconds after the (Date) value of the single indexed field. */
  expireAfterSeconds?: number;
  name?: string;
}

export interface Collection<T extends Doc> {
  readonly name: string;
  /** Throws DuplicateKeyError when a unique index (or _id) already holds the value. */
  insertOne(doc: T): Promise<void>;
  /**
   * Inserts docs in order, as one write (one commit, one journal frame, outside a transaction). A duplicate key stops
   * it there and throws: outside a transaction the documents before it stay inserted (the driver's ordered
   * insertMany); inside one, the transaction is aborted like any duplicate key aborts it.
   */
  insertMany(docs: T[]): Promise<{ insertedCount: number }>;
  /** Runs ops in order as one write, each seeing the ones before; a duplicate key stops it as it stops insertMany. */
  bulkWrite(ops: Array<BulkOperation<T>>): Promise<BulkWriteResult>;
  findOne(filter: Filter, options?: Omit<FindOptions, 'limit'>): Promise<T | null>;
  find(filter: Filter, options?: FindOptions): Promise<T[]>;
  countDocuments(filter?: Filter): Promise<number>;
  updateOne(filter: Filter, update: Update, options?: UpdateOptions): Promise<UpdateResult>;
  updateMany(filter: Filter, update: Update): Promise<UpdateResult>;
  findOneAndUpdate(filter: Filter, update: Update, options?: FindOneAndUpdateOptions): Promise<T | null>;
  deleteOne(filter: Filter): Promise<{ deletedCount: number }>;
  deleteMany(filter: Filter): Promise<{ deletedCount: number }>;
  createIndex(keys: SortSpec, options?: IndexOptions): Promise<void>;
}

/** The collections one unit of work sees; writes made through it commit or roll back together. */
export interface TxScope {
  collection<T extends Doc>(name: string): Collection<T>;
}

export interface Store extends TxScope {
  /** The database name (`pulse_<service>`). */
  readonly database: string;
  /** Which backing this is, for logs and readiness. */
  readonly kind: 'memory' | 'mongodb';
  /**
   * Runs fn as one transaction with MongoDB's semantics on both backings: fn reads a snapshot (plus its own writes),
   * its writes commit together or not at all, and a write conflict with another transaction aborts it with a
   * TransientTransactionError, on which the whole of fn runs again (as `ClientSession.withTransaction` does, for
   * up to 120 s): fn must be safe to repeat. When the retries run out, that error reaches the caller.
   */
  transaction<R>(fn: (tx: TxScope) => Promise<R>): Promise<R>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export { DuplicateKeyError, isDuplicateKey, isTransientTransactionError, TransientTransactionError } from './errors.js';
