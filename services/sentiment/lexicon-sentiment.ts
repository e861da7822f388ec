// Sentiment of a language VADER has no lexicon for, from that language's word list (lexicons/<language>/
// sentiment.json) read VADER's way: a word's valence is flipped and damped by a negator among the three words before
// it, raised by a booster just before it, and the sum is normalised into -1..1 as VADER's compound is. Smaller than
// VADER (no idioms, capitals or "but" shifts), enough to tell a sour message from a pleased one. Plain function.
import type { SentimentScores } from './analyzer.js';
import { foldText, type SentimentLexicon } from './lexicon.js';

/** VADER's constants: negation damping, booster increment, normalisation alpha. */
const NEGATION_SCALAR = -0.74;
const BOOST = 0.293;
const ALPHA = 15;

const WORD = /[\p{L}']+/gu;

export function lexiconScores(text: string, lexicon: SentimentLexicon): SentimentScores {
  const words = foldText(text).match(WORD) ?? [];
  let sum = 0;
  let positive = 0;
  let negative = 0;
  let neutral = 0;
  words.forEach((word, i) => {
    let valence = lexicon.valence.get(word);
    if (valence === undefined) {
      neutral += 1;
      return;
    }
    if (i > 0 && lexicon.boosters.has(words[i - 1])) valence += valence > 0 ? BOOST : -BOOST;
    for (let back = 1; back <= 3 && i - back >= 0; back++) {
      if (lexicon.negators.has(words[i - back])) {
        valence *= NEGATION_SCALAR;
        break;
      }
    }
    sum += valence;
    if (valence > 0) positive += valence + 1;
    else negative += 1 - valence;
  });
  const exclamations = Math.min((text.match(/!/g) ?? []).length, 4) * 0.292;
  if (sum !== 0) sum += sum > 0 ? exclamations : -exclamations;
  const compound = sum / Math.sqrt(sum * sum + ALPHA);
  const total = positive + negative + neutral;
  if (total === 0) return { compound: 0, positive: 0, neutral: 1, negative: 0 };
  return { compound, positive: positive / total, neutral: neutral / total, negative: negative / total };
}
