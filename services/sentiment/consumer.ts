// Scores every chat message ingestion hands on, records it once (keyed by message_id), moves the conversation's
// mood, and announces the analysis, all in one unit of work.
import { create } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { SentimentAnalyzedSchema } from '../../gen/pulse/events/v1/events_pb.js';
import type { ConsumerSpec } from '../platform/bus/consumer.js';
import { newId } from '../platform/ids.js';
import { annotate } from '../platform/span-ids.js';
import { type AnalysisRepository, toSentiment } from './analyses.js';
import type { Analyzer } from './analyzer.js';
import { toConversationMood } from './conversation.js';
import type { ConversationRepository } from './conversations.js';
import type { SentimentMetrics } from './metrics.js';
import { findSignals } from './signals.js';

export interface InteractionConsumerDeps {
  analyzer: Analyzer;
  analyses: AnalysisRepository;
  conversations: ConversationRepository;
  metrics: SentimentMetrics;
  now?: () => Date;
}

export function interactionConsumer(deps: InteractionConsumerDeps): ConsumerSpec<'customer.interaction.new'> {
  const now = deps.now ?? (() => new Date());
  return {
    purpose: 'interactions',
    events: ['customer.interaction.new'],
    async handle(event, tx) {
      annotate({ 'pulse.interaction_id': event.messageId, 'pulse.conversation_id': event.conversationId });
      // A message is analysed once, however often it is delivered or re-submitted under another event.
      if (await deps.analyses.exists(tx, event.messageId)) return;
      const at = now();
      const scores = await deps.analyzer.score(event.text);
      const matches = findSignals(event.text, scores.language);
      const occurredAt = event.writtenAt ? timestampDate(event.writtenAt) : at;
      const { doc, message } = await deps.conversations.record(
        tx,
        { conversationId: event.conversationId, customerId: event.customerId, agentId: event.agentId },
        { messageId: event.messageId, author: event.author, ...scores, signals: matches.map((m) => m.signal), occurredAt },
        at,
      );
      await deps.analyses.insert(tx, {
        _id: message.messageId,
        conversationId: event.conversationId,
        customerId: event.customerId,
        agentId: event.agentId,
        author: message.author,
        compound: message.compound,
        positive: message.positive,
        neutral: message.neutral,
        negative: message.negative,
        signals: message.signals,
        language: message.language,
        occurredAt,
        causationId: event.eventId,
        analyzedAt: at,
      });
      // The event carries the words behind each signal to review, for the case; the analysis keeps no text.
      const sentiment = toSentiment(message, message.signals, { text: event.text, matches });
      await tx.emit(
        'sentiment.analysis.complete',
        create(SentimentAnalyzedSchema, {
          eventId: newId('evt'),
          occurredAt: timestampFromDate(at),
          causationId: event.eventId,
          messageId: event.messageId,
          conversationId: event.conversationId,
          customerId: event.customerId,
          agentId: event.agentId,
          author: event.author,
          sentiment,
          mood: toConversationMood(doc.mood),
          writtenAt: timestampFromDate(occurredAt),
        }),
      );
      // Counted as handled: a unit of work MongoDB runs again after a conflict counts again, which a rate can bear.
      deps.metrics.observe(event.author, sentiment);
    },
  };
}
