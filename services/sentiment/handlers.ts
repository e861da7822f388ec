// SentimentService: score texts on demand (nothing stored) and serve how a monitored conversation is going.
import type { ServiceImpl } from '@connectrpc/connect';
import { SentimentService } from '../../gen/pulse/sentiment/v1/sentiment_service_pb.js';
import { notFound } from '../platform/errors.js';
import { toSentiment } from './analyses.js';
import type { Analyzer, ScoredText } from './analyzer.js';
import { type ConversationRepository, toConversationSentiment } from './conversations.js';
import { findSignals } from './signals.js';
import { checkAnalyze, checkAnalyzeBatch, checkGetConversation } from './validate.js';

export interface SentimentDeps {
  analyzer: Analyzer;
  conversations: ConversationRepository;
}

export function sentimentHandlers(deps: SentimentDeps): ServiceImpl<typeof SentimentService> {
  return {
    async analyze(req) {
      checkAnalyze(req);
      return { sentiment: sentimentOf(req.text, await deps.analyzer.score(req.text)) };
    },

    async analyzeBatch(req) {
      checkAnalyzeBatch(req);
      const scores = await deps.analyzer.scoreBatch(req.texts);
      return { sentiments: scores.map((s, i) => sentimentOf(req.texts[i], s)) };
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

/** Scores, language, and the signals read in that language with the words behind them. */
function sentimentOf(text: string, scores: ScoredText) {
  const matches = findSignals(text, scores.language);
  return toSentiment(scores, matches.map((m) => m.signal), { text, matches });
}
