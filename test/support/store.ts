// The store the services' handler tests run on: the embedded store, or MongoDB when PULSE_TEST_STORE=mongodb
// (`npm run test:mongo`, with MONGODB_URI), each test store on a database of its own that is dropped on close. So
// the same tests check both backings.
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import type { Store } from '../../services/platform/store/collection.js';
import { MemoryStore } from '../../services/platform/store/memory.js';
import { MongoStore } from '../../services/platform/store/mongo.js';

export interface TestStore extends Store {
  /** Removes what the TTL indexes let expire by `now` (a time in the future included), as the TTL monitor would then. */
  sweepExpired(now: Date): number | Promise<number>;
}

export function testStoreIsMongo(): boolean {
  return process.env.PULSE_TEST_STORE === 'mongodb';
}

function mongodbUri(): string {
  const uri = process.env.MONGODB_URI;
  if (!uri) throw new Error('PULSE_TEST_STORE=mongodb needs MONGODB_URI (a replica set: transactions need one)');
  return uri;
}

/** Deletes what each TTL index of the database lets expire by now: the server's TTL monitor, run at a chosen time. */
async function sweepAt(client: MongoClient, database: string, now: Date): Promise<number> {
  let removed = 0;
  const db = client.db(database);
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    for (const index of await db.collection(name).listIndexes().toArray()) {
      if (typeof index.expireAfterSeconds !== 'number') continue;
      const [field] = Object.keys(index.key as object);
      const cutoff = new Date(now.getTime() - index.expireAfterSeconds * 1000);
      removed += (await db.collection(name).deleteMany({ [field]: { $type: 'date', $lte: cutoff } })).deletedCount;
    }
  }
  return removed;
}

/** A store for a test: named after database (plus a random suffix on MongoDB, so parallel tests never share one). */
export async function openTestStore(database: string): Promise<TestStore> {
  if (!testStoreIsMongo()) return new MemoryStore(database);
  const uri = mongodbUri();
  const name = `${database}_${randomBytes(4).toString('hex')}`;
  const store = await MongoStore.connect(uri, name);
  const admin = await new MongoClient(uri).connect();
  const close = store.close.bind(store);
  return Object.assign(store, {
    sweepExpired: (now: Date) => sweepAt(admin, name, now),
    close: async () => {
      try {
        await admin.db(name).dropDatabase();
      } finally {
        await admin.close();
        await close();
      }
    },
  });
}
