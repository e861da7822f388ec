// The conversations collection: one document per conversation with its mood, the signals seen and the latest
// messages. Messages of one conversation are analysed concurrently, so every change is a compare-and-set on a
// version field (retried on conflict): correct on the memory store, which has no isolation, and on MongoDB.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  type ConversationSentiment,
  ConversationSentimentSchema,
  MessageSentimentSchema,
} from '../../gen/pulse/sentiment/v1/sentiment_service_pb.js';
import type { Doc, Store, TxScope } from '../platform/store/collection.js';
import { compareAndSet, insertIfAbsent, RETRY } from '../platform/store/compare-and-set.js';
import { toSentiment } from './analyses.js';
import { addMessage, type ConversationState, EMPTY_CONVERSATION, RECENT_MESSAGES, type ScoredMessage, toConversationMood } from './conversation.js';

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
    return compareAndSet(`conversation "${key.conversationId}"`, async () => {
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
        // Taken: another message of the conversation created it first.
        return (await insertIfAbsent(conversations, doc)) ? { doc, message: next.message } : RETRY;
      }
      // A message written after the latest one (the usual case) is appended, the list capped at its size, rather
      // than the whole list rewritten; and the result is built here rather than read back. An update then costs one
      // message, not fifty, on either store. One that arrived out of order rewrites the (re-sorted) list.
      const { mood, signalsSeen, recent } = next.state;
      const agentId = key.agentId || current.agentId;
      const last = current.recent[current.recent.length - 1];
      const inOrder = !last || last.occurredAt.getTime() <= next.message.occurredAt.getTime();
      const { matchedCount } = await conversations.updateOne(
        { _id: key.conversationId, version: current.version },
        inOrder
          ? {
              $set: { mood, signalsSeen, agentId, updatedAt: now },
              $push: { recent: { $each: [next.message], $slice: -RECENT_MESSAGES } },
              $inc: { version: 1 },
            }
          : { $set: { mood, signalsSeen, recent, agentId, updatedAt: now }, $inc: { version: 1 } },
      );
      if (matchedCount === 0) return RETRY;
      return { doc: { ...current, mood, signalsSeen, recent, agentId, updatedAt: now, version: current.version + 1 }, message: next.message };
    });
  }
}
