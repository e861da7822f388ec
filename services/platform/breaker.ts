// Circuit breakers (opossum), one per peer service and per provider. Client errors (a bad request, a missing
// record) say nothing about the other side's health, so they never count towards opening a breaker.
import { Code, ConnectError } from '@connectrpc/connect';
import CircuitBreaker from 'opossum';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

export interface BreakerSettings {
  /** Percentage of failed calls in the window that opens the breaker. */
  errorThresholdPercentage: number;
  /** Calls in the window before the breaker may open at all. */
  volumeThreshold: number;
  /** How long the breaker stays open before it lets one trial call through. */
  resetTimeoutMs: number;
  /** Length of the rolling window. */
  rollingWindowMs: number;
}

const CLIENT_CODES = new Set([
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.FailedPrecondition,
  Code.PermissionDenied,
  Code.Unauthenticated,
  Code.OutOfRange,
  Code.Aborted,
  Code.Canceled,
]);

/** True for errors that are the caller's doing, not the callee's ill health. */
export function isClientError(err: unknown): boolean {
  return err instanceof ConnectError && CLIENT_CODES.has(err.code);
}

export type Breaker = CircuitBreaker<[() => Promise<unknown>], unknown>;

export const BREAKER_STATE = { closed: 0, halfOpen: 1, open: 2 } as const;

export function createBreaker(
  name: string,
  settings: BreakerSettings,
  deps: { metrics: Metrics; log: Logger; isClientError?: (err: unknown) => boolean },
): Breaker {
  const breaker: Breaker = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
    name,
    timeout: false, // deadlines are set on each call, where the caller knows how long it can wait
    errorThresholdPercentage: settings.errorThresholdPercentage,
    volumeThreshold: settings.volumeThreshold,
    resetTimeout: settings.resetTimeoutMs,
    rollingCountTimeout: settings.rollingWindowMs,
    errorFilter: deps.isClientError ?? isClientError,
  });
  const gauge = deps.metrics.breakerState.labels(name);
  gauge.set(BREAKER_STATE.closed);
  breaker.on('open', () => {
    gauge.set(BREAKER_STATE.open);
    deps.log.warn({ breaker: name }, 'circuit breaker opened');
  });
  breaker.on('halfOpen', () => gauge.set(BREAKER_STATE.halfOpen));
  breaker.on('close', () => {
    gauge.set(BREAKER_STATE.closed);
    deps.log.info({ breaker: name }, 'circuit breaker closed');
  });
  return breaker;
}

/** Runs call through the breaker; an open breaker is `unavailable` at once. */
export async function throughBreaker<T>(breaker: Breaker, call: () => Promise<T>): Promise<T> {
  try {
    return (await breaker.fire(call)) as T;
  } catch (err) {
    if ((err as { code?: string }).code === 'EOPENBREAKER') {
      throw new ConnectError(`${breaker.name} is unavailable (circuit breaker open)`, Code.Unavailable);
    }
    throw err;
  }
}
