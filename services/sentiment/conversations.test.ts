// The conversations repository appends a message written after the latest one and rewrites the list only for one
// that arrives out of order: either way the stored conversation is what addMessage says it is.
import { describe, expect, it } from 'vitest';
import { Author } from '../../gen/pulse/common/v1/conversation_pb.js';
import { MemoryStore } from '../platform/store/memory.js';
import { addMessage, type ConversationState, EMPTY_CONVERSATION, RECENT_MESSAGES, type ScoredMessage } from './conversation.js';
import { ConversationRepository } from './conversations.js';

function message(i: number, at: number): ScoredMessage {
  return {
    messageId: `m${i}`,
    author: i % 3 === 0 ? Author.AGENT : Author.CUSTOMER,
    compound: ((i * 37) % 200) / 100 - 1,
    positive: 0.2,
    neutral: 0.6,
    negative: 0.2,
    signals: [],
    occurredAt: new Date(at),
  };
}

describe('ConversationRepository.record', () => {
  it('stores what addMessage computes, in order and out of order, past the size of the recent list', async () => {
    const store = new MemoryStore('pulse_sentiment_test');
    const repo = new ConversationRepository(store);
    const key = { conversationId: 'c1', customerId: 'cust', agentId: 'agent' };
    let expected: ConversationState = EMPTY_CONVERSATION;
    for (let i = 0; i < RECENT_MESSAGES + 20; i++) {
      // Every seventh message was written before the one analysed just before it.
      const at = 1_000_000 + i * 1_000 - (i % 7 === 0 ? 1_500 : 0);
      const m = message(i, at);
      expected = addMessage(expected, m).state;
      const { doc } = await repo.record(store, key, m, new Date(at));
      expect(doc.recent).toEqual(expected.recent);
      expect(doc.mood).toEqual(expected.mood);
    }
    const stored = await repo.get('c1');
    expect(stored!.recent).toEqual(expected.recent);
    expect(stored!.mood).toEqual(expected.mood);
    expect(stored!.signalsSeen).toEqual(expected.signalsSeen);
    expect(stored!.version).toBe(RECENT_MESSAGES + 20);
    await store.close();
  });
});
