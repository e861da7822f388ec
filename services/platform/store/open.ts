import type { Store } from './collection.js';
import { MemoryStore } from './memory.js';
import { MongoStore } from './mongo.js';

/** MongoDB when a URI is given, the embedded store otherwise. One database per service: `pulse_<service>`. */
export async function openStore(service: string, mongodbUri: string | undefined): Promise<Store> {
  const database = `pulse_${service}`;
  return mongodbUri ? MongoStore.connect(mongodbUri, database) : new MemoryStore(database);
}
