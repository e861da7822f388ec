// The store backings the store contract suites run against: the embedded store without and with a journal always,
// MongoDB whenever MONGODB_URI is set (there is no MongoDB server on the development machines; `npm run
// test:mongo` runs them there). Each opened store gets a database of its own, dropped afterwards.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import type { Store } from '../../services/platform/store/collection.js';
import { MemoryStore } from '../../services/platform/store/memory.js';
import { MongoStore } from '../../services/platform/store/mongo.js';

export interface Backing {
  name: string;
  /** A store on a database of its own. */
  open(): Promise<Store>;
  /** Closes store and opens its data again, as a restarted process would (journalled backings only). */
  reopen?(store: Store): Promise<Store>;
  /** Makes the TTL monitor remove what has expired by `at`; resolves once it has (MongoDB: within its 60 s pass). */
  expire(store: Store, at: Date, gone: () => Promise<boolean>): Promise<void>;
  /** Drops every database this backing opened. */
  cleanUp(): Promise<void>;
}

const databaseName = () => `pulse_test_${randomBytes(6).toString('hex')}`;

function memory(): Backing {
  return {
    name: 'memory',
    open: async () => new MemoryStore(databaseName()),
    expire: async (store) => {
      (store as MemoryStore).sweepExpired(new Date(Date.now() + 365 * 86_400_000));
    },
    cleanUp: async () => {},
  };
}

function journalled(): Backing {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-journal-'));
  return {
    name: 'memory with journal',
    open: async () => MemoryStore.withJournal(databaseName(), dir),
    reopen: async (store) => {
      await store.close();
      return MemoryStore.withJournal(store.database, dir);
    },
    expire: async (store, at) => {
      (store as MemoryStore).sweepExpired(at);
    },
    cleanUp: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function mongodb(uri: string): Backing {
  const databases: string[] = [];
  return {
    name: 'mongodb',
    open: async () => {
      const name = databaseName();
      databases.push(name);
      return MongoStore.connect(uri, name);
    },
    expire: async (_store, _at, gone) => {
      // The server's TTL monitor runs every 60 s; give it one and a half passes.
      const until = Date.now() + 90_000;
      while (!(await gone())) {
        if (Date.now() > until) throw new Error('the TTL monitor removed nothing within 90 s');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    },
    cleanUp: async () => {
      const client = await new MongoClient(uri).connect();
      try {
        for (const name of databases) await client.db(name).dropDatabase();
      } finally {
        await client.close();
      }
    },
  };
}

/** Every backing to test here, with a visible note when MongoDB is left out. */
export function storeBackings(suite: string): Backing[] {
  const backings = [memory(), journalled()];
  const uri = process.env.MONGODB_URI;
  if (uri) backings.push(mongodb(uri));
  else console.warn(`${suite}: MONGODB_URI is not set, so only the embedded store is tested (no MongoDB server here)`);
  return backings;
}
