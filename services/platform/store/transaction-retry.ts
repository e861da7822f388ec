// The retry rule of the mongodb driver's ClientSession.withTransaction (node_modules/mongodb/lib/sessions.js),
// for the embedded store: an attempt that fails with a TransientTransactionError runs again after a jittered
// backoff, for up to 120 s from the first; then the last error is the caller's.
import { isTransientTransactionError } from './errors.js';

/** How long withTransaction keeps retrying (its MAX_TIMEOUT without a client-side timeout). */
export const TRANSACTION_RETRY_LIMIT_MS = 120_000;

const BACKOFF_INITIAL_MS = 5;
const BACKOFF_MAX_MS = 500;
const BACKOFF_GROWTH = 1.5;

/** The pause before attempt number `attempt` (1 for the first retry); jitter is uniform in [0, 1). */
export function retryBackoffMs(attempt: number, jitter: number): number {
  return jitter * Math.min(BACKOFF_INITIAL_MS * BACKOFF_GROWTH ** attempt, BACKOFF_MAX_MS);
}

/** Runs attempt until it succeeds, fails with an error that is not transient, or the time limit leaves no room. */
export async function retryTransient<R>(attempt: () => Promise<R>, limitMs = TRANSACTION_RETRY_LIMIT_MS): Promise<R> {
  const deadline = performance.now() + limitMs;
  let lastError: unknown;
  for (let n = 0; ; n++) {
    if (n > 0) {
      const backoff = retryBackoffMs(n, Math.random());
      if (performance.now() + backoff >= deadline) throw lastError;
      await new Promise((resolve) => setTimeout(resolve, backoff));
    }
    try {
      return await attempt();
    } catch (err) {
      if (!isTransientTransactionError(err)) throw err;
      lastError = err;
      // The driver retries a transient failure of the body only while time is left (a failed commit, always;
      // the backoff check above bounds both).
      if (performance.now() >= deadline) throw err;
    }
  }
}
