// The stores the mesh scenarios run the six services on.
//
// durable (the headline): what `npm run start:mesh` gives a user, each service journalling its embedded store
//   under PULSE_DATA_DIR; here a fresh temporary directory per run, removed afterwards.
// memory: no PULSE_DATA_DIR, so nothing is journalled and everything is lost on restart; a side row only.
// mongodb: MONGODB_URI passed to the services, on databases named for the run (PULSE_DATABASE_PREFIX), dropped
//   afterwards, so a user's own `pulse_*` databases are never touched.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';

export const STORE_KINDS = ['durable', 'memory', 'mongodb'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export const STORE_LABELS: Record<StoreKind, string> = {
  durable: 'durable (journalled embedded stores, PULSE_DATA_DIR, as `npm run start:mesh`)',
  memory: 'memory only: does not survive a restart',
  mongodb: 'MongoDB (MONGODB_URI)',
};

export interface StoreSetup {
  kind: StoreKind;
  label: string;
  /** Environment for every service process. */
  env: Record<string, string | undefined>;
  /** Removes what the run stored (data directory, databases). */
  cleanup(): Promise<void>;
}

const NO_STORE_ENV = { PULSE_DATA_DIR: undefined, MONGODB_URI: undefined, PULSE_DATABASE_PREFIX: undefined };

/** The stores to run on: the requested ones, or by default durable, memory for full runs, and MongoDB when set. */
export function chooseStores(requested: string | undefined, profile: string, mongodbUri: string | undefined): StoreKind[] {
  if (requested) {
    const kinds = requested.split(',').map((s) => s.trim());
    for (const kind of kinds) if (!(STORE_KINDS as readonly string[]).includes(kind)) throw new Error(`unknown store "${kind}" (known: ${STORE_KINDS.join(', ')})`);
    if (kinds.includes('mongodb') && !mongodbUri) throw new Error('--stores mongodb needs MONGODB_URI (a replica set: transactions need one)');
    return kinds as StoreKind[];
  }
  if (profile === 'smoke') return ['durable'];
  return mongodbUri ? ['durable', 'memory', 'mongodb'] : ['durable', 'memory'];
}

export async function prepareStore(kind: StoreKind, mongodbUri: string | undefined): Promise<StoreSetup> {
  const label = STORE_LABELS[kind];
  switch (kind) {
    case 'durable': {
      const dir = mkdtempSync(join(os.tmpdir(), 'pulse-bench-data-'));
      return {
        kind,
        label,
        env: { ...NO_STORE_ENV, PULSE_DATA_DIR: dir },
        async cleanup() {
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    case 'memory':
      return { kind, label, env: NO_STORE_ENV, cleanup: async () => {} };
    case 'mongodb': {
      if (!mongodbUri) throw new Error('the MongoDB store needs MONGODB_URI');
      const prefix = `bench_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}_`;
      return {
        kind,
        label,
        env: { ...NO_STORE_ENV, MONGODB_URI: mongodbUri, PULSE_DATABASE_PREFIX: prefix },
        cleanup: () => dropDatabases(mongodbUri, prefix),
      };
    }
  }
}

async function dropDatabases(uri: string, prefix: string): Promise<void> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5_000 });
  try {
    const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
    for (const { name } of databases) if (name.startsWith(prefix)) await client.db(name).dropDatabase();
  } finally {
    await client.close();
  }
}

/** Runs body on each store in turn, cleaning up after each. */
export async function onEachStore<T>(kinds: readonly StoreKind[], mongodbUri: string | undefined, body: (store: StoreSetup) => Promise<T>): Promise<(T & { store: StoreKind; storeLabel: string })[]> {
  const out: (T & { store: StoreKind; storeLabel: string })[] = [];
  for (const kind of kinds) {
    const store = await prepareStore(kind, mongodbUri);
    try {
      out.push({ store: kind, storeLabel: store.label, ...(await body(store)) });
    } finally {
      await store.cleanup();
    }
  }
  return out;
}
