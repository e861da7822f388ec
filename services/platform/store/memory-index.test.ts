// The embedded store answers equality on an index's first field from the index instead of a full scan. An index
// may only narrow the candidates: every query must find exactly what a scan of the same documents finds, in the
// same order, whatever writes, undone transactions and deletes came before.
import { describe, expect, it } from 'vitest';
import type { Collection, Doc, Filter, FindOptions } from './collection.js';
import { MemoryStore } from './memory.js';
import { cloneValue } from './query.js';

interface Row extends Doc {
  state?: number | null;
  owner?: string;
  tags?: string[];
  due?: Date | null;
  nested?: { key: string };
}

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

function randomRow(next: () => number, id: string): Row {
  const pick = <T>(values: T[]) => values[Math.floor(next() * values.length)];
  const row: Row = { _id: id };
  const state = pick([0, 1, 2, null, undefined]);
  if (state !== undefined) row.state = state;
  if (next() < 0.8) row.owner = pick(['ann', 'bob', 'cy']);
  if (next() < 0.6) row.tags = Array.from({ length: Math.floor(next() * 3) }, () => pick(['a', 'b', 'c']));
  const due = pick([new Date(1_000), new Date(2_000), null, undefined]);
  if (due !== undefined) row.due = due;
  if (next() < 0.3) row.nested = { key: pick(['x', 'y']) };
  return row;
}

const FILTERS: Filter[] = [
  { state: 1 },
  { state: null },
  { state: { $in: [0, 2] } },
  { state: { $eq: 2 }, owner: 'ann' },
  { owner: 'bob' },
  { owner: { $in: ['ann', 'cy'] }, state: { $ne: 1 } },
  { tags: 'a' },
  { tags: { $in: ['b', 'c'] } },
  { tags: null },
  { due: new Date(1_000) },
  { due: null, state: 0 },
  { due: { $lte: new Date(1_500) } },
  { 'nested.key': 'x' },
  { owner: 'ann', $or: [{ state: 0 }, { state: null }] },
  { state: { $in: [] } },
];

const OPTIONS: (FindOptions | undefined)[] = [undefined, { sort: { owner: 1 } }, { limit: 3 }, { sort: { _id: -1 }, skip: 1, limit: 4 }];

describe('memory store indexes', () => {
  it('find exactly what a full scan finds, in the same order, through inserts, updates, deletes and rollbacks', async () => {
    const next = random(7);
    const store = new MemoryStore('pulse_index_test');
    const indexed = store.collection<Row>('indexed');
    const plain = store.collection<Row>('plain');
    await indexed.createIndex({ state: 1, due: 1 });
    await indexed.createIndex({ owner: 1 });
    await indexed.createIndex({ tags: 1 });
    await indexed.createIndex({ due: 1 }, { expireAfterSeconds: 3_600 });
    await indexed.createIndex({ 'nested.key': 1 });
    const both = async (fn: (c: Collection<Row>) => Promise<unknown>) => {
      await fn(indexed);
      await fn(plain);
    };
    for (let step = 0; step < 1_500; step++) {
      const id = `r${Math.floor(next() * 200)}`;
      const roll = next();
      const row = randomRow(next, id);
      if (roll < 0.4) {
        await both((c) => c.insertOne(cloneValue(row)).catch(() => undefined));
      } else if (roll < 0.7) {
        await both((c) => c.updateOne({ _id: id }, { $set: { state: row.state ?? null, owner: row.owner ?? 'cy', tags: row.tags ?? [] } }));
      } else if (roll < 0.8) {
        await both((c) => c.updateMany({ owner: row.owner ?? 'ann' }, { $set: { due: row.due ?? null } }));
      } else if (roll < 0.88) {
        await both((c) => c.deleteOne({ _id: id }));
      } else {
        // A unit of work that fails: its writes are undone.
        for (const name of ['indexed', 'plain']) {
          await store
            .transaction(async (tx) => {
              const c = tx.collection<Row>(name);
              await c.updateOne({ _id: id }, { $set: { state: 2, owner: 'zed' } });
              await c.insertOne({ _id: `${id}-tx`, state: 1, owner: 'zed' }).catch(() => undefined);
              await c.deleteMany({ owner: 'bob', state: 0 });
              throw new Error('roll back');
            })
            .catch(() => undefined);
        }
      }
      if (step % 50 === 0) {
        for (const filter of FILTERS) {
          for (const options of OPTIONS) {
            expect(await indexed.find(filter, options), JSON.stringify({ step, filter, options })).toEqual(await plain.find(filter, options));
          }
          expect(await indexed.countDocuments(filter)).toBe(await plain.countDocuments(filter));
        }
      }
    }
    await store.close();
  });

  it('indexes documents already there when the index is created', async () => {
    const store = new MemoryStore('pulse_index_test');
    const rows = store.collection<Row>('late');
    for (let i = 0; i < 20; i++) await rows.insertOne({ _id: `r${i}`, state: i % 3, owner: i % 2 ? 'ann' : 'bob' });
    await rows.createIndex({ state: 1 });
    expect((await rows.find({ state: 2 })).map((r) => r._id)).toEqual(['r2', 'r5', 'r8', 'r11', 'r14', 'r17']);
    await store.close();
  });
});

describe('memory store updates', () => {
  it('change only the new version of a document: a rolled-back update leaves nested fields as they were', async () => {
    const store = new MemoryStore('pulse_update_test');
    const rows = store.collection<Row & { deep?: { a: { b: number; list: number[] } } }>('rows');
    await rows.insertOne({ _id: 'x', nested: { key: 'k' }, tags: ['a'], deep: { a: { b: 1, list: [1] } } });
    await store
      .transaction(async (tx) => {
        const c = tx.collection<Row>('rows');
        await c.updateOne({ _id: 'x' }, { $set: { 'nested.key': 'changed', 'deep.a.b': 2 }, $push: { 'deep.a.list': 2, tags: 'b' }, $unset: { 'nested.key': '' } });
        throw new Error('roll back');
      })
      .catch(() => undefined);
    expect(await rows.findOne({ _id: 'x' })).toEqual({ _id: 'x', nested: { key: 'k' }, tags: ['a'], deep: { a: { b: 1, list: [1] } } });
    const after = await rows.findOneAndUpdate({ _id: 'x' }, { $set: { 'deep.a.b': 3 }, $inc: { 'deep.a.c': 1 } }, { returnDocument: 'after' });
    expect(after).toEqual({ _id: 'x', nested: { key: 'k' }, tags: ['a'], deep: { a: { b: 3, list: [1], c: 1 } } });
    await rows.updateOne({ _id: 'x' }, { $unset: { 'deep.a.list': '', 'missing.path': '' } });
    expect(await rows.findOne({ _id: 'x' })).toEqual({ _id: 'x', nested: { key: 'k' }, tags: ['a'], deep: { a: { b: 3, c: 1 } } });
    await store.close();
  });

  it('copy the values an update or an upsert takes from the caller', async () => {
    const store = new MemoryStore('pulse_update_test');
    const rows = store.collection<Row & { at?: Date; data?: { n: number } }>('rows');
    const at = new Date(1_000);
    const data = { n: 1 };
    await rows.updateOne({ _id: 'u', due: at }, { $set: { data }, $max: { at } }, { upsert: true });
    at.setTime(5_000);
    data.n = 2;
    expect(await rows.findOne({ _id: 'u' })).toEqual({ _id: 'u', due: new Date(1_000), data: { n: 1 }, at: new Date(1_000) });
    await store.close();
  });
});

describe('cloneValue', () => {
  it('copies documents as structuredClone does', () => {
    const doc = {
      _id: 'a',
      at: new Date(5),
      body: new Uint8Array([1, 2, 3]),
      buffer: Buffer.from('hi'),
      list: [1, { x: [2, null] }, undefined],
      nested: { big: 10n, none: null, missing: undefined, map: new Map([['k', 1]]) },
    };
    const copy = cloneValue(doc);
    expect(copy).toEqual(structuredClone(doc));
    expect(copy.buffer).toBeInstanceOf(Uint8Array);
    expect(copy.at).not.toBe(doc.at);
    expect(copy.body).not.toBe(doc.body);
    expect(copy.list[1]).not.toBe(doc.list[1]);
    expect(copy.nested.map).not.toBe(doc.nested.map);
    doc.body[0] = 9;
    expect(copy.body[0]).toBe(1);
  });
});
