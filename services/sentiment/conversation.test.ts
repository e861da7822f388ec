import { describe, expect, it } from 'vitest';
import { Author, EscalationSignal, Trend } from '../../gen/pulse/common/v1/conversation_pb.js';
import {
  addMessage,
  type ConversationState,
  drop,
  EMPTY_CONVERSATION,
  isSharpDrop,
  type Mood,
  NO_MOOD,
  nextMood,
  RECENT_MESSAGES,
  type ScoredMessage,
  toConversationMood,
  trend,
} from './conversation.js';

const moodOf = (scores: number[]): Mood => scores.reduce(nextMood, NO_MOOD);

let seq = 0;
function message(author: Author, compound: number, extra: Partial<ScoredMessage> = {}): ScoredMessage {
  seq++;
  return {
    messageId: `m${seq}`,
    author,
    compound,
    positive: 0,
    neutral: 1,
    negative: 0,
    signals: [],
    occurredAt: new Date(Date.UTC(2025, 0, 1, 12, 0, seq)),
    ...extra,
  };
}

function conversationOf(messages: ScoredMessage[]): { state: ConversationState; recorded: ScoredMessage[] } {
  let state = EMPTY_CONVERSATION;
  const recorded: ScoredMessage[] = [];
  for (const m of messages) {
    const next = addMessage(state, m);
    state = next.state;
    recorded.push(next.message);
  }
  return { state, recorded };
}

describe('mood arithmetic', () => {
  it('starts the rolling score and the baseline at the first score', () => {
    expect(moodOf([0.6])).toEqual({ rolling: 0.6, baseline: 0.6, count: 1 });
  });

  it('weighs the latest message half (EWMA, weight 0.5)', () => {
    expect(moodOf([0.6, 0.2]).rolling).toBeCloseTo(0.4);
    expect(moodOf([0.6, 0.2, -0.8]).rolling).toBeCloseTo(-0.2);
    expect(moodOf([0.6, 0.2, -0.8, -0.8]).rolling).toBeCloseTo(-0.5);
  });

  it('takes the baseline as the mean of the first three scores and then keeps it', () => {
    expect(moodOf([0.6, 0.2]).baseline).toBeCloseTo(0.4);
    expect(moodOf([0.6, 0.2, 0.4]).baseline).toBeCloseTo(0.4);
    expect(moodOf([0.6, 0.2, 0.4, -0.9, -0.9]).baseline).toBeCloseTo(0.4);
  });

  it('measures the drop as baseline minus rolling, positive when worse', () => {
    expect(drop(NO_MOOD)).toBe(0);
    const soured = moodOf([0.6, 0.5, 0.4, -0.6, -0.8]);
    expect(drop(soured)).toBeCloseTo(soured.baseline - soured.rolling);
    expect(drop(soured)).toBeGreaterThan(0);
    expect(drop(moodOf([-0.5, -0.4, -0.6, 0.7]))).toBeLessThan(0);
  });

  it('reports NEW until the baseline is formed, then the direction against it', () => {
    expect(trend(moodOf([0.5]))).toBe(Trend.NEW);
    expect(trend(moodOf([0.5, -0.9]))).toBe(Trend.NEW);
    expect(trend(moodOf([0.3, 0.3, 0.3]))).toBe(Trend.STABLE);
    expect(trend(moodOf([0.3, 0.3, 0.3, 0.35]))).toBe(Trend.STABLE);
    expect(trend(moodOf([0.3, 0.3, 0.3, 0.9]))).toBe(Trend.IMPROVING);
    expect(trend(moodOf([0.3, 0.3, 0.3, -0.3]))).toBe(Trend.WORSENING);
  });

  it('calls a drop of 0.5 below the baseline sharp, but only after the baseline formed', () => {
    expect(isSharpDrop(moodOf([0.8, 0.8, -0.9]))).toBe(false); // the third message is part of the baseline
    expect(isSharpDrop(moodOf([0.4, 0.4, 0.4, 0.0]))).toBe(false); // drop 0.2
    expect(isSharpDrop(moodOf([0.4, 0.4, 0.4, -0.6]))).toBe(true); // drop 0.5
    // A habitually negative customer is measured against themselves: no drop.
    expect(isSharpDrop(moodOf([-0.6, -0.7, -0.6, -0.7]))).toBe(false);
  });

  it('serves the mood with drop and trend filled in', () => {
    const mood = toConversationMood(moodOf([0.5, 0.5, 0.5, -0.5]));
    expect(mood.customerMessageCount).toBe(4);
    expect(mood.rollingScore).toBeCloseTo(0);
    expect(mood.baselineScore).toBeCloseTo(0.5);
    expect(mood.drop).toBeCloseTo(0.5);
    expect(mood.trend).toBe(Trend.WORSENING);
  });
});

describe('addMessage', () => {
  it('keeps agent and bot messages without moving the mood or the signals seen', () => {
    const { state } = conversationOf([
      message(Author.CUSTOMER, 0.5),
      message(Author.AGENT, -0.9, { signals: [EscalationSignal.REFUND] }),
      message(Author.BOT, -0.9),
    ]);
    expect(state.mood).toEqual({ rolling: 0.5, baseline: 0.5, count: 1 });
    expect(state.signalsSeen).toEqual([]);
    expect(state.recent.map((m) => m.author)).toEqual([Author.CUSTOMER, Author.AGENT, Author.BOT]);
  });

  it('marks the customer message that makes the conversation drop sharply with SHARP_DROP', () => {
    const { state, recorded } = conversationOf([
      message(Author.CUSTOMER, 0.6),
      message(Author.CUSTOMER, 0.5),
      message(Author.CUSTOMER, 0.4),
      message(Author.AGENT, -0.9),
      message(Author.CUSTOMER, -0.7, { signals: [EscalationSignal.REFUND] }),
    ]);
    expect(recorded[3].signals).toEqual([]);
    expect(recorded[4].signals).toEqual([EscalationSignal.REFUND, EscalationSignal.SHARP_DROP]);
    expect(state.signalsSeen).toEqual([EscalationSignal.REFUND, EscalationSignal.SHARP_DROP]);
    expect(state.mood.count).toBe(4);
  });

  it('collects each customer signal once, in enum order', () => {
    const { state } = conversationOf([
      message(Author.CUSTOMER, -0.2, { signals: [EscalationSignal.HUMAN_REQUEST] }),
      message(Author.CUSTOMER, -0.2, { signals: [EscalationSignal.REFUND, EscalationSignal.HUMAN_REQUEST] }),
    ]);
    expect(state.signalsSeen).toEqual([EscalationSignal.REFUND, EscalationSignal.HUMAN_REQUEST]);
  });

  it('orders recent messages by when they were written, whatever order they were analysed in', () => {
    const late = message(Author.CUSTOMER, 0.1, { occurredAt: new Date('2025-01-01T12:05:00Z') });
    const early = message(Author.AGENT, 0.1, { occurredAt: new Date('2025-01-01T12:01:00Z') });
    const { state } = conversationOf([late, early]);
    expect(state.recent.map((m) => m.messageId)).toEqual([early.messageId, late.messageId]);
  });

  it(`keeps only the latest ${RECENT_MESSAGES} messages`, () => {
    const messages = Array.from({ length: RECENT_MESSAGES + 7 }, () => message(Author.CUSTOMER, 0.2));
    const { state } = conversationOf(messages);
    expect(state.recent).toHaveLength(RECENT_MESSAGES);
    expect(state.recent[0].messageId).toBe(messages[7].messageId);
    expect(state.recent.at(-1)?.messageId).toBe(messages.at(-1)?.messageId);
    expect(state.mood.count).toBe(RECENT_MESSAGES + 7);
  });

  it('does not change the state it was given', () => {
    const before = conversationOf([message(Author.CUSTOMER, 0.3)]).state;
    const copy = structuredClone(before);
    addMessage(before, message(Author.CUSTOMER, -0.9));
    expect(before).toEqual(copy);
  });
});

describe('souring', () => {
  const { FRUSTRATION, SOURING, REFUND } = EscalationSignal;
  const signalsOf = (messages: ScoredMessage[]) => conversationOf(messages).recorded.map((m) => m.signals);

  it('marks the third sour message of four: mildly negative, or a problem reported, none amiss alone', () => {
    const signals = signalsOf([
      message(Author.CUSTOMER, 0, { signals: [FRUSTRATION] }),
      message(Author.AGENT, 0.5),
      message(Author.CUSTOMER, -0.1),
      message(Author.CUSTOMER, 0.3),
      message(Author.CUSTOMER, 0, { signals: [FRUSTRATION] }),
    ]);
    expect(signals).toEqual([[FRUSTRATION], [], [], [], [SOURING, FRUSTRATION]]);
  });

  it('leaves a conversation whose latest message is fine, or with too few sour ones', () => {
    expect(signalsOf([message(Author.CUSTOMER, -0.2), message(Author.CUSTOMER, -0.2), message(Author.CUSTOMER, 0.4)]).flat()).toEqual([]);
    expect(signalsOf([message(Author.CUSTOMER, -0.2), message(Author.CUSTOMER, 0.2), message(Author.CUSTOMER, 0.2), message(Author.CUSTOMER, -0.2)]).flat()).toEqual([]);
    expect(signalsOf([message(Author.CUSTOMER, -0.2), message(Author.CUSTOMER, 0, { signals: [REFUND] }), message(Author.CUSTOMER, -0.3)]).at(-1)).toEqual([SOURING]);
  });
});
