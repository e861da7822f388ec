// Reads every analysed message and files the amiss customer messages as review cases: one conversation that goes
// wrong opens one case, which gathers its later amiss messages during the cool-down. Opening a case announces it
// (review.required, notice OPENED) in the same unit of work; a message joining a case announces nothing new.
import { Author, Trend } from '../../gen/pulse/common/v1/conversation_pb.js';
import { ReviewNotice } from '../../gen/pulse/events/v1/events_pb.js';
import type { ConsumerSpec } from '../platform/bus/consumer.js';
import type { Logger } from '../platform/log.js';
import { annotate } from '../platform/span-ids.js';
import type { CaseRepository } from './cases.js';
import type { ReviewMetrics } from './metrics.js';
import { reviewRequired } from './notices.js';
import type { PolicyRepository } from './policies.js';
import { assess } from './policy.js';

export interface AnalysisConsumerDeps {
  cases: CaseRepository;
  policies: PolicyRepository;
  metrics: ReviewMetrics;
  log: Logger;
  now?: () => Date;
}

export function analysisConsumer(deps: AnalysisConsumerDeps): ConsumerSpec<'sentiment.analysis.complete'> {
  const now = deps.now ?? (() => new Date());
  return {
    purpose: 'analyses',
    events: ['sentiment.analysis.complete'],
    async handle(event, tx) {
      annotate({ 'pulse.interaction_id': event.messageId, 'pulse.conversation_id': event.conversationId });
      // Agents and bots are not the ones a case is about.
      if (event.author !== Author.CUSTOMER) return;
      const policy = await deps.policies.get(tx);
      const trendKnown = event.mood !== undefined && event.mood.trend !== Trend.NEW && event.mood.trend !== Trend.UNSPECIFIED;
      const evidence = (event.sentiment?.evidence ?? []).map((e) => ({
        signal: e.signal,
        text: e.text,
        start: e.start,
        end: e.end,
        messageId: event.messageId,
      }));
      const reasons = assess(
        { compound: event.sentiment?.compound ?? 0, signals: event.sentiment?.signals ?? [], drop: event.mood?.drop ?? 0, trendKnown, evidence },
        policy,
      );
      if (!reasons) return;
      const at = now();
      const { doc, opened } = await deps.cases.file(tx, {
        conversationId: event.conversationId,
        customerId: event.customerId,
        agentId: event.agentId,
        messageId: event.messageId,
        reasons,
        policy,
        now: at,
      });
      annotate({ 'pulse.review_id': doc._id });
      if (!opened) return;
      await tx.emit('review.required', reviewRequired(doc, ReviewNotice.OPENED, event.eventId, at));
      deps.metrics.opened(doc.severity);
      deps.log.info({ review_id: doc._id, conversation_id: doc.conversationId, severity: doc.severity }, 'review case opened');
    },
  };
}
