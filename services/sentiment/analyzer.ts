// The sentiment analyzer behind the service. One interface, so a model-serving backend can replace the in-process
// VADER without touching the handlers or the consumer: it is asynchronous and scores a batch in one call.
import { SentimentLabel } from '../../gen/pulse/common/v1/conversation_pb.js';
import { describeEmoji } from './emoji.js';
import { polarityScores } from './vader.js';

/** How one text reads: compound in -1..1, proportions in 0..1 adding up to 1. */
export interface SentimentScores {
  compound: number;
  positive: number;
  neutral: number;
  negative: number;
}

export interface Analyzer {
  /** Names the implementation in the evaluation output. */
  readonly name: string;
  score(text: string): Promise<SentimentScores>;
  /** Scores in input order, in one pass (one round trip for a remote backend). */
  scoreBatch(texts: readonly string[]): Promise<SentimentScores[]>;
}

/** |compound| below this reads as neutral (VADER's published convention). */
export const NEUTRAL_BAND = 0.05;

export function labelOf(compound: number): SentimentLabel {
  if (compound >= NEUTRAL_BAND) return SentimentLabel.POSITIVE;
  if (compound <= -NEUTRAL_BAND) return SentimentLabel.NEGATIVE;
  return SentimentLabel.NEUTRAL;
}

/**
 * VADER (Hutto & Gilbert 2014) as the vader-sentiment package scores it (vader.ts: the same scores, its word
 * splitting made linear, about nine times the texts per second), with emoji read as their names.
 */
export function vaderAnalyzer(): Analyzer {
  const scoreNow = (text: string): SentimentScores => {
    const { compound, pos, neu, neg } = polarityScores(describeEmoji(text));
    // VADER gives all zeros when no word is left to score (punctuation only): that text is wholly neutral.
    if (pos === 0 && neu === 0 && neg === 0) return { compound, positive: 0, neutral: 1, negative: 0 };
    return { compound, positive: pos, neutral: neu, negative: neg };
  };
  return {
    name: 'vader-sentiment',
    score: async (text) => scoreNow(text),
    scoreBatch: async (texts) => texts.map(scoreNow),
  };
}
