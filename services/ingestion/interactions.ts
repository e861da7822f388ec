// The interactions collection: one document per chat message, keyed by the caller's message_id.
import { create } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Author } from '../../gen/pulse/common/v1/conversation_pb.js';
import { type Interaction, InteractionSchema, type SubmitInteractionRequest } from '../../gen/pulse/ingestion/v1/ingestion_service_pb.js';
import type { Doc, Store, TxScope } from '../platform/store/collection.js';

export interface InteractionDoc extends Doc {
  conversationId: string;
  customerId: string;
  agentId: string;
  author: Author;
  channel: string;
  text: string;
  upstreamSentimentScore?: number;
  occurredAt: Date;
  receivedAt: Date;
}

const COLLECTION = 'interactions';

export function interactionDoc(req: SubmitInteractionRequest, now: Date): InteractionDoc {
  return {
    _id: req.messageId,
    conversationId: req.conversationId,
    customerId: req.customerId,
    agentId: req.agentId,
    author: req.author,
    channel: req.channel || 'chat',
    text: req.text,
    ...(req.upstreamSentimentScore === undefined ? {} : { upstreamSentimentScore: req.upstreamSentimentScore }),
    occurredAt: req.occurredAt ? timestampDate(req.occurredAt) : now,
    receivedAt: now,
  };
}

export function toInteraction(doc: InteractionDoc): Interaction {
  return create(InteractionSchema, {
    messageId: doc._id,
    conversationId: doc.conversationId,
    customerId: doc.customerId,
    agentId: doc.agentId,
    author: doc.author,
    channel: doc.channel,
    text: doc.text,
    upstreamSentimentScore: doc.upstreamSentimentScore,
    occurredAt: timestampFromDate(doc.occurredAt),
    receivedAt: timestampFromDate(doc.receivedAt),
  });
}

export class InteractionRepository {
  constructor(private readonly store: Store) {}

  async init(): Promise<void> {
    await this.store.collection<InteractionDoc>(COLLECTION).createIndex({ conversationId: 1, occurredAt: 1 });
  }

  insert(tx: TxScope, doc: InteractionDoc): Promise<void> {
    return tx.collection<InteractionDoc>(COLLECTION).insertOne(doc);
  }

  get(messageId: string): Promise<InteractionDoc | null> {
    return this.store.collection<InteractionDoc>(COLLECTION).findOne({ _id: messageId });
  }
}
