// What a well-formed ingestion request is. Plain functions over the request messages.
import { AuthorSchema } from '../../gen/pulse/common/v1/conversation_pb.js';
import { PrioritySchema } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { RequestAssistanceRequest, SubmitInteractionRequest } from '../../gen/pulse/ingestion/v1/ingestion_service_pb.js';
import { Validator } from '../platform/validate.js';

export const MAX_TEXT = 10_000;
export const MAX_BATCH = 500;
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export function checkInteraction(v: Validator, req: SubmitInteractionRequest, now: Date): void {
  v.id('message_id', req.messageId)
    .id('conversation_id', req.conversationId)
    .id('customer_id', req.customerId)
    .id('agent_id', req.agentId, { optional: true })
    .enumValue('author', req.author, AuthorSchema)
    .text('channel', req.channel, { max: 64, optional: true })
    .text('text', req.text, { max: MAX_TEXT })
    .timestamp('occurred_at', req.occurredAt, (at) =>
      at.getTime() > now.getTime() + MAX_CLOCK_SKEW_MS ? 'must not be more than 5 minutes in the future' : undefined,
    );
  if (req.upstreamSentimentScore !== undefined) v.range('upstream_sentiment_score', req.upstreamSentimentScore, -1, 1);
}

export function checkAssistance(v: Validator, req: RequestAssistanceRequest): void {
  v.id('request_id', req.requestId)
    .name('topic', req.topic)
    .text('description', req.description, { max: 4_000 })
    .id('customer_id', req.customerId, { optional: true })
    .id('bot_id', req.botId)
    .id('conversation_id', req.conversationId, { optional: true })
    .enumValue('priority', req.priority, PrioritySchema, { optional: true });
}
