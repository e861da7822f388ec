// Compare-and-set, the one way a read-decide-write is made safe against concurrent writers: read the document,
// decide (a plain function), write only if the document is still what was read; when the write finds it changed,
// read again. Losing a race is a retry, not an error; losing it CAS_ATTEMPTS times in a row is `aborted`, which
// callers may retry as a whole.
import { Code, ConnectError } from '@connectrpc/connect';
import { isDuplicateKey, type Collection, type Doc } from './collection.js';

/** How many times a compare-and-set reads again before giving up. */
export const CAS_ATTEMPTS = 8;

/** What an attempt returns when its conditional write lost a race: read again and retry. */
export const RETRY: unique symbol = Symbol('compare-and-set: retry');

/**
 * Runs attempt until it returns anything but RETRY; after CAS_ATTEMPTS, ConnectError Code.Aborted
 * "<what> kept changing under concurrent updates; retry" (safe to retry).
 */
export async function compareAndSet<R>(what: string, attempt: () => Promise<R | typeof RETRY>): Promise<R> {
  for (let i = 0; i < CAS_ATTEMPTS; i++) {
    const result = await attempt();
    if (result !== RETRY) return result as R;
  }
  throw new ConnectError(`${what} kept changing under concurrent updates; retry`, Code.Aborted);
}

/**
 * Inserts doc; false when its _id or a unique key is already taken (someone else created it first). Inside a
 * transaction, read the key first: a duplicate-key error aborts the whole transaction (on MongoDB, and so on the
 * embedded store), so it may only answer a race, which then runs the transaction again.
 */
export async function insertIfAbsent<T extends Doc>(collection: Collection<T>, doc: T): Promise<boolean> {
  try {
    await collection.insertOne(doc);
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}
