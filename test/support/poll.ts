// The one way tests wait for something to happen: vi.waitFor underneath, plus what vi.waitFor lacks — the value found
// and a timeout error naming what was awaited.
import { Code, ConnectError } from '@connectrpc/connect';
import { vi } from 'vitest';

type Found<T> = Exclude<T, false | 0 | '' | null | undefined>;

export interface PollOptions {
  /** ms before the test fails (default 15 s: generous for the mesh tests on a busy machine; only failures wait it). */
  timeout?: number;
  /** ms between probes (default 20). */
  interval?: number;
}

/**
 * Polls probe until it returns something truthy, and returns that. A probe that throws is tried again (what it
 * asks about may not exist yet); after the timeout the test fails naming `what` and the probe's last error.
 */
export async function until<T>(what: string, probe: () => T | Promise<T>, options: number | PollOptions = {}): Promise<Found<T>> {
  const { timeout = 15_000, interval = 20 } = typeof options === 'number' ? { timeout: options } : options;
  let lastError: unknown;
  try {
    return await vi.waitFor(
      async () => {
        let value: T;
        try {
          value = await probe();
        } catch (err) {
          lastError = err;
          throw err;
        }
        lastError = undefined;
        if (!value) throw new Error(`not yet: ${what}`);
        return value as Found<T>;
      },
      { timeout, interval },
    );
  } catch {
    const last = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
    throw new Error(`timed out after ${timeout} ms waiting for ${what}${last}`, { cause: lastError });
  }
}

/** Calls until the service accepts: a busy machine may shed a request as unavailable ("nothing was done"). */
export async function untilAccepted<T>(call: () => Promise<T>, attempts = 20): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= attempts || ConnectError.from(err).code !== Code.Unavailable) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
