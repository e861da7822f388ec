// The MongoDB backing: a thin pass-through to the official driver. Transactions need a replica set (compose and
// Tilt run MongoDB as a single-node replica set).
import { type AnyBulkWriteOperation, type ClientSession, type Collection as DriverCollection, type Document, MongoClient } from 'mongodb';
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
  Store,
  TxScope,
  Update,
  UpdateOptions,
  UpdateResult,
} from './collection.js';

/** The driver's generic types are stricter than our plain filter objects; every cast to them lives here. */
type AnyFilter = Document;

class MongoCollection<T extends Doc> implements Collection<T> {
  constructor(
    private readonly driver: DriverCollection<Document>,
    private readonly session: ClientSession | undefined,
  ) {}

  get name(): string {
    return this.driver.collectionName;
  }

  async insertOne(doc: T): Promise<void> {
    await this.driver.insertOne(doc as Document, { session: this.session });
  }

  async insertMany(docs: T[]): Promise<{ insertedCount: number }> {
    if (docs.length === 0) return { insertedCount: 0 }; // the driver refuses an empty batch
    const { insertedCount } = await this.driver.insertMany(docs as Document[], { ordered: true, session: this.session });
    return { insertedCount };
  }

  async bulkWrite(ops: Array<BulkOperation<T>>): Promise<BulkWriteResult> {
    if (ops.length === 0) return { insertedCount: 0, matchedCount: 0, modifiedCount: 0, deletedCount: 0, upsertedCount: 0 };
    const result = await this.driver.bulkWrite(ops as AnyBulkWriteOperation<Document>[], { ordered: true, session: this.session });
    const { insertedCount, matchedCount, modifiedCount, deletedCount, upsertedCount } = result;
    return { insertedCount, matchedCount, modifiedCount, deletedCount, upsertedCount };
  }

  async findOne(filter: Filter, options: Omit<FindOptions, 'limit'> = {}): Promise<T | null> {
    return (await this.driver.findOne(filter as AnyFilter, { ...options, session: this.session })) as T | null;
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    return (await this.driver.find(filter as AnyFilter, { ...options, session: this.session }).toArray()) as unknown as T[];
  }

  async countDocuments(filter: Filter = {}): Promise<number> {
    return this.driver.countDocuments(filter as AnyFilter, { session: this.session });
  }

  async updateOne(filter: Filter, update: Update, options: UpdateOptions = {}): Promise<UpdateResult> {
    const result = await this.driver.updateOne(filter as AnyFilter, update as Document, { ...options, session: this.session });
    return {
      matchedCount: result.matchedCount,
      modifiedCount: result.modifiedCount,
      upsertedId: result.upsertedId === null ? null : String(result.upsertedId),
    };
  }

  async updateMany(filter: Filter, update: Update): Promise<UpdateResult> {
    const result = await this.driver.updateMany(filter as AnyFilter, update as Document, { session: this.session });
    return { matchedCount: result.matchedCount, modifiedCount: result.modifiedCount, upsertedId: null };
  }

  async findOneAndUpdate(filter: Filter, update: Update, options: FindOneAndUpdateOptions = {}): Promise<T | null> {
    return (await this.driver.findOneAndUpdate(filter as AnyFilter, update as Document, {
      ...options,
      returnDocument: options.returnDocument ?? 'before',
      session: this.session,
    })) as T | null;
  }

  async deleteOne(filter: Filter): Promise<{ deletedCount: number }> {
    const { deletedCount } = await this.driver.deleteOne(filter as AnyFilter, { session: this.session });
    return { deletedCount };
  }

  async deleteMany(filter: Filter): Promise<{ deletedCount: number }> {
    const { deletedCount } = await this.driver.deleteMany(filter as AnyFilter, { session: this.session });
    return { deletedCount };
  }

  async createIndex(keys: SortSpec, options: IndexOptions = {}): Promise<void> {
    await this.driver.createIndex(keys, options);
  }
}

export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;

  private constructor(
    private readonly client: MongoClient,
    readonly database: string,
  ) {}

  static async connect(uri: string, database: string): Promise<MongoStore> {
    const client = new MongoClient(uri, {
      promoteBuffers: true,
      serverSelectionTimeoutMS: 5_000,
      appName: `pulse-${database}`,
    });
    await client.connect();
    return new MongoStore(client, database);
  }

  collection<T extends Doc>(name: string, session?: ClientSession): Collection<T> {
    return new MongoCollection<T>(this.client.db(this.database).collection(name), session);
  }

  async transaction<R>(fn: (tx: TxScope) => Promise<R>): Promise<R> {
    const session = this.client.startSession();
    try {
      return await session.withTransaction(() =>
        fn({ collection: <T extends Doc>(name: string) => this.collection<T>(name, session) }),
      );
    } finally {
      await session.endSession();
    }
  }

  async ping(): Promise<void> {
    await this.client.db(this.database).command({ ping: 1 });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
