// The conversations collection: one document per conversation with its mood, the signals seen and the latest
// messages. Messages of one conversation are analysed concurrently, so every change is a compare-and-set on a
// version field (retried on conflict): correct on the memory store, which has no isolation, and on MongoDB.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  type ConversationSentiment,
  ConversationSentimentSchema,
  MessageSentimentSchema,
} from '../../gen/pulse/sentiment/v1/sentiment_service_pb.js';
import { type Doc, isDuplicateKey, type Store, type TxScope } from '../platform/store/collection.js';
import { toSentiment } from './analyses.js';
import { addMessage, type ConversationState, EMPTY_CONVERSATION, type ScoredMessage, toConversationMood } from './conversation.js';

export interface ConversationDoc extends Doc, ConversationState {
  customerId: string;
  agentId: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface ConversationKey {
  conversationId: string;
  customerId: string;
  agentId: string;
}

const COLLECTION = 'conversations';
/** Conflicts beyond this mean heavy contention; the event is retried later instead. */
const MAX_ATTEMPTS = 8;

export function toConversationSentiment(doc: ConversationDoc): ConversationSentiment {
  return create(ConversationSentimentSchema, {
    conversationId: doc._id,
    mood: toConversationMood(doc.mood),
    signalsSeen: doc.signalsSeen,
    recentMessages: doc.recent.map((m) =>
      create(MessageSentimentSchema, {
        messageId: m.messageId,
        author: m.author,
        sentiment: toSentiment(m, m.signals),
        occurredAt: timestampFromDate(m.occurredAt),
      }),
    ),
    updatedAt: timestampFromDate(doc.updatedAt),
  });
}

export class ConversationRepository {
  constructor(private readonly store: Store) {}

  get(conversationId: string): Promise<ConversationDoc | null> {
    return this.store.collection<ConversationDoc>(COLLECTION).findOne({ _id: conversationId });
  }

  /** Adds a message to its conversation; returns the conversation and the message as recorded. */
  async record(tx: TxScope, key: ConversationKey, message: ScoredMessage, now: Date): Promise<{ doc: ConversationDoc; message: ScoredMessage }> {
    const conversations = tx.collection<ConversationDoc>(COLLECTION);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await conversations.findOne({ _id: key.conversationId });
      const next = addMessage(current ?? EMPTY_CONVERSATION, message);
      if (!current) {
        const doc: ConversationDoc = {
          _id: key.conversationId,
          customerId: key.customerId,
          agentId: key.agentId,
          ...next.state,
          version: 1,
          createdAt: now,
          updatedAt: now,
        };
        try {
          await conversations.insertOne(doc);
          return { doc, message: next.message };
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          continue; // another message of the conversation created it first
        }
      }
      const updated = await conversations.findOneAndUpdate(
        { _id: key.conversationId, version: current.version },
        {
          $set: { ...next.state, agentId: key.agentId || current.agentId, updatedAt: now },
          $inc: { version: 1 },
        },
        { returnDocument: 'after' },
      );
      if (updated) return { doc: updated, message: next.message };
    }
    throw new ConnectError(`conversation "${key.conversationId}" kept changing under concurrent updates`, Code.Aborted);
  }
}
