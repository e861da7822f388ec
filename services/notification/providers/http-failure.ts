// Failure kinds shared by the HTTP providers (Slack, Twilio): how far a failed request got, what an HTTP status
// means for trying again, and how long a 429 asked us to wait.
import type { ExchangeFailure } from './http-exchange.js';
import { type FailureKind, ProviderError } from './provider.js';

/**
 * A request that never fully left us is safe to retry; one that did may have been acted on, and neither Slack's
 * chat.postMessage nor Twilio's Messages API takes an idempotency key, so resending it could post twice.
 */
export function fromExchangeFailure(provider: string, failure: ExchangeFailure): ProviderError {
  return new ProviderError(failure.requestSent ? 'unknown_outcome' : 'retryable', `${provider} ${failure.reason}`);
}

/** 408, 425, 429 and 5xx are worth another try; any other 4xx would be refused again. */
export function kindForStatus(status: number): FailureKind {
  return status >= 500 || status === 408 || status === 425 || status === 429 ? 'retryable' : 'permanent';
}

/** A Retry-After header (delay in seconds or an HTTP date) in milliseconds from now; undefined when absent or bad. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
