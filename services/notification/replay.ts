// Replaying dead letters: each chosen dead letter is marked replayed and its delivery goes back to waiting in the
// store (DEFERRED, reason "replay") as a new attempt with a fresh retry budget (transitions.ts). Due times are spaced
// 1/rate apart, so the scheduler releases them at most rate_per_second to their lanes; the RPC itself returns at
// once. The delivery keeps its id and notification id; it is sent once more by the normal worker path.
import type { DeadLetterQuery, DeadLetterRepository } from './dead-letters.js';
import type { DeliveryRepository } from './deliveries.js';
import type { DeliveryEngine } from './delivery-engine.js';
import { channelLabel, type NotificationMetrics } from './metrics.js';

export interface ReplayDeps {
  deadLetters: DeadLetterRepository;
  deliveries: DeliveryRepository;
  engine: DeliveryEngine;
  metrics: NotificationMetrics;
}

/** Replays up to limit matching dead letters, oldest first; returns the delivery ids scheduled again. */
export async function replayDeadLetters(deps: ReplayDeps, query: DeadLetterQuery, limit: number, ratePerSecond: number, at: Date): Promise<string[]> {
  const chosen = await deps.deadLetters.replayable(query, limit);
  const replayed: string[] = [];
  for (const letter of chosen) {
    const delivery = await deps.deliveries.get(letter.deliveryId);
    if (!delivery) continue;
    const dueAt = new Date(at.getTime() + Math.floor((replayed.length * 1000) / ratePerSecond));
    // Null: replayed by someone else meanwhile, or the delivery is no longer failed.
    if (!(await deps.engine.replay(letter, delivery, dueAt, at))) continue;
    replayed.push(delivery._id);
    deps.metrics.replayed.inc({ channel: channelLabel(delivery.channel) });
    deps.metrics.deferred.inc({ channel: channelLabel(delivery.channel), reason: 'replay' });
  }
  return replayed;
}
