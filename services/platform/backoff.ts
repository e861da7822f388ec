/**
 * The wait before the next try after the n-th failure: base * 2^(n-1), capped at max, with "equal jitter" (half
 * fixed, half random), so many retries that failed together do not come back together. The one backoff of the
 * delivery worker and the webhook sender.
 */
export function backoffMs(baseMs: number, maxMs: number, failures: number, random = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(failures - 1, 40)));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}
