// The last check before a step of an escalation ladder goes out: was the notification read meanwhile? Status knows
// (it holds the inbox and every delivery's timeline), so the worker asks it, outside any store transaction. Read:
// this step and every later one are CANCELLED ("read before this step"), which is where GetNotification shows the
// ladder stopped. Status cannot be asked (down, too slow): the step waits in the store and asks again later, never
// sent blindly and never dropped. A review case that a reviewer resolved (review.resolved) is acknowledged: the
// steps of its notifications not yet sent are cancelled at once. Every change goes through the delivery engine.
import { type Client, Code, ConnectError } from '@connectrpc/connect';
import { DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { StatusService } from '../../gen/pulse/status/v1/status_service_pb.js';
import { codeName } from '../platform/errors.js';
import type { Logger } from '../platform/log.js';
import type { DeliveryDoc, DeliveryRepository } from './deliveries.js';
import type { DeliveryEngine } from './delivery-engine.js';
import { READ_BEFORE_STEP } from './ladder.js';
import { channelLabel, type NotificationMetrics } from './metrics.js';
import type { NotificationRepository } from './notifications.js';

/** Whether any delivery of the notification was read; throws when that cannot be learned now. */
export type ReadCheck = (notificationId: string) => Promise<boolean>;

export function statusReadCheck(status: Client<typeof StatusService>): ReadCheck {
  return async (notificationId) => {
    try {
      const { status: found } = await status.getStatus({ notificationId });
      return found?.deliveries.some((d) => d.state === DeliveryState.READ) ?? false;
    } catch (err) {
      // Status has not heard of it: nobody can have read it there.
      if (ConnectError.from(err).code === Code.NotFound) return false;
      throw err;
    }
  };
}

export const WAITING_FOR_STATUS = 'escalation step waits for status';

export const ACKNOWLEDGED = 'review case resolved before this step';

export interface LadderGateDeps {
  notifications: NotificationRepository;
  deliveries: DeliveryRepository;
  engine: DeliveryEngine;
  wasRead: ReadCheck;
  /** How long a step waits before asking status again. */
  retryMs: number;
  metrics: NotificationMetrics;
  log: Logger;
}

export class LadderGate {
  constructor(private readonly deps: LadderGateDeps) {}

  /**
   * Whether a job's waiting deliveries may go out now: yes unless they are a ladder step and the notification was
   * read (they are cancelled, with the later steps) or status cannot say (they wait for attempt and come back).
   */
  async goesOn(waiting: readonly DeliveryDoc[], attempt: number, at: Date): Promise<boolean> {
    const steps = waiting.filter((d) => (d.escalationStep ?? 0) > 0);
    if (steps.length === 0) return true;
    const { notificationId } = steps[0];
    let read: boolean;
    try {
      read = await this.deps.wasRead(notificationId);
    } catch (err) {
      this.deps.log.warn(
        { notification_id: notificationId, code: codeName(ConnectError.from(err).code) },
        'could not ask status whether the notification was read; the escalation step waits',
      );
      const dueAt = new Date(at.getTime() + this.deps.retryMs);
      const held = await this.deps.engine.moveEach(steps, { kind: 'wait', attempt, dueAt, reason: WAITING_FOR_STATUS }, at);
      for (const d of held) this.deps.metrics.deferred.inc({ channel: channelLabel(d.channel), reason: 'escalation_status' });
      return false;
    }
    if (!read) return true;
    await this.cancelSteps(notificationId, READ_BEFORE_STEP, at);
    return false;
  }

  /** A review case was resolved: the ladders of its notifications stop. Returns the steps cancelled. */
  async acknowledge(reviewId: string, at: Date): Promise<number> {
    let cancelled = 0;
    for (const n of await this.deps.notifications.byCause('review', reviewId)) cancelled += await this.cancelSteps(n._id, ACKNOWLEDGED, at);
    return cancelled;
  }

  /** Cancels the steps of a notification not yet sent. */
  private async cancelSteps(notificationId: string, reason: string, at: Date): Promise<number> {
    const unsent = (await this.deps.deliveries.pending(notificationId)).filter((d) => (d.escalationStep ?? 0) > 0);
    const cancelled = await this.deps.engine.moveEach(unsent, { kind: 'cancel', reason }, at);
    for (const d of cancelled) this.deps.metrics.cancelled.inc({ channel: channelLabel(d.channel) });
    return cancelled.length;
  }
}
