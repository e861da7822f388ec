// One suite for the store interface, run against every backing: the embedded store always, MongoDB whenever
// MONGODB_URI is set (there is no MongoDB server on the development machines; `npm run test:mongo` runs both).
// Transaction isolation has its own suite (isolation.contract.test.ts).
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type Doc, DuplicateKeyError, isDuplicateKey, type Store } from '../../services/platform/store/collection.js';
import { MemoryStore } from '../../services/platform/store/memory.js';
import { rejectionOf } from '../support/rejection.js';
import { type Backing, storeBackings } from './backings.js';
import { journalFrames } from './journal-frames.js';

interface Item extends Doc {
  group: string;
  n: number;
  tags?: string[];
  nested?: { key: string; count?: number };
  at?: Date;
  body?: Uint8Array;
  key?: string;
}

describe.each(storeBackings('store suite'))('store backing: $name', (backing: Backing) => {
  let store: Store;
  let seq = 0;
  const fresh = () => store.collection<Item>(`items_${++seq}`);

  beforeEach(async () => {
    store ??= await backing.open();
  });
  afterAll(async () => {
    await store?.close();
    await backing.cleanUp();
  });

  it('inserts and finds by _id, returning copies the caller cannot change', async () => {
    const items = fresh();
    const doc: Item = { _id: 'a', group: 'g', n: 1, nested: { key: 'k' } };
    await items.insertOne(doc);
    doc.n = 99;
    const found = await items.findOne({ _id: 'a' });
    expect(found).toEqual({ _id: 'a', group: 'g', n: 1, nested: { key: 'k' } });
    found!.n = 42;
    expect((await items.findOne({ _id: 'a' }))!.n).toBe(1);
  });

  it('rejects a second document with the same _id or unique key', async () => {
    const items = fresh();
    await items.createIndex({ key: 1 }, { unique: true });
    await items.insertOne({ _id: 'a', group: 'g', n: 1, key: 'k1' });
    await expect(items.insertOne({ _id: 'a', group: 'g', n: 2, key: 'k2' })).rejects.toSatisfy(isDuplicateKey);
    await expect(items.insertOne({ _id: 'b', group: 'g', n: 2, key: 'k1' })).rejects.toSatisfy(isDuplicateKey);
    expect(await items.countDocuments({})).toBe(1);
  });

  it('filters with operators, dotted paths, arrays and $or', async () => {
    const items = fresh();
    for (let n = 1; n <= 6; n++) {
      await items.insertOne({
        _id: `i${n}`,
        group: n % 2 ? 'odd' : 'even',
        n,
        tags: n > 3 ? ['big'] : ['small'],
        nested: { key: `k${n}` },
        at: new Date(Date.UTC(2026, 0, n)),
      });
    }
    const ids = async (filter: Record<string, unknown>) => (await items.find(filter, { sort: { n: 1 } })).map((d) => d._id);
    expect(await ids({ group: 'odd', n: { $gt: 1 } })).toEqual(['i3', 'i5']);
    expect(await ids({ n: { $gte: 2, $lt: 4 } })).toEqual(['i2', 'i3']);
    expect(await ids({ n: { $in: [1, 6] } })).toEqual(['i1', 'i6']);
    expect(await ids({ n: { $nin: [1, 2, 3, 4] } })).toEqual(['i5', 'i6']);
    expect(await ids({ tags: 'big' })).toEqual(['i4', 'i5', 'i6']);
    expect(await ids({ 'nested.key': 'k2' })).toEqual(['i2']);
    expect(await ids({ at: { $lt: new Date(Date.UTC(2026, 0, 3)) } })).toEqual(['i1', 'i2']);
    expect(await ids({ $or: [{ n: 1 }, { 'nested.key': 'k6' }] })).toEqual(['i1', 'i6']);
    expect(await ids({ missing: { $exists: false }, n: { $ne: 3 } })).toEqual(['i1', 'i2', 'i4', 'i5', 'i6']);
    expect(await ids({ missing: null, n: 1 })).toEqual(['i1']);
  });

  it('sorts, skips and limits, and pages by key without repeats while inserting', async () => {
    const items = fresh();
    for (const n of [5, 3, 9, 1, 7]) await items.insertOne({ _id: `i${n}`, group: 'g', n });
    expect((await items.find({}, { sort: { n: -1 }, skip: 1, limit: 2 })).map((d) => d.n)).toEqual([7, 5]);
    const seen: number[] = [];
    let after = -Infinity;
    for (;;) {
      const page = await items.find({ n: { $gt: after } }, { sort: { n: 1 }, limit: 2 });
      if (page.length === 0) break;
      seen.push(...page.map((d) => d.n));
      after = page[page.length - 1].n;
      await items.insertOne({ _id: `late${after}`, group: 'g', n: after - 0.5 }); // behind the cursor
    }
    expect(seen).toEqual([1, 3, 5, 7, 9]);
  });

  it('updates with $set, $inc, $push, $addToSet, $pull, $unset, $max and $min', async () => {
    const items = fresh();
    await items.insertOne({ _id: 'a', group: 'g', n: 1, tags: ['x'], nested: { key: 'k', count: 1 } });
    const res = await items.updateOne(
      { _id: 'a' },
      { $set: { group: 'h', 'nested.key': 'k2' }, $inc: { n: 2, 'nested.count': 5 }, $push: { tags: { $each: ['y', 'z'] } } },
    );
    expect(res.matchedCount).toBe(1);
    await items.updateOne({ _id: 'a' }, { $addToSet: { tags: 'x' }, $pull: { tags: 'y' }, $max: { n: 10 } });
    await items.updateOne({ _id: 'a' }, { $min: { n: 4 }, $unset: { nested: '' } });
    expect(await items.findOne({ _id: 'a' })).toEqual({ _id: 'a', group: 'h', n: 4, tags: ['x', 'z'] });
  });

  it('upserts from the filter and $setOnInsert, only once', async () => {
    const items = fresh();
    const first = await items.updateOne({ _id: 'u' }, { $setOnInsert: { group: 'g', n: 0 }, $inc: { hits: 1 } as never }, { upsert: true });
    expect(first.upsertedId).toBe('u');
    const second = await items.updateOne({ _id: 'u' }, { $setOnInsert: { group: 'other', n: 0 }, $inc: { hits: 1 } as never }, { upsert: true });
    expect(second.upsertedId).toBeNull();
    expect(await items.findOne({ _id: 'u' })).toEqual({ _id: 'u', group: 'g', n: 0, hits: 2 });
  });

  it('findOneAndUpdate is a conditional update: of two racing claims exactly one wins', async () => {
    const items = fresh();
    await items.insertOne({ _id: 'case', group: 'open', n: 0 });
    const claim = (who: string) =>
      items.findOneAndUpdate({ _id: 'case', group: 'open' }, { $set: { group: `claimed:${who}` } }, { returnDocument: 'after' });
    const [a, b] = await Promise.all([claim('ann'), claim('bob')]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    expect((await items.findOne({ _id: 'case' }))!.group).toBe((a ?? b)!.group);
    const before = await items.findOneAndUpdate({ _id: 'case' }, { $inc: { n: 1 } });
    expect(before!.n).toBe(0);
  });

  it('deletes one or many', async () => {
    const items = fresh();
    for (let n = 0; n < 4; n++) await items.insertOne({ _id: `d${n}`, group: n < 3 ? 'x' : 'y', n });
    expect((await items.deleteOne({ group: 'x' })).deletedCount).toBe(1);
    expect((await items.deleteMany({ group: 'x' })).deletedCount).toBe(2);
    expect(await items.countDocuments()).toBe(1);
  });

  it('keeps binary bodies and dates intact', async () => {
    const items = fresh();
    const body = new Uint8Array([0, 1, 2, 250, 255]);
    const at = new Date('2026-03-29T01:30:00.123Z');
    await items.insertOne({ _id: 'bin', group: 'g', n: 0, body, at });
    const found = await items.findOne({ _id: 'bin' });
    expect(Buffer.from(found!.body!).equals(Buffer.from(body))).toBe(true);
    expect(found!.at!.getTime()).toBe(at.getTime());
  });

  it('inserts many in order, stopping at a duplicate _id and keeping the ones before it', async () => {
    const items = fresh();
    expect(await items.insertMany([])).toEqual({ insertedCount: 0 });
    expect(await items.insertMany([{ _id: 'a', group: 'g', n: 1 }, { _id: 'b', group: 'g', n: 2 }])).toEqual({ insertedCount: 2 });
    const stopped = items.insertMany([{ _id: 'c', group: 'g', n: 3 }, { _id: 'a', group: 'g', n: 9 }, { _id: 'd', group: 'g', n: 4 }]);
    await expect(stopped).rejects.toSatisfy(isDuplicateKey);
    expect((await items.find({}, { sort: { _id: 1 } })).map((d) => [d._id, d.n])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
  });

  it('runs a bulk write in order, each operation seeing the ones before it', async () => {
    const items = fresh();
    await items.insertOne({ _id: 'old', group: 'g', n: 1 });
    const result = await items.bulkWrite([
      { insertOne: { document: { _id: 'new', group: 'h', n: 1 } } },
      { updateOne: { filter: { _id: 'new' }, update: { $inc: { n: 10 } } } },
      // Matches only the version the operation before made.
      { updateOne: { filter: { group: 'h', n: 11 }, update: { $set: { group: 'g' } } } },
      { updateOne: { filter: { _id: 'up' }, update: { $set: { group: 'u', n: 5 } }, upsert: true } },
      { updateOne: { filter: { _id: 'none' }, update: { $set: { n: 0 } } } },
      { deleteOne: { filter: { _id: 'old' } } },
      { deleteOne: { filter: { _id: 'none' } } },
    ]);
    expect(result).toEqual({ insertedCount: 1, matchedCount: 2, modifiedCount: 2, deletedCount: 1, upsertedCount: 1 });
    expect((await items.find({}, { sort: { _id: 1 } })).map((d) => [d._id, d.group, d.n])).toEqual([
      ['new', 'g', 11],
      ['up', 'u', 5],
    ]);
    expect(await items.bulkWrite([])).toEqual({ insertedCount: 0, matchedCount: 0, modifiedCount: 0, deletedCount: 0, upsertedCount: 0 });
  });

  it('stops a bulk write at a duplicate key, keeping the operations before it', async () => {
    const items = fresh();
    await items.insertOne({ _id: 'a', group: 'g', n: 1 });
    const stopped = items.bulkWrite([
      { updateOne: { filter: { _id: 'a' }, update: { $inc: { n: 1 } } } },
      { insertOne: { document: { _id: 'a', group: 'g', n: 0 } } },
      { deleteOne: { filter: { _id: 'a' } } },
    ]);
    await expect(stopped).rejects.toSatisfy(isDuplicateKey);
    expect((await items.find({})).map((d) => [d._id, d.n])).toEqual([['a', 2]]);
  });

  it('commits a transaction as a whole, and rolls every write back when it throws', async () => {
    const name = `tx_${++seq}`;
    const items = store.collection<Item>(name);
    await items.createIndex({ key: 1 }, { unique: true });
    await items.insertOne({ _id: 'existing', group: 'g', n: 1, key: 'taken' });

    await store.transaction(async (tx) => {
      await tx.collection<Item>(name).insertOne({ _id: 't1', group: 'g', n: 1, key: 'k1' });
      await tx.collection<Item>(name).updateOne({ _id: 'existing' }, { $inc: { n: 1 } });
    });
    expect(await items.countDocuments()).toBe(2);

    await expect(
      store.transaction(async (tx) => {
        await tx.collection<Item>(name).insertOne({ _id: 't2', group: 'g', n: 1, key: 'k2' });
        await tx.collection<Item>(name).updateOne({ _id: 'existing' }, { $inc: { n: 100 } });
        await tx.collection<Item>(name).deleteOne({ _id: 't1' });
        await tx.collection<Item>(name).insertOne({ _id: 't3', group: 'g', n: 1, key: 'taken' }); // duplicate key
      }),
    ).rejects.toSatisfy(isDuplicateKey);
    expect((await items.find({}, { sort: { _id: 1 } })).map((d) => [d._id, d.n])).toEqual([
      ['existing', 2],
      ['t1', 1],
    ]);
  });

  it('creating the same index twice is harmless', async () => {
    const items = fresh();
    await items.createIndex({ key: 1 }, { unique: true });
    await items.createIndex({ key: 1 }, { unique: true });
    await items.insertOne({ _id: 'a', group: 'g', n: 1, key: 'k' });
    await expect(items.insertOne({ _id: 'b', group: 'g', n: 1, key: 'k' })).rejects.toBeDefined();
  });
});

describe('embedded store specifics', () => {
  it('expires documents past their TTL', async () => {
    const store = new MemoryStore('pulse_ttl');
    const rows = store.collection<Item>('rows');
    await rows.createIndex({ at: 1 }, { expireAfterSeconds: 60 });
    await rows.insertOne({ _id: 'old', group: 'g', n: 0, at: new Date(Date.now() - 120_000) });
    await rows.insertOne({ _id: 'new', group: 'g', n: 0, at: new Date() });
    await rows.insertOne({ _id: 'no-date', group: 'g', n: 0 });
    expect(store.sweepExpired(new Date())).toBe(1);
    expect((await rows.find({}, { sort: { _id: 1 } })).map((d) => d._id)).toEqual(['new', 'no-date']);
    await store.close();
  });

  it('reports duplicates as DuplicateKeyError naming the index', async () => {
    const store = new MemoryStore('pulse_dup');
    const rows = store.collection<Item>('rows');
    await rows.createIndex({ group: 1, key: 1 }, { unique: true });
    await rows.insertOne({ _id: 'a', group: 'g', n: 0, key: 'k' });
    const err = await rejectionOf(rows.insertOne({ _id: 'b', group: 'g', n: 0, key: 'k' }), DuplicateKeyError);
    expect(err.key).toBe('group,key');
    await store.close();
  });
  it('expires documents as a commit of its own: a running transaction keeps its snapshot, a held document waits', async () => {
    const store = new MemoryStore('pulse_ttl_tx');
    const rows = store.collection<Item>('rows');
    await rows.createIndex({ at: 1 }, { expireAfterSeconds: 60 });
    const old = new Date(Date.now() - 120_000);
    await rows.insertOne({ _id: 'read', group: 'g', n: 0, at: old });
    await rows.insertOne({ _id: 'held', group: 'g', n: 0, at: old });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let swept = 0;
    const seen = store.transaction(async (tx) => {
      const txRows = tx.collection<Item>('rows');
      await txRows.updateOne({ _id: 'held' }, { $inc: { n: 1 } });
      swept = store.sweepExpired(new Date());
      await released;
      return (await txRows.find({}, { sort: { _id: 1 } })).map((d) => d._id);
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(swept).toBe(1);
    expect(await rows.countDocuments({})).toBe(1);
    release();
    expect(await seen).toEqual(['held', 'read']);
    expect(store.sweepExpired(new Date())).toBe(1);
    expect(await rows.countDocuments({})).toBe(0);
    await store.close();
  });
});

describe('embedded store journal', () => {
  it('appends one frame per commit, in commit order: a write outside transactions, a transaction, a sweep', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulse-journal-'));
    try {
      const store = MemoryStore.withJournal('pulse_frames', dir);
      const items = store.collection<Item>('items');
      await items.insertOne({ _id: 'a', group: 'g', n: 1 });
      await items.insertOne({ _id: 'b', group: 'g', n: 1 });
      await store.transaction(async (tx) => {
        await tx.collection<Item>('items').updateMany({ group: 'g' }, { $inc: { n: 1 } });
        await tx.collection<Item>('other').insertOne({ _id: 'c', group: 'g', n: 0 });
      });
      await store.transaction(async (tx) => void (await tx.collection<Item>('items').find({}))); // reads only: no frame
      await items.updateMany({ group: 'g' }, { $set: { group: 'h' } });
      // The compaction on open wrote one frame (empty); then one per commit.
      expect(journalFrames(join(dir, 'pulse_frames.journal'))).toBe(1 + 4);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes an insertMany or a bulk write outside transactions as one frame, and replays it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulse-journal-'));
    try {
      const store = MemoryStore.withJournal('pulse_bulk', dir);
      const items = store.collection<Item>('items');
      await items.insertMany([1, 2, 3].map((n) => ({ _id: `i${n}`, group: 'g', n })));
      await items.bulkWrite([
        { updateOne: { filter: { _id: 'i1' }, update: { $inc: { n: 10 } } } },
        { deleteOne: { filter: { _id: 'i2' } } },
        { insertOne: { document: { _id: 'i4', group: 'g', n: 4 } } },
      ]);
      expect(journalFrames(join(dir, 'pulse_bulk.journal'))).toBe(1 + 2); // the compaction on open, then one per bulk write
      const reopened = MemoryStore.withJournal('pulse_bulk', dir);
      expect((await reopened.collection<Item>('items').find({}, { sort: { _id: 1 } })).map((d) => [d._id, d.n])).toEqual([
        ['i1', 11],
        ['i3', 3],
        ['i4', 4],
      ]);
      await reopened.close();
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('brings back every committed write after a crash, and nothing of a failed unit of work', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulse-journal-'));
    try {
      const first = MemoryStore.withJournal('pulse_crash', dir);
      const items = first.collection<Item>('items');
      await items.insertOne({ _id: 'a', group: 'g', n: 1, at: new Date('2026-01-01T00:00:00Z'), body: new Uint8Array([7, 8]) });
      await items.updateOne({ _id: 'a' }, { $inc: { n: 1 } });
      await items.insertOne({ _id: 'gone', group: 'g', n: 0 });
      await items.deleteOne({ _id: 'gone' });
      await first.transaction(async (tx) => {
        await tx.collection<Item>('items').insertOne({ _id: 'b', group: 'tx', n: 1 });
        await tx.collection<Item>('inbox').insertOne({ _id: 'evt-1', group: 'inbox', n: 0 });
      });
      await expect(
        first.transaction(async (tx) => {
          await tx.collection<Item>('items').insertOne({ _id: 'c', group: 'tx', n: 1 });
          throw new Error('handler failed');
        }),
      ).rejects.toThrow('handler failed');
      // kill -9: no close(); a frame torn by the crash is at the end of the file.
      appendFileSync(join(dir, 'pulse_crash.journal'), Buffer.from([0, 0, 1, 0, 9, 9]));

      const second = MemoryStore.withJournal('pulse_crash', dir);
      const back = await second.collection<Item>('items').find({}, { sort: { _id: 1 } });
      expect(back.map((d) => [d._id, d.n])).toEqual([
        ['a', 2],
        ['b', 1],
      ]);
      expect(back[0].at).toEqual(new Date('2026-01-01T00:00:00Z'));
      expect(Buffer.from(back[0].body!).equals(Buffer.from([7, 8]))).toBe(true);
      expect(await second.collection<Item>('inbox').countDocuments({ _id: 'evt-1' })).toBe(1);
      await second.close();

      const third = MemoryStore.withJournal('pulse_crash', dir); // after compaction, the same data
      expect(await third.collection<Item>('items').countDocuments()).toBe(2);
      await third.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
