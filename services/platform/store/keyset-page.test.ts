import { Code, ConnectError } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { decodePageToken, encodePageToken } from '../page-token.js';
import type { Collection, Doc, SortSpec } from './collection.js';
import { keysetPage } from './keyset-page.js';
import { MemoryStore } from './memory.js';

interface Row extends Doc {
  group: string;
  /** Few distinct values, so pages split runs of ties on the first sort key. */
  at: Date;
  rank: number;
}

async function rows(count: number): Promise<Collection<Row>> {
  const collection = new MemoryStore('pulse_test').collection<Row>('rows');
  for (let i = 0; i < count; i++) {
    await collection.insertOne({
      _id: `row_${String((i * 7) % count).padStart(3, '0')}`,
      group: i % 3 === 0 ? 'a' : 'b',
      at: new Date(Date.UTC(2024, 0, 1, 0, i % 4)),
      rank: i % 2,
    });
  }
  return collection;
}

async function walk(collection: Collection<Row>, sort: SortSpec, filter = {}, pageSize = 4): Promise<Row[]> {
  const seen: Row[] = [];
  let pageToken = '';
  for (let pages = 0; pages < 100; pages++) {
    const page = await keysetPage(collection, { filter, sort, pageSize, pageToken, binding: filter });
    expect(page.items.length).toBeLessThanOrEqual(pageSize);
    seen.push(...page.items);
    if (page.nextPageToken === '') return seen;
    pageToken = page.nextPageToken;
  }
  throw new Error('paging never ended');
}

function invalidPageToken(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.InvalidArgument && err.rawMessage.startsWith('page_token:');
}

describe('keysetPage', () => {
  for (const sort of [{ at: 1, _id: 1 }, { at: -1, _id: -1 }, { at: -1, rank: 1, _id: 1 }, { at: 1, rank: -1, _id: -1 }] as SortSpec[]) {
    it(`walks every document exactly once, in order, sorted by ${JSON.stringify(sort)}`, async () => {
      const collection = await rows(23);
      const all = await collection.find({}, { sort });
      const seen = await walk(collection, sort);
      expect(seen.map((r) => r._id)).toEqual(all.map((r) => r._id));
      expect(new Set(seen.map((r) => r._id)).size).toBe(23);
    });
  }

  it('pages only what the filter matches and ends with an empty token when a page is exactly full', async () => {
    const collection = await rows(12);
    const seen = await walk(collection, { at: 1, _id: 1 }, { group: 'a' });
    expect(seen.map((r) => r._id)).toEqual((await collection.find({ group: 'a' }, { sort: { at: 1, _id: 1 } })).map((r) => r._id));
    expect(seen).toHaveLength(4);
  });

  it('does not repeat or skip when a document is added before the position while paging', async () => {
    const collection = await rows(10);
    const sort: SortSpec = { at: 1, _id: 1 };
    const first = await keysetPage(collection, { filter: {}, sort, pageSize: 5, pageToken: '', binding: {} });
    await collection.insertOne({ _id: 'row_000a', group: 'a', at: new Date(Date.UTC(2023, 0, 1)), rank: 0 });
    const second = await keysetPage(collection, { filter: {}, sort, pageSize: 5, pageToken: first.nextPageToken, binding: {} });
    const ids = [...first.items, ...second.items].map((r) => r._id);
    expect(new Set(ids).size).toBe(10);
    expect(second.nextPageToken).toBe('');
  });

  it('refuses a token reused with other filters', async () => {
    const collection = await rows(10);
    const sort: SortSpec = { at: 1, _id: 1 };
    const first = await keysetPage(collection, { filter: { group: 'b' }, sort, pageSize: 2, pageToken: '', binding: { group: 'b' } });
    const err = await keysetPage(collection, { filter: { group: 'a' }, sort, pageSize: 2, pageToken: first.nextPageToken, binding: { group: 'a' } }).catch(
      (e: unknown) => e,
    );
    expect(invalidPageToken(err)).toBe(true);
    expect((err as ConnectError).rawMessage).toMatch(/other filters/);
  });

  it('refuses garbage and tokens of another sort as not ours', async () => {
    const collection = await rows(3);
    const sort: SortSpec = { at: 1, _id: 1 };
    const forged = [
      'not a token',
      'eyJ',
      Buffer.from('null').toString('base64url'),
      Buffer.from('{"v":2,"b":"x","p":["a"]}').toString('base64url'),
      encodePageToken({}, []),
      encodePageToken({}, [{ nested: 1 }, 'row_001']),
      encodePageToken({}, ['row_001']),
    ];
    for (const pageToken of forged) {
      const err = await keysetPage(collection, { filter: {}, sort, pageSize: 2, pageToken, binding: {} }).catch((e: unknown) => e);
      expect(invalidPageToken(err), pageToken).toBe(true);
    }
  });
});

describe('page tokens', () => {
  it('round-trip positions with Dates, bound to the binding whatever its key order', () => {
    const at = new Date('2024-05-01T10:00:00.123Z');
    const token = encodePageToken({ state: 1, user: 'u1', since: at }, [at, 3, 'id_1', null, true]);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token, { since: new Date(at), user: 'u1', state: 1 })).toEqual([at, 3, 'id_1', null, true]);
  });

  it('treat any changed filter value as other filters', () => {
    const token = encodePageToken({ state: 1, user: 'u1' }, ['id_1']);
    for (const other of [{ state: 2, user: 'u1' }, { state: 1, user: 'u2' }, { state: 1 }, { state: 1, user: 'u1', extra: true }]) {
      expect(() => decodePageToken(token, other)).toThrow(/page_token: was issued for other filters/);
    }
  });
});
