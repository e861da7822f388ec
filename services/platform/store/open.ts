import type { Store } from './collection.js';
import { MemoryStore } from './memory.js';
import { MongoStore } from './mongo.js';

/**
 * MongoDB when a URI is given, else the embedded store (journalled to dataDir when one is given, so it survives
 * a process crash). One database per service: `<databasePrefix><service>`, `pulse_<service>` by default.
 */
export async function openStore(service: string, mongodbUri: string | undefined, dataDir?: string, databasePrefix = 'pulse_'): Promise<Store> {
  const database = `${databasePrefix}${service}`;
  if (mongodbUri) return MongoStore.connect(mongodbUri, database);
  return dataDir ? MemoryStore.withJournal(database, dataDir) : new MemoryStore(database);
}
