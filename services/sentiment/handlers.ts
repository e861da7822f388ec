// SentimentService: score texts on demand (nothing stored) and serve how a monitored conversation is going.
import type { ServiceImpl } from '@connectrpc/connect';
import { SentimentService } from '../../gen/pulse/sentiment/v1/sentiment_service_pb.js';
import { notFound } from '../platform/errors.js';
import { toSentiment } from './analyses.js';
import type { Analyzer } from './analyzer.js';
import { type ConversationRepository, toConversationSentiment } from './conversations.js';
import { detectSignals } from './signals.js';
import { checkAnalyze, checkAnalyzeBatch, checkGetConversation } from './validate.js';

export interface SentimentDeps {
  analyzer: Analyzer;
  conversations: ConversationRepository;
}

export function sentimentHandlers(deps: SentimentDeps): ServiceImpl<typeof SentimentService> {
  return {
    async analyze(req) {
      checkAnalyze(req);
      return { sentiment: toSentiment(await deps.analyzer.score(req.text), detectSignals(req.text)) };
    },

    async analyzeBatch(req) {
      checkAnalyzeBatch(req);
      const scores = await deps.analyzer.scoreBatch(req.texts);
      return { sentiments: scores.map((s, i) => toSentiment(s, detectSignals(req.texts[i]))) };
    },

    async getConversationSentiment(req) {
      checkGetConversation(req);
      const doc = await deps.conversations.get(req.conversationId);
      // A conversation is monitored from its first customer message; agent chatter alone is not a conversation yet.
      if (!doc || doc.mood.count === 0) throw notFound(`no customer message of conversation "${req.conversationId}" has been analysed`);
      return { conversation: toConversationSentiment(doc) };
    },
  };
}
