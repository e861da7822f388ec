// How a conversation is going, from its customer messages: plain arithmetic, no I/O.
//
// - rolling score: an exponentially weighted mean of the customer's scores, new = w * score + (1 - w) * old, with
//   w = 0.5, so the last message counts half, the one before a quarter, ... It follows a turn within two or three
//   messages without jumping at every word.
// - baseline: the plain mean of the first three customer messages: how this customer sounds when things are normal
//   for them (some people are terse, some gush), so a drop is measured against them, not against zero.
// - drop = baseline - rolling: positive when the conversation got worse.
// - trend: NEW until the baseline is formed; then STABLE within 0.1 of it, else IMPROVING or WORSENING.
// - sharp drop: once the baseline is formed, a drop of at least 0.5 is itself an escalation signal (SHARP_DROP).
// - souring: when at least SOURING_COUNT of the last SOURING_WINDOW customer messages are sour (read negative, or
//   carry a signal such as FRUSTRATION: "still slow", "not great"), the latest among them, the conversation is
//   souring (SOURING): several mildly negative messages that no single one, nor the drop (the baseline soured with
//   them), shows.
import { create } from '@bufbuild/protobuf';
import {
  Author,
  type ConversationMood,
  ConversationMoodSchema,
  EscalationSignal,
  SentimentLabel,
  Trend,
} from '../../gen/pulse/common/v1/conversation_pb.js';
import { labelOf } from './analyzer.js';

export const ROLLING_WEIGHT = 0.5;
export const BASELINE_MESSAGES = 3;
export const STABLE_BAND = 0.1;
export const SHARP_DROP = 0.5;
export const SOURING_WINDOW = 4;
export const SOURING_COUNT = 3;

export interface Mood {
  rolling: number;
  baseline: number;
  /** Customer messages scored. */
  count: number;
}

export const NO_MOOD: Mood = { rolling: 0, baseline: 0, count: 0 };

/** The mood after one more customer message with this compound score. */
export function nextMood(mood: Mood, score: number): Mood {
  const count = mood.count + 1;
  const rolling = mood.count === 0 ? score : ROLLING_WEIGHT * score + (1 - ROLLING_WEIGHT) * mood.rolling;
  const baseline = count <= BASELINE_MESSAGES ? mood.baseline + (score - mood.baseline) / count : mood.baseline;
  return { rolling, baseline, count };
}

export function drop(mood: Mood): number {
  return mood.count === 0 ? 0 : mood.baseline - mood.rolling;
}

export function trend(mood: Mood): Trend {
  if (mood.count < BASELINE_MESSAGES) return Trend.NEW;
  const change = mood.rolling - mood.baseline;
  if (Math.abs(change) < STABLE_BAND) return Trend.STABLE;
  return change > 0 ? Trend.IMPROVING : Trend.WORSENING;
}

/** A customer message that reads negative or reports a problem (any signal, FRUSTRATION included). */
function isSour(message: ScoredMessage): boolean {
  return labelOf(message.compound) === SentimentLabel.NEGATIVE || message.signals.some((s) => s !== EscalationSignal.SOURING);
}

/** Whether this customer message, sour itself, makes enough of the conversation's latest ones sour. */
export function isSouring(recent: readonly ScoredMessage[], message: ScoredMessage): boolean {
  if (!isSour(message)) return false;
  const window = [...recent.filter((m) => m.author === Author.CUSTOMER && m.occurredAt <= message.occurredAt), message].slice(-SOURING_WINDOW);
  return window.filter(isSour).length >= SOURING_COUNT;
}

/** Whether the latest message left the conversation sharply below its own baseline. */
export function isSharpDrop(mood: Mood): boolean {
  return mood.count > BASELINE_MESSAGES && drop(mood) >= SHARP_DROP;
}

export function toConversationMood(mood: Mood): ConversationMood {
  return create(ConversationMoodSchema, {
    rollingScore: mood.rolling,
    baselineScore: mood.baseline,
    drop: drop(mood),
    customerMessageCount: mood.count,
    trend: trend(mood),
  });
}

/** One scored message as the conversation keeps it (no text). */
export interface ScoredMessage {
  messageId: string;
  author: Author;
  compound: number;
  positive: number;
  neutral: number;
  negative: number;
  signals: EscalationSignal[];
  /** The language it was read in (absent on messages analysed before languages were detected). */
  language?: string;
  occurredAt: Date;
}

export interface ConversationState {
  mood: Mood;
  /** Signals of the customer's messages, each once, in enum order. */
  signalsSeen: EscalationSignal[];
  /** The latest messages of any author, oldest first, at most RECENT_MESSAGES. */
  recent: ScoredMessage[];
}

export const RECENT_MESSAGES = 50;

export const EMPTY_CONVERSATION: ConversationState = { mood: NO_MOOD, signalsSeen: [], recent: [] };

/**
 * The conversation after one more message, and the message as recorded (with SHARP_DROP when it left the
 * conversation sharply below its baseline). Agent, bot and system messages are kept but do not move the mood.
 */
export function addMessage(state: ConversationState, message: ScoredMessage): { state: ConversationState; message: ScoredMessage } {
  let { mood, signalsSeen } = state;
  let recorded = message;
  if (message.author === Author.CUSTOMER) {
    mood = nextMood(mood, message.compound);
    const added = [
      ...(isSharpDrop(mood) ? [EscalationSignal.SHARP_DROP] : []),
      ...(isSouring(state.recent, message) ? [EscalationSignal.SOURING] : []),
    ].filter((s) => !message.signals.includes(s));
    if (added.length > 0) recorded = { ...message, signals: [...message.signals, ...added].sort((a, b) => a - b) };
    signalsSeen = [...new Set([...signalsSeen, ...recorded.signals])].sort((a, b) => a - b);
  }
  // Messages can be analysed out of order; the list stays in the order they were written.
  const recent = [...state.recent, recorded]
    .sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime())
    .slice(-RECENT_MESSAGES);
  return { state: { mood, signalsSeen, recent }, message: recorded };
}
