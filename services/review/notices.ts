// The events review emits: review.required (a case needs people: opened, past its SLA, or escalated) and
// review.resolved (a reviewer closed or escalated a case). Reasons travel as numbers and signal names, never text.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { ReviewState } from '../../gen/pulse/common/v1/review_pb.js';
import {
  ReviewNotice,
  type ReviewRequired,
  ReviewRequiredSchema,
  type ReviewResolved,
  ReviewResolvedSchema,
} from '../../gen/pulse/events/v1/events_pb.js';
import { newId } from '../platform/ids.js';
import type { CaseDoc } from './cases.js';
import { summarize } from './policy.js';

/** review.required for a case. causationId: the SentimentAnalyzed event that opened it; empty otherwise. */
export function reviewRequired(c: CaseDoc, notice: ReviewNotice, causationId: string, at: Date): ReviewRequired {
  return create(ReviewRequiredSchema, {
    eventId: newId('evt'),
    occurredAt: timestampFromDate(at),
    causationId,
    reviewId: c._id,
    conversationId: c.conversationId,
    customerId: c.customerId,
    agentId: c.agentId,
    messageId: c.messageIds[0],
    severity: c.severity,
    lowestScore: c.reasons.lowestScore,
    signals: c.reasons.signals,
    summary: summarize(c.reasons),
    topic: c.topic,
    notice,
    // Only SLA reminders are counted; an opening or an escalation is not a reminder.
    reminder: notice === ReviewNotice.SLA_BREACHED ? c.reminderCount : 0,
  });
}

export function reviewResolved(c: CaseDoc, outcome: ReviewState, reviewer: string, at: Date): ReviewResolved {
  return create(ReviewResolvedSchema, {
    eventId: newId('evt'),
    occurredAt: timestampFromDate(at),
    reviewId: c._id,
    conversationId: c.conversationId,
    outcome,
    reviewer,
  });
}
