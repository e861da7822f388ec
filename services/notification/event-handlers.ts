// Event-driven notifications. review.required and assistance.requested become notifications to their topic through
// the same accept() as SendNotification, under idempotency keys derived from the cause, so a redelivered or
// re-published event never makes a second one. That key, not a consumer inbox, is what makes the consumers
// idempotent: accept asks preference for the plan before it opens its unit of work, which a consumer's inbox
// transaction, already open when the handler runs, would not allow.
// review.resolved stops the escalation ladders of the case's notifications (a reviewer acted on it).
// preference.changed drops the cached plans of the user or topic that changed (and every topic's, for a user or group).
import { Code, ConnectError } from '@connectrpc/connect';
import { Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { Severity } from '../../gen/pulse/common/v1/review_pb.js';
import {
  type AssistanceRequested,
  type PreferencesChanged,
  ReviewNotice,
  type ReviewRequired,
  type ReviewResolved,
} from '../../gen/pulse/events/v1/events_pb.js';
import { RouteKind } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { PermanentError } from '../platform/bus/bus.js';
import type { Logger } from '../platform/log.js';
import { annotate } from '../platform/span-ids.js';
import { assistanceNotificationKey, reviewNotificationKey } from '../common/notification-keys.js';
import type { Accept, AcceptRequest } from './accept.js';
import type { LadderGate } from './ladder-gate.js';
import type { PlanCache } from './plan-cache.js';
import { MAX_BODY, MAX_TITLE } from './validate.js';

const REVIEW_TOPIC = 'review';

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Only non-empty values: an inbox shows what it is given. */
function data(entries: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== ''));
}

const NOTICE_TITLES: Partial<Record<ReviewNotice, string>> = {
  [ReviewNotice.SLA_BREACHED]: 'Review overdue',
  [ReviewNotice.ESCALATED]: 'Review escalated',
};

const SEVERITY_PRIORITY: Partial<Record<Severity, Priority>> = {
  [Severity.CRITICAL]: Priority.CRITICAL,
  [Severity.HIGH]: Priority.HIGH,
};

/** A review notice as a notification: opened cases to the topic's primary routes, breaches and escalations up. */
export function reviewNotification(event: ReviewRequired): AcceptRequest {
  const notice = (ReviewNotice[event.notice] ?? 'UNSPECIFIED').toLowerCase();
  const severity = Severity[event.severity] ?? 'UNSPECIFIED';
  const escalation = event.notice === ReviewNotice.SLA_BREACHED || event.notice === ReviewNotice.ESCALATED;
  return {
    idempotencyKey: reviewNotificationKey(event.reviewId, notice, event.reminder),
    recipient: { topic: event.topic || REVIEW_TOPIC },
    notificationType: 'review.required',
    priority: SEVERITY_PRIORITY[event.severity] ?? Priority.MEDIUM,
    routeKind: escalation ? RouteKind.ESCALATION : RouteKind.PRIMARY,
    content: {
      // The summary is written without message text by review; the title carries ids only.
      title: clip(`${NOTICE_TITLES[event.notice] ?? 'Review needed'}: conversation ${event.conversationId} (${severity})`, MAX_TITLE),
      body: clip(event.summary, MAX_BODY),
      data: data({
        review_id: event.reviewId,
        conversation_id: event.conversationId,
        severity,
        notice,
        reminder: event.reminder > 0 ? String(event.reminder) : '',
      }),
    },
    expiresAt: null,
    source: 'review',
    causeId: event.reviewId,
  };
}

/** A bot's request for help, to the topic's team; the description is meant for them and is the body. */
export function assistanceNotification(event: AssistanceRequested): AcceptRequest {
  return {
    idempotencyKey: assistanceNotificationKey(event.requestId),
    recipient: { topic: event.topic },
    notificationType: 'assistance.requested',
    priority: event.priority || Priority.HIGH,
    routeKind: RouteKind.PRIMARY,
    content: {
      title: clip(`Assistance requested: ${event.topic}`, MAX_TITLE),
      body: clip(event.description, MAX_BODY),
      data: data({
        request_id: event.requestId,
        bot_id: event.botId,
        customer_id: event.customerId,
        conversation_id: event.conversationId,
      }),
    },
    expiresAt: null,
    source: 'ingestion',
    causeId: event.requestId,
  };
}

/** Codes no retry of the same event can fix: the event goes to the DLQ at once, to be replayed after the fix. */
const HOPELESS = new Set([Code.NotFound, Code.InvalidArgument, Code.FailedPrecondition]);

export function eventHandlers(deps: { accept: Accept; plans: PlanCache; ladder: Pick<LadderGate, 'acknowledge'>; log: Logger }) {
  async function acceptEvent(req: AcceptRequest, what: string): Promise<void> {
    try {
      const { notification, duplicate } = await deps.accept(req);
      annotate({ 'pulse.notification_id': notification._id });
      deps.log.info({ notification_id: notification._id, cause_id: req.causeId, duplicate }, `${what} notification accepted`);
    } catch (err) {
      if (!(err instanceof ConnectError)) throw err;
      if (err.code === Code.AlreadyExists) {
        // The same cause already produced a (different-looking) notification, e.g. a re-published event whose
        // summary changed: one notification per cause is the promise, so keep the first.
        deps.log.warn({ cause_id: req.causeId }, `${what}: a notification for this cause already exists; keeping it`);
        return;
      }
      if (HOPELESS.has(err.code)) throw new PermanentError(`${what} for ${req.causeId}: ${err.rawMessage}`);
      throw err;
    }
  }

  return {
    /** A resolved case is acknowledged: the escalation steps of its notifications not yet sent are cancelled. */
    reviewResolved: async (event: ReviewResolved) => {
      annotate({ 'pulse.review_id': event.reviewId });
      const cancelled = await deps.ladder.acknowledge(event.reviewId, new Date());
      if (cancelled > 0) deps.log.info({ review_id: event.reviewId, cancelled }, 'review case resolved; its escalation steps stop');
    },
    reviewRequired: (event: ReviewRequired) => {
      annotate({ 'pulse.review_id': event.reviewId, 'pulse.conversation_id': event.conversationId });
      return acceptEvent(reviewNotification(event), 'review.required');
    },
    assistanceRequested: (event: AssistanceRequested) => {
      annotate({ 'pulse.request_id': event.requestId, 'pulse.conversation_id': event.conversationId });
      return acceptEvent(assistanceNotification(event), 'assistance.requested');
    },
    preferenceChanged: async (event: PreferencesChanged) => {
      const subject = event.subject;
      if (subject.case === 'topic') deps.plans.invalidate({ topic: subject.value });
      else if (subject.case === 'userId') deps.plans.invalidate({ userId: subject.value });
      // Topic routes may name the user or the group.
      if (subject.case === 'userId' || subject.case === 'group') deps.plans.invalidateTopics();
    },
  };
}
