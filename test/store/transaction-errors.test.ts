// A transaction that keeps conflicting retries as the mongodb driver's withTransaction does, and once the retries run
// out its error reaches an RPC caller as `aborted` (safe to retry), on either backing: never as `internal`.
import { Code, ConnectError } from '@connectrpc/connect';
import { MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { asConnectError } from '../../services/platform/errors.js';
import { errorBoundary } from '../../services/platform/interceptors.js';
import { createLogger } from '../../services/platform/log.js';
import { type Doc, isTransientTransactionError, TransientTransactionError } from '../../services/platform/store/collection.js';
import { MemoryStore } from '../../services/platform/store/memory.js';
import { retryBackoffMs } from '../../services/platform/store/transaction-retry.js';
import { rejectionOf } from '../support/rejection.js';
import { deferred } from './deferred.js';

const mongoWriteConflict = () =>
  new MongoServerError({ message: 'WriteConflict error', code: 112, codeName: 'WriteConflict', errorLabels: ['TransientTransactionError'] });

describe('transient transaction errors', () => {
  it('back off as the driver does: jittered, growing by 1.5 from 5 ms, at most 500 ms', () => {
    expect(retryBackoffMs(1, 0)).toBe(0);
    expect(retryBackoffMs(1, 0.999)).toBeCloseTo(7.49, 1);
    expect(retryBackoffMs(4, 0.5)).toBeCloseTo(0.5 * 5 * 1.5 ** 4, 6);
    expect(retryBackoffMs(30, 0.999)).toBeCloseTo(499.5, 1);
  });

  it('are retried until the limit, then reach the caller', async () => {
    const store = new MemoryStore('pulse_retry_test', undefined, { retryLimitMs: 150 });
    const rows = store.collection<Doc & { n: number }>('rows');
    await rows.insertOne({ _id: 'd', n: 0 });
    const holding = deferred();
    const release = deferred();
    const holder = store.transaction(async (tx) => {
      await tx.collection<Doc & { n: number }>('rows').updateOne({ _id: 'd' }, { $inc: { n: 1 } });
      holding.resolve();
      await release.promise;
    });
    await holding.promise;
    let attempts = 0;
    const started = performance.now();
    const err = await rejectionOf(
      store.transaction(async (tx) => {
        attempts++;
        await tx.collection<Doc & { n: number }>('rows').updateOne({ _id: 'd' }, { $inc: { n: 10 } });
      }),
      TransientTransactionError,
    );
    // The driver gives up once the next backoff would end past the limit: within it, never long after.
    expect(performance.now() - started).toBeLessThan(150 + 100);
    expect(attempts).toBeGreaterThan(3);
    expect(err.codeName).toBe('WriteConflict');
    expect(err.hasErrorLabel('TransientTransactionError')).toBe(true);
    release.resolve();
    await holder;
    expect((await rows.findOne({ _id: 'd' }))!.n).toBe(1);
    await store.close();
  });

  it('are recognised from both backings', () => {
    expect(isTransientTransactionError(new TransientTransactionError('WriteConflict', 'x'))).toBe(true);
    expect(isTransientTransactionError(mongoWriteConflict())).toBe(true);
    expect(isTransientTransactionError(new MongoServerError({ message: 'E11000', code: 11000 }))).toBe(false);
    expect(isTransientTransactionError(new Error('boom'))).toBe(false);
  });

  it.each([
    ['the embedded store', () => new TransientTransactionError('WriteConflict', 'write conflict')],
    ['MongoDB', mongoWriteConflict],
  ])('from %s reach RPC callers as aborted, other failures as internal', async (_backing, make) => {
    expect(asConnectError(make()).code).toBe(Code.Aborted);
    expect(asConnectError(new Error('bug')).code).toBe(Code.Internal);
    const boundary = errorBoundary(createLogger('test', 'silent'));
    const failing = (err: unknown) =>
      boundary(async () => {
        throw err;
      })({ service: { typeName: 'pulse.Test' }, method: { name: 'Call' } } as never);
    const aborted = await rejectionOf(failing(make()), ConnectError);
    expect(aborted.code).toBe(Code.Aborted);
    expect((await rejectionOf(failing(new Error('bug')), ConnectError)).code).toBe(Code.Internal);
  });
});
