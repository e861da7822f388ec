// What a well-behaved client does when a service sheds load (unavailable / resource_exhausted with
// `retry-after`, nothing done): wait as told, with jitter, and send the same request again. The benchmark keeps
// each item's original due time, so the wait counts in its latency.
import { Code, ConnectError } from '@connectrpc/connect';
import { sleep } from './stats.js';

const RETRYABLE = new Set([Code.Unavailable, Code.ResourceExhausted]);

export class RetryCounter {
  retries = 0;
}

export async function withRetry<T>(fn: () => Promise<T>, counter?: RetryCounter, attempts = 30): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const error = ConnectError.from(err);
      if (!RETRYABLE.has(error.code) || attempt >= attempts) throw err;
      if (counter) counter.retries++;
      const seconds = Number(error.metadata.get('retry-after') ?? '1');
      const base = Math.min(1_000, Math.max(50, (Number.isFinite(seconds) ? seconds : 1) * 1000));
      await sleep(base * (0.5 + Math.random() / 2));
    }
  }
}
