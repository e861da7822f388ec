// From preference's plans to delivery records: one per plan, in the state the plan puts it in. No I/O.
//   SUPPRESS    -> SUPPRESSED with the reason (recorded, never sent).
//   DEFER       -> DEFERRED until the end of quiet hours, waiting in the store for the scheduler.
//   DELIVER_NOW -> ACCEPTED with a job on its priority lane, or, for a digestible LOW delivery, DEFERRED until the
//                  end of its digest window.
// A step of an escalation ladder (ladder.ts) is planned as of its own time and never digested: DELIVER_NOW waits
// DEFERRED until that time, DEFER until the end of the quiet hours then.
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { type Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import { DeliveryDecision, type DeliveryPlan, SuppressionReason } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { newId } from '../platform/ids.js';
import type { DeliveryDoc } from './deliveries.js';
import { digestDueAt, digestKey, isDigestible } from './digest.js';
import { stepReason } from './ladder.js';
import type { NotificationDoc } from './notifications.js';

const SUPPRESSION_REASONS: Record<SuppressionReason, string> = {
  [SuppressionReason.UNSPECIFIED]: 'suppressed by preferences',
  [SuppressionReason.OPTED_OUT]: 'opted out',
  [SuppressionReason.OPTED_OUT_TYPE]: 'opted out of this notification type',
  [SuppressionReason.NO_CONTACT]: 'no contact for this channel',
};

export interface PlanningOptions {
  now: Date;
  /** The provider that will serve a channel ("inbox" for in-app). */
  providerName: (channel: Channel) => string;
  digestWindowMs: number;
  /** Plans of an escalation step: its number (from 1) and when it is due. */
  step?: { index: number; dueAt: Date };
}

export function planDeliveries(notification: NotificationDoc, plans: readonly DeliveryPlan[], options: PlanningOptions): DeliveryDoc[] {
  const { now } = options;
  return plans.map((plan) => {
    const base: DeliveryDoc = {
      _id: newId('dlv'),
      notificationId: notification._id,
      channel: plan.channel,
      address: plan.address,
      userId: plan.userId || notification.recipient.userId || '',
      priority: notification.priority,
      notificationType: notification.notificationType,
      recipient: notification.recipient,
      causeId: notification.causeId,
      acceptedAt: notification.createdAt,
      expiresAt: notification.expiresAt,
      ...(plan.locale ? { locale: plan.locale } : {}),
      ...(options.step ? { escalationStep: options.step.index } : {}),
      state: DeliveryState.ACCEPTED,
      attempt: 0,
      attemptsMade: 0,
      failures: 0,
      provider: options.providerName(plan.channel),
      reason: '',
      dueAt: null,
      jobId: null,
      processingAt: null,
      digestKey: null,
      digestSize: 0,
      providerMessageId: '',
      createdAt: now,
      updatedAt: now,
    };
    if (plan.decision === DeliveryDecision.SUPPRESS) {
      return { ...base, state: DeliveryState.SUPPRESSED, reason: SUPPRESSION_REASONS[plan.suppressionReason] ?? SUPPRESSION_REASONS[0] };
    }
    const deferredUntil = plan.decision === DeliveryDecision.DEFER && plan.deliverAt ? timestampDate(plan.deliverAt) : undefined;
    if (options.step) {
      const { index, dueAt } = options.step;
      const quiet = deferredUntil !== undefined && deferredUntil > dueAt;
      const reason = quiet ? 'quiet hours' : stepReason(index);
      return { ...base, state: DeliveryState.DEFERRED, attempt: 1, reason, dueAt: quiet ? deferredUntil : dueAt };
    }
    if (isDigestible(notification.priority, plan.channel, options.digestWindowMs)) {
      // Deferred LOW deliveries of one address that end their quiet hours together are combined too.
      const dueAt = digestDueAt(deferredUntil && deferredUntil > now ? deferredUntil : now, options.digestWindowMs);
      return {
        ...base,
        state: DeliveryState.DEFERRED,
        attempt: 1,
        reason: deferredUntil ? 'quiet hours' : 'digest window',
        dueAt,
        digestKey: digestKey(plan.channel, plan.address),
      };
    }
    if (plan.decision === DeliveryDecision.DEFER) {
      return { ...base, state: DeliveryState.DEFERRED, attempt: 1, reason: 'quiet hours', dueAt: deferredUntil ?? now };
    }
    return { ...base, jobId: newId('job') };
  });
}
