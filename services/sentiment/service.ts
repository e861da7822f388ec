// Sentiment: scores every chat message, spots escalation signals and follows each conversation's mood.
import { SentimentService } from '../../gen/pulse/sentiment/v1/sentiment_service_pb.js';
import type { ServiceModule } from '../platform/service.js';
import { AnalysisRepository } from './analyses.js';
import { vaderAnalyzer } from './analyzer.js';
import { interactionConsumer } from './consumer.js';
import { ConversationRepository } from './conversations.js';
import { sentimentHandlers } from './handlers.js';
import { SentimentMetrics } from './metrics.js';

export const sentiment: ServiceModule = {
  name: 'sentiment',
  peers: [],
  async start(rt) {
    const analyses = new AnalysisRepository(rt.store);
    await analyses.init();
    const conversations = new ConversationRepository(rt.store);
    const analyzer = vaderAnalyzer();
    rt.consume(interactionConsumer({ analyzer, analyses, conversations, metrics: new SentimentMetrics(rt.metrics.registry) }));
    const handlers = sentimentHandlers({ analyzer, conversations });
    return { routes: (router) => router.service(SentimentService, handlers) };
  },
};
