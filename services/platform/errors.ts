// Errors callers see. Every failure leaves a service as a ConnectError with the code that says what to do about
// it; helpers here keep the wording uniform.
import { Code, ConnectError } from '@connectrpc/connect';
import { isTransientTransactionError } from './store/errors.js';

export function notFound(what: string): ConnectError {
  return new ConnectError(what, Code.NotFound);
}

export function failedPrecondition(what: string): ConnectError {
  return new ConnectError(what, Code.FailedPrecondition);
}

export function alreadyExists(what: string): ConnectError {
  return new ConnectError(what, Code.AlreadyExists);
}

export function unavailable(what: string): ConnectError {
  return new ConnectError(what, Code.Unavailable);
}

/** Lower-case Connect code name ("invalid_argument"), as used in batch results and metrics labels. */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/**
 * The error as a caller should see it: ConnectErrors as they are; a transaction that kept conflicting with
 * concurrent ones until its retries ran out (either store backing) as aborted, which is safe to retry; anything
 * else as internal without details.
 */
export function asConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (isTransientTransactionError(err)) {
    return new ConnectError('the operation kept conflicting with concurrent updates; retry', Code.Aborted, undefined, undefined, err);
  }
  return new ConnectError('internal error', Code.Internal, undefined, undefined, err);
}
