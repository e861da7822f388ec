// How long a notification's records are kept. Notification and status apply the same rule: all records of a
// notification are kept while any of its deliveries still has something coming, and for the retention after the
// last change once none has; then they leave together. The store removes them (a TTL index on purgeAt: MongoDB's
// "expire at a given time"), so nothing here runs on a timer.
import { DeliveryState as S } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { EnvReader } from '../platform/config.js';

/** Thirty days: long enough to answer for any delivery, short enough not to hoard message text and addresses. */
export const HISTORY_RETENTION_SECONDS = 30 * 86_400;

/** PULSE_HISTORY_RETENTION_SECONDS: read by both services that keep a notification's records. */
export function readHistoryRetention(env: EnvReader): number {
  return env.int('PULSE_HISTORY_RETENTION_SECONDS', HISTORY_RETENTION_SECONDS, { min: 60, max: 3_650 * 86_400 });
}

/**
 * States in which Pulse still has work to do for a delivery. Every other state is at rest: the delivery reached
 * its recipient (a later read starts the clock again) or ended; a failed one can still be replayed from its dead
 * letter, which is kept as long, and a replay puts the delivery back to work.
 */
export const AWAITING: readonly S[] = [S.UNSPECIFIED, S.ACCEPTED, S.DEFERRED, S.PROCESSING];

export function awaitsWork(state: S): boolean {
  return AWAITING.includes(state);
}

/** The purgeAt of a notification's records: null (kept) while any awaits work, else the retention after `at`. */
export function keptUntil(awaiting: boolean, at: Date, retentionSeconds: number): Date | null {
  return awaiting ? null : retentionEnd(at, retentionSeconds);
}

/** The purgeAt of a record at rest since `at`. */
export function retentionEnd(at: Date, retentionSeconds: number): Date {
  return new Date(at.getTime() + retentionSeconds * 1000);
}

/** The index that makes the store remove each document once its purgeAt has passed (absent or null: kept). */
export const PURGE_INDEX = { keys: { purgeAt: 1 }, options: { expireAfterSeconds: 0 } } as const;
