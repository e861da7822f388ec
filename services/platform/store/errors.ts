// The store's own errors, shaped like the mongodb driver's so callers test for them the same way on both backings.

/** A write hit a unique index. `key` names the index fields. */
export class DuplicateKeyError extends Error {
  /** MongoDB's DuplicateKey code, so `isDuplicateKey` needs one test for both backings. */
  readonly code = 11000;

  constructor(
    readonly collection: string,
    readonly key: string,
  ) {
    super(`duplicate key in ${collection} on ${key}`);
    this.name = 'DuplicateKeyError';
  }
}

export function isDuplicateKey(err: unknown): boolean {
  return err instanceof DuplicateKeyError || (err as { code?: number } | null)?.code === 11000;
}

const TRANSIENT = 'TransientTransactionError';

/**
 * The transaction was aborted by a conflict with another one (WriteConflict) or by the store (NoSuchTransaction, a
 * transaction past its lifetime): running the whole transaction again may succeed. Labelled as the driver labels
 * such server errors, and retried by `Store.transaction` as `ClientSession.withTransaction` retries those.
 */
export class TransientTransactionError extends Error {
  readonly errorLabels: readonly string[] = [TRANSIENT];

  constructor(
    readonly codeName: 'WriteConflict' | 'NoSuchTransaction',
    message: string,
  ) {
    super(message);
    this.name = 'TransientTransactionError';
  }

  /** MongoDB's code for codeName. */
  get code(): number {
    return this.codeName === 'WriteConflict' ? 112 : 251;
  }

  hasErrorLabel(label: string): boolean {
    return this.errorLabels.includes(label);
  }
}

/** Whether err carries the TransientTransactionError label: this store's own, or a MongoDB driver error. */
export function isTransientTransactionError(err: unknown): boolean {
  const labelled = err as { hasErrorLabel?: unknown; errorLabels?: unknown } | null;
  if (labelled === null || typeof labelled !== 'object') return false;
  if (typeof labelled.hasErrorLabel === 'function') return (labelled.hasErrorLabel as (l: string) => boolean).call(labelled, TRANSIENT);
  return Array.isArray(labelled.errorLabels) && labelled.errorLabels.includes(TRANSIENT);
}
