import { Code, ConnectError } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { CAS_ATTEMPTS, compareAndSet, insertIfAbsent, RETRY } from './compare-and-set.js';
import type { Doc } from './collection.js';
import { MemoryStore } from './memory.js';

describe('compareAndSet', () => {
  it('reads again after a lost race and returns what the winning attempt decided', async () => {
    let attempts = 0;
    const result = await compareAndSet('counter', async () => (++attempts < 3 ? RETRY : `won on ${attempts}`));
    expect(result).toBe('won on 3');
    expect(attempts).toBe(3);
  });

  it('returns falsy decisions as they are (only RETRY retries)', async () => {
    await expect(compareAndSet('x', async () => undefined)).resolves.toBeUndefined();
    await expect(compareAndSet('x', async () => false)).resolves.toBe(false);
  });

  it('gives up after CAS_ATTEMPTS lost races with aborted, which callers may retry', async () => {
    let attempts = 0;
    const err = await compareAndSet('review rev_1', async () => {
      attempts++;
      return RETRY;
    }).catch((e: unknown) => e);
    expect(attempts).toBe(CAS_ATTEMPTS);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Aborted);
    expect((err as ConnectError).rawMessage).toBe('review rev_1 kept changing under concurrent updates; retry');
  });

  it('lets an attempt error through at once', async () => {
    let attempts = 0;
    const failure = new Error('store down');
    await expect(
      compareAndSet('x', async () => {
        attempts++;
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(attempts).toBe(1);
  });
});

describe('insertIfAbsent', () => {
  interface Row extends Doc {
    email: string;
  }

  it('inserts once and reports a taken _id or unique key as false', async () => {
    const rows = new MemoryStore('pulse_test').collection<Row>('rows');
    await rows.createIndex({ email: 1 }, { unique: true });
    expect(await insertIfAbsent(rows, { _id: 'a', email: 'a@example.com' })).toBe(true);
    expect(await insertIfAbsent(rows, { _id: 'a', email: 'other@example.com' })).toBe(false);
    expect(await insertIfAbsent(rows, { _id: 'b', email: 'a@example.com' })).toBe(false);
    expect(await rows.find({})).toEqual([{ _id: 'a', email: 'a@example.com' }]);
  });
});
