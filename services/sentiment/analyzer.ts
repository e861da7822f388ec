// The sentiment analyzer behind the service. One interface, so a model-serving backend can replace the in-process
// VADER without touching the handlers or the consumer: it is asynchronous and scores a batch in one call.
import { SentimentLabel } from '../../gen/pulse/common/v1/conversation_pb.js';
import { describeEmoji } from './emoji.js';
import { detectLanguage } from './language.js';
import { type Language, LANGUAGE_MARKERS, SENTIMENT_LEXICONS } from './lexicon.js';
import { lexiconScores } from './lexicon-sentiment.js';
import { polarityScores } from './vader.js';

/** How one text reads: compound in -1..1, proportions in 0..1 adding up to 1. */
export interface SentimentScores {
  compound: number;
  positive: number;
  neutral: number;
  negative: number;
}

/** The scores and the language they were read in (signals are then read in the same language). */
export interface ScoredText extends SentimentScores {
  language: Language;
}

export interface Analyzer {
  /** Names the implementation in the evaluation output. */
  readonly name: string;
  score(text: string): Promise<ScoredText>;
  /** Scores in input order, in one pass (one round trip for a remote backend). */
  scoreBatch(texts: readonly string[]): Promise<ScoredText[]>;
}

/** |compound| below this reads as neutral (VADER's published convention). */
export const NEUTRAL_BAND = 0.05;

export function labelOf(compound: number): SentimentLabel {
  if (compound >= NEUTRAL_BAND) return SentimentLabel.POSITIVE;
  if (compound <= -NEUTRAL_BAND) return SentimentLabel.NEGATIVE;
  return SentimentLabel.NEUTRAL;
}

/**
 * The language detected per text (language.ts), then English read by VADER (Hutto & Gilbert 2014) as the
 * vader-sentiment package scores it (vader.ts: the same scores, its word splitting made linear, about nine times
 * the texts per second), with emoji read as their names; Spanish, French, German and Portuguese by their own word
 * lists (lexicon-sentiment.ts), and by VADER when none of their words is in the list.
 */
export function vaderAnalyzer(): Analyzer {
  const scoreNow = (text: string): ScoredText => {
    const language = detectLanguage(text);
    const lexicon = SENTIMENT_LEXICONS[language];
    const own = lexicon ? lexiconScores(text, lexicon) : null;
    if (own && own.compound !== 0) return { ...own, language };
    // A text with no word of its language's list may still say something VADER reads (emoji, emoticons, English),
    // once the language's own common words are out of the way (German "die" is not the English verb).
    const { compound, pos, neu, neg } = polarityScores(describeEmoji(lexicon ? withoutMarkers(text, language) : text));
    // VADER gives all zeros when no word is left to score (punctuation only): that text is wholly neutral.
    if (pos === 0 && neu === 0 && neg === 0) return { compound, positive: 0, neutral: 1, negative: 0, language };
    return { compound, positive: pos, neutral: neu, negative: neg, language };
  };
  return {
    name: 'vader-sentiment',
    score: async (text) => scoreNow(text),
    scoreBatch: async (texts) => texts.map(scoreNow),
  };
}

/** The text without the words that mark its language (they are that language's, not English words). */
function withoutMarkers(text: string, language: Language): string {
  return text
    .split(/\s+/)
    .filter((token) => !LANGUAGE_MARKERS.words.get(token.toLowerCase().replace(/[^\p{L}']/gu, ''))?.includes(language))
    .join(' ');
}
