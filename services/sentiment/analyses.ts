// The analyses collection: one document per analysed message, keyed by message_id. Scores and signals only; the
// text stays with ingestion.
import { create } from '@bufbuild/protobuf';
import {
  type EscalationSignal,
  type Sentiment,
  SentimentSchema,
  SignalEvidenceSchema,
} from '../../gen/pulse/common/v1/conversation_pb.js';
import type { Doc, Store, TxScope } from '../platform/store/collection.js';
import { labelOf, type SentimentScores } from './analyzer.js';
import type { ScoredMessage } from './conversation.js';
import type { SignalMatch } from './signals.js';

export interface AnalysisDoc extends Doc, Omit<ScoredMessage, 'messageId'> {
  conversationId: string;
  customerId: string;
  agentId: string;
  /** The InteractionReceived event analysed. */
  causationId: string;
  analyzedAt: Date;
}

const COLLECTION = 'analyses';

/** The text a message's signals were found in, and where: what explains them. */
export interface Wording {
  text: string;
  matches: readonly SignalMatch[];
}

/**
 * A message's sentiment for the API and the event. With its wording, every signal carries its evidence: the words
 * that triggered it, or none for a conversation-level signal (SHARP_DROP, SOURING).
 */
export function toSentiment(
  scores: SentimentScores & { language?: string },
  signals: readonly EscalationSignal[],
  wording?: Wording,
): Sentiment {
  return create(SentimentSchema, {
    compound: scores.compound,
    positive: scores.positive,
    neutral: scores.neutral,
    negative: scores.negative,
    label: labelOf(scores.compound),
    signals: [...signals],
    evidence: wording
      ? signals.map((signal) => {
          const match = wording.matches.find((m) => m.signal === signal);
          return create(SignalEvidenceSchema, match ? { signal, text: wording.text.slice(match.start, match.end), start: match.start, end: match.end } : { signal });
        })
      : [],
    language: scores.language ?? '',
  });
}

export class AnalysisRepository {
  constructor(private readonly store: Store) {}

  async init(): Promise<void> {
    await this.store.collection<AnalysisDoc>(COLLECTION).createIndex({ conversationId: 1, occurredAt: 1 });
  }

  async exists(tx: TxScope, messageId: string): Promise<boolean> {
    return (await tx.collection<AnalysisDoc>(COLLECTION).findOne({ _id: messageId })) !== null;
  }

  insert(tx: TxScope, doc: AnalysisDoc): Promise<void> {
    return tx.collection<AnalysisDoc>(COLLECTION).insertOne(doc);
  }
}
