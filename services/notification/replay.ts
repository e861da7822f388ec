// Replaying dead letters: each chosen dead letter is marked replayed and its delivery goes back to waiting in the
// store (DEFERRED, reason "replay") as a new attempt with a fresh retry budget. Due times are spaced 1/rate apart,
// so the scheduler releases them at most rate_per_second to their lanes; the RPC itself returns at once. The
// delivery keeps its id and notification id; it is sent once more by the normal worker path.
import { DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { Transact } from '../platform/unit-of-work.js';
import type { DeadLetterQuery, DeadLetterRepository } from './dead-letters.js';
import type { DeliveryRepository } from './deliveries.js';
import { channelLabel, type NotificationMetrics } from './metrics.js';

export interface ReplayDeps {
  deadLetters: DeadLetterRepository;
  deliveries: DeliveryRepository;
  transaction: Transact;
  metrics: NotificationMetrics;
}

const REPLAYABLE = new Set([DeliveryState.DEAD_LETTERED, DeliveryState.FAILED]);

/** Rolls a replay's unit of work back when its delivery is no longer in a failed state. */
class NotReplayable extends Error {}

/** Replays up to limit matching dead letters, oldest first; returns the delivery ids scheduled again. */
export async function replayDeadLetters(deps: ReplayDeps, query: DeadLetterQuery, limit: number, ratePerSecond: number, at: Date): Promise<string[]> {
  const chosen = await deps.deadLetters.replayable(query, limit);
  const replayed: string[] = [];
  for (const letter of chosen) {
    const delivery = await deps.deliveries.get(letter.deliveryId);
    if (!delivery || !REPLAYABLE.has(delivery.state)) continue;
    const dueAt = new Date(at.getTime() + Math.floor((replayed.length * 1000) / ratePerSecond));
    try {
      await deps.transaction(async (tx) => {
        if (!(await deps.deadLetters.markReplayed(tx, letter._id, at))) throw new NotReplayable();
        const moved = await deps.deliveries.move(
          tx,
          delivery,
          { state: DeliveryState.DEFERRED, attempt: delivery.attempt + 1, failures: 0, dueAt, jobId: null, digestKey: null, digestSize: 0, reason: 'replay' },
          at,
        );
        if (!moved) throw new NotReplayable();
      });
    } catch (err) {
      if (err instanceof NotReplayable) continue; // replayed or moved by someone else meanwhile
      throw err;
    }
    replayed.push(delivery._id);
    deps.metrics.replayed.inc({ channel: channelLabel(delivery.channel) });
    deps.metrics.deferred.inc({ channel: channelLabel(delivery.channel), reason: 'replay' });
  }
  return replayed;
}
