// What a well-formed sentiment request is. Plain functions over the request messages.
import type {
  AnalyzeBatchRequest,
  AnalyzeRequest,
  GetConversationSentimentRequest,
} from '../../gen/pulse/sentiment/v1/sentiment_service_pb.js';
import { Validator } from '../platform/validate.js';

export const MAX_TEXT = 10_000;
export const MAX_BATCH = 500;

export function checkAnalyze(req: AnalyzeRequest): void {
  new Validator().text('text', req.text, { max: MAX_TEXT }).check();
}

export function checkAnalyzeBatch(req: AnalyzeBatchRequest): void {
  const v = new Validator();
  v.count('texts', req.texts, { min: 1, max: MAX_BATCH });
  // Item problems are only worth listing for a batch of acceptable size.
  if (req.texts.length <= MAX_BATCH) req.texts.forEach((text, i) => v.text(`texts[${i}]`, text, { max: MAX_TEXT }));
  v.check();
}

export function checkGetConversation(req: GetConversationSentimentRequest): void {
  new Validator().id('conversation_id', req.conversationId).check();
}
