// The isolation contract of Store.transaction, run against every backing: MongoDB's semantics (snapshot reads,
// atomic commits, first writer wins, transient conflicts retried as withTransaction retries them), so what a
// repository does on the embedded store is what it does on MongoDB.
import { afterAll, describe, expect, it } from 'vitest';
import { type Doc, isDuplicateKey, type Store, type TxScope } from '../../services/platform/store/collection.js';
import { type Backing, storeBackings } from './backings.js';
import { barrier, deferred } from './deferred.js';

interface Row extends Doc {
  n: number;
  group?: string;
  key?: string;
  at?: Date;
}

/** Whether promise is still pending after the event loop has had ms to settle it. */
async function pendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setTimeout(resolve, ms));
  return !settled;
}

const backings = storeBackings('isolation suite');

describe.each(backings)('transaction isolation: $name', (backing: Backing) => {
  const stores: Store[] = [];
  let seq = 0;
  const open = async () => {
    const store = await backing.open();
    stores.push(store);
    return store;
  };
  /** A store with a fresh collection of rows (the given ones inserted). */
  const setup = async (rows: Row[] = []) => {
    const store = await open();
    const name = `rows_${++seq}`;
    const rowsOf = (scope: TxScope = store) => scope.collection<Row>(name);
    for (const row of rows) await rowsOf().insertOne(row);
    return { store, rowsOf };
  };
  afterAll(async () => {
    for (const store of stores) await store.close().catch(() => undefined);
    await backing.cleanUp();
  });

  it('never shows a failing transaction’s insert: not to a concurrent transaction, not to a plain read', async () => {
    const { store, rowsOf } = await setup();
    const inserted = deferred();
    const release = deferred();
    const failing = store.transaction(async (tx) => {
      await rowsOf(tx).insertOne({ _id: 'ghost', n: 1, group: 'g' });
      inserted.resolve();
      await release.promise;
      throw new Error('the body failed');
    });
    await inserted.promise;
    expect(await rowsOf().findOne({ _id: 'ghost' })).toBeNull();
    expect(await rowsOf().countDocuments({ group: 'g' })).toBe(0);
    const seen = await store.transaction(async (tx) => ({
      one: await rowsOf(tx).findOne({ _id: 'ghost' }),
      all: await rowsOf(tx).find({}),
    }));
    expect(seen).toEqual({ one: null, all: [] });
    release.resolve();
    await expect(failing).rejects.toThrow('the body failed');
    expect(await rowsOf().find({})).toEqual([]);
  });

  it('loses no update: two read-modify-writes of one counter end at 2, one body running twice', async () => {
    const { store, rowsOf } = await setup([{ _id: 'counter', n: 0 }]);
    const bothRead = barrier(2);
    let attempts = 0;
    const increment = () =>
      store.transaction(async (tx) => {
        const first = ++attempts <= 2;
        const { n } = (await rowsOf(tx).findOne({ _id: 'counter' }))!;
        if (first) await bothRead();
        await rowsOf(tx).updateOne({ _id: 'counter' }, { $set: { n: n + 1 } });
      });
    await Promise.all([increment(), increment()]);
    expect((await rowsOf().findOne({ _id: 'counter' }))!.n).toBe(2);
    expect(attempts).toBeGreaterThanOrEqual(3);
  });

  it('lets exactly one of two concurrent inserts of a unique key win; the other sees it when run again', async () => {
    const { store, rowsOf } = await setup();
    await rowsOf().createIndex({ key: 1 }, { unique: true });
    const bothLooked = barrier(2);
    let attempts = 0;
    const claim = (id: string) =>
      store.transaction(async (tx) => {
        const first = ++attempts <= 2;
        const existing = await rowsOf(tx).findOne({ key: 'k' });
        if (first) await bothLooked();
        if (existing) return `saw ${existing._id}`;
        await rowsOf(tx).insertOne({ _id: id, n: 0, key: 'k' });
        return `inserted ${id}`;
      });
    const outcomes = await Promise.allSettled([claim('a'), claim('b')]);
    const stored = await rowsOf().find({ key: 'k' });
    expect(stored).toHaveLength(1);
    const winner = stored[0]._id;
    const results = outcomes.map((o) => (o.status === 'fulfilled' ? o.value : isDuplicateKey(o.reason) ? 'duplicate' : o.reason));
    expect(results).toContain(`inserted ${winner}`);
    expect([`saw ${winner}`, 'duplicate']).toContain(results.find((r) => r !== `inserted ${winner}`));
  });

  it('buffers bulk writes in a transaction: invisible until it commits, all rolled back by a duplicate key', async () => {
    const { store, rowsOf } = await setup([{ _id: 'taken', n: 0 }]);
    const written = deferred();
    const release = deferred();
    const committing = store.transaction(async (tx) => {
      await rowsOf(tx).insertMany([
        { _id: 'a', n: 1 },
        { _id: 'b', n: 2 },
      ]);
      await rowsOf(tx).bulkWrite([{ updateOne: { filter: { _id: 'a' }, update: { $inc: { n: 10 } } } }, { deleteOne: { filter: { _id: 'taken' } } }]);
      const own = (await rowsOf(tx).find({}, { sort: { _id: 1 } })).map((row) => [row._id, row.n]);
      written.resolve();
      await release.promise;
      return own;
    });
    await written.promise;
    expect((await rowsOf().find({})).map((row) => row._id)).toEqual(['taken']);
    release.resolve();
    expect(await committing).toEqual([
      ['a', 11],
      ['b', 2],
    ]);
    expect((await rowsOf().find({}, { sort: { _id: 1 } })).map((row) => [row._id, row.n])).toEqual([
      ['a', 11],
      ['b', 2],
    ]);

    const failing = store.transaction(async (tx) => {
      await rowsOf(tx).updateOne({ _id: 'b' }, { $inc: { n: 100 } });
      await rowsOf(tx).insertMany([
        { _id: 'c', n: 3 },
        { _id: 'a', n: 0 },
      ]);
    });
    await expect(failing).rejects.toSatisfy(isDuplicateKey);
    expect((await rowsOf().find({}, { sort: { _id: 1 } })).map((row) => [row._id, row.n])).toEqual([
      ['a', 11],
      ['b', 2],
    ]);
  });

  it('lets one of two transactions recording overlapping ids at once win; the other runs again and skips them', async () => {
    const { store, rowsOf } = await setup();
    const bothLooked = barrier(2);
    let attempts = 0;
    const record = (ids: string[]) =>
      store.transaction(async (tx) => {
        const first = ++attempts <= 2;
        const seen = new Set((await rowsOf(tx).find({ _id: { $in: ids } })).map((row) => row._id));
        if (first) await bothLooked();
        const fresh = ids.filter((id) => !seen.has(id));
        await rowsOf(tx).insertMany(fresh.map((_id) => ({ _id, n: ids.length })));
        return fresh;
      });
    const [left, right] = await Promise.all([record(['1', '2']), record(['2', '3', '4'])]);
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect([...left, ...right].sort()).toEqual(['1', '2', '3', '4']);
    expect((await rowsOf().find({}, { sort: { _id: 1 } })).map((row) => row._id)).toEqual(['1', '2', '3', '4']);
  });

  it('runs a body again after it conflicted with a transaction holding the document, once that one ends', async () => {
    const { store, rowsOf } = await setup([{ _id: 'd', n: 0 }]);
    const holding = deferred();
    const release = deferred();
    const holder = store.transaction(async (tx) => {
      await rowsOf(tx).updateOne({ _id: 'd' }, { $inc: { n: 1 } });
      holding.resolve();
      await release.promise;
    });
    await holding.promise;
    let attempts = 0;
    const second = store.transaction(async (tx) => {
      if (++attempts === 2) release.resolve(); // the first attempt conflicted: let the holder finish
      await rowsOf(tx).updateOne({ _id: 'd' }, { $inc: { n: 10 } });
    });
    await Promise.all([holder, second]);
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect((await rowsOf().findOne({ _id: 'd' }))!.n).toBe(11);
  });

  it('aborts and reruns a transaction writing a document changed outside it after its snapshot', async () => {
    const { store, rowsOf } = await setup([{ _id: 'd', n: 1 }]);
    let attempts = 0;
    const seen: number[] = [];
    await store.transaction(async (tx) => {
      attempts++;
      const { n } = (await rowsOf(tx).findOne({ _id: 'd' }))!;
      seen.push(n);
      if (attempts === 1) await rowsOf().updateOne({ _id: 'd' }, { $set: { n: 5 } }); // outside, not held: commits
      await rowsOf(tx).updateOne({ _id: 'd' }, { $set: { n: n * 2 } });
    });
    expect(seen).toEqual([1, 5]);
    expect((await rowsOf().findOne({ _id: 'd' }))!.n).toBe(10);
  });

  it('shows a transaction its own inserts, updates and deletes through find, findOne, count and sort', async () => {
    const { store, rowsOf } = await setup([
      { _id: 'a', n: 1, group: 'x', key: 'ka' },
      { _id: 'b', n: 2, group: 'x', key: 'kb' },
      { _id: 'c', n: 3, group: 'y', key: 'kc' },
    ]);
    await rowsOf().createIndex({ group: 1 });
    await rowsOf().createIndex({ key: 1 }, { unique: true });
    const seen = await store.transaction(async (tx) => {
      const rows = rowsOf(tx);
      await rows.insertOne({ _id: 'd', n: 0, group: 'x', key: 'kd' });
      await rows.updateOne({ _id: 'c' }, { $set: { group: 'x', n: 9 } });
      await rows.deleteOne({ _id: 'a' });
      await rows.updateOne({ _id: 'b' }, { $set: { key: 'kb2' } });
      return {
        sorted: (await rows.find({ group: 'x' }, { sort: { n: -1 } })).map((r) => r._id),
        count: await rows.countDocuments({ group: 'x' }),
        deleted: await rows.findOne({ _id: 'a' }),
        byOldKey: await rows.findOne({ key: 'kb' }),
        byNewKey: (await rows.findOne({ key: 'kb2' }))?._id,
        inserted: (await rows.findOne({ key: 'kd' }))?._id,
        outside: (await rowsOf().find({}, { sort: { _id: 1 } })).map((r) => r._id),
      };
    });
    expect(seen).toEqual({
      sorted: ['c', 'b', 'd'],
      count: 3,
      deleted: null,
      byOldKey: null,
      byNewKey: 'b',
      inserted: 'd',
      outside: ['a', 'b', 'c'],
    });
    expect((await rowsOf().find({ group: 'x' }, { sort: { _id: 1 } })).map((r) => r._id)).toEqual(['b', 'c', 'd']);
  });

  it('reads a snapshot: commits made after the transaction began are not visible to it', async () => {
    const { store, rowsOf } = await setup([
      { _id: 'a', n: 1, group: 'g' },
      { _id: 'b', n: 2, group: 'g' },
    ]);
    await rowsOf().createIndex({ group: 1 });
    const seen = await store.transaction(async (tx) => {
      const rows = rowsOf(tx);
      const before = (await rows.find({ group: 'g' }, { sort: { _id: 1 } })).map((r) => [r._id, r.n]);
      await rowsOf().insertOne({ _id: 'c', n: 3, group: 'g' });
      await rowsOf().updateOne({ _id: 'a' }, { $set: { n: 100 } });
      await rowsOf().deleteOne({ _id: 'b' });
      await rowsOf().updateOne({ _id: 'b2' }, { $set: { n: 4, group: 'g' } }, { upsert: true });
      return {
        before,
        after: (await rows.find({ group: 'g' }, { sort: { _id: 1 } })).map((r) => [r._id, r.n]),
        count: await rows.countDocuments({}),
        a: (await rows.findOne({ _id: 'a' }))?.n,
        c: await rows.findOne({ _id: 'c' }),
      };
    });
    expect(seen).toEqual({
      before: [
        ['a', 1],
        ['b', 2],
      ],
      after: [
        ['a', 1],
        ['b', 2],
      ],
      count: 2,
      a: 1,
      c: null,
    });
    expect((await rowsOf().find({}, { sort: { _id: 1 } })).map((r) => [r._id, r.n])).toEqual([
      ['a', 100],
      ['b2', 4],
      ['c', 3],
    ]);
  });

  it('makes a write outside transactions wait for the running transaction that wrote the document', async () => {
    const { store, rowsOf } = await setup([{ _id: 'd', n: 0 }]);
    const holding = deferred();
    const release = deferred();
    const tx = store.transaction(async (scope) => {
      await rowsOf(scope).updateOne({ _id: 'd' }, { $inc: { n: 1 } });
      holding.resolve();
      await release.promise;
    });
    await holding.promise;
    const outside = rowsOf().updateOne({ _id: 'd' }, { $inc: { n: 10 } });
    expect(await pendingAfter(outside, 200)).toBe(true);
    expect((await rowsOf().findOne({ _id: 'd' }))!.n).toBe(0); // reads do not wait, and see no uncommitted write
    release.resolve();
    await Promise.all([tx, outside]);
    expect((await rowsOf().findOne({ _id: 'd' }))!.n).toBe(11);
  });

  it('refuses a unique key another document holds, and commits nothing of that transaction', async () => {
    const { store, rowsOf } = await setup([{ _id: 'taken', n: 0, key: 'k' }]);
    await rowsOf().createIndex({ key: 1 }, { unique: true });
    await expect(
      store.transaction(async (tx) => {
        await rowsOf(tx).insertOne({ _id: 'first', n: 1, key: 'free' });
        await rowsOf(tx).insertOne({ _id: 'second', n: 1, key: 'k' });
      }),
    ).rejects.toSatisfy(isDuplicateKey);
    await expect(
      store.transaction(async (tx) => {
        await rowsOf(tx).insertOne({ _id: 'x', n: 1, key: 'twice' });
        await rowsOf(tx).insertOne({ _id: 'y', n: 1, key: 'twice' });
      }),
    ).rejects.toSatisfy(isDuplicateKey);
    expect((await rowsOf().find({})).map((r) => r._id)).toEqual(['taken']);
  });

  it('aborts a transaction on a duplicate key: a body that catches it and goes on runs again', async () => {
    const { store, rowsOf } = await setup([{ _id: 'winner', n: 1, key: 'k' }]);
    await rowsOf().createIndex({ key: 1 }, { unique: true });
    const seen: string[] = [];
    const swallowing = await store.transaction(async (tx) => {
      seen.push('attempt');
      if (seen.length > 1) return 'ran again';
      try {
        await rowsOf(tx).insertOne({ _id: 'loser', n: 2, key: 'k' });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      await rowsOf(tx).insertOne({ _id: 'after', n: 3 });
      return 'went on';
    });
    expect(swallowing).toBe('ran again');
    expect(seen).toHaveLength(2);
    expect((await rowsOf().find({}, { sort: { _id: 1 } })).map((r) => r._id)).toEqual(['winner']);
  });

  it('removes documents past their TTL', { timeout: 120_000 }, async () => {
    const { store, rowsOf } = await setup();
    await rowsOf().createIndex({ at: 1 }, { expireAfterSeconds: 60 });
    await rowsOf().insertOne({ _id: 'old', n: 0, at: new Date(Date.now() - 3_600_000) });
    await rowsOf().insertOne({ _id: 'timeless', n: 0 });
    await backing.expire(store, new Date(), async () => (await rowsOf().countDocuments({ _id: 'old' })) === 0);
    expect((await rowsOf().find({})).map((r) => r._id)).toEqual(['timeless']);
  });

  it.runIf(!!backing.reopen)('replays its journal to exactly the state it served, after interleaved transactions and plain writes', async () => {
    let store = await open();
    const name = 'ledger';
    const rows = (scope: TxScope = store) => scope.collection<Row>(name);
    await rows().createIndex({ key: 1 }, { unique: true });
    for (let i = 0; i < 5; i++) await rows().insertOne({ _id: `acct${i}`, n: 100, key: `k${i}` });
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      const from = `acct${i % 5}`;
      const to = `acct${(i * 3 + 1) % 5}`;
      work.push(
        store.transaction(async (tx) => {
          const source = (await rows(tx).findOne({ _id: from }))!;
          await new Promise((resolve) => setTimeout(resolve, i % 3));
          await rows(tx).updateOne({ _id: from }, { $set: { n: source.n - 1 } });
          await rows(tx).updateOne({ _id: to }, { $inc: { n: 1 } });
          if (i % 7 === 0) throw new Error('a failing transfer');
        }),
      );
      work.push(rows().updateOne({ _id: `acct${i % 5}` }, { $inc: { n: 0 }, $set: { group: `touched${i}` } }));
      if (i % 4 === 0) work.push(rows().insertOne({ _id: `extra${i}`, n: 0, key: `x${i}` }));
      if (i % 8 === 0) work.push(rows().deleteOne({ _id: `extra${i - 8}` }));
    }
    await Promise.allSettled(work);
    const served = await rows().find({}, { sort: { _id: 1 } });
    expect(served.filter((r) => r._id.startsWith('acct')).reduce((sum, r) => sum + r.n, 0)).toBe(500);
    store = await backing.reopen!(store);
    stores.push(store);
    expect(await rows().find({}, { sort: { _id: 1 } })).toEqual(served);
  });
});
