// The ported VADER must score exactly as the vader-sentiment package does: every text of the human-rated corpus
// (when the shared data is there), the analyzer's own examples, and a few thousand generated texts that lean on
// the parts a port could get wrong (punctuation around words, emoticons, capitals, boosters, negations, "but",
// idioms, "least", "kind of", question and exclamation marks, Unicode spaces).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SentimentIntensityAnalyzer } from 'vader-sentiment';
import { describe, expect, it } from 'vitest';
import { polarityScores, wordsAndEmoticons } from './vader.js';

const CORPUS = join(import.meta.dirname, '../../../shared/data/sentiment');

function corpus(): string[] {
  if (!existsSync(CORPUS)) return [];
  return readdirSync(CORPUS)
    .filter((f) => f.endsWith('.txt'))
    .flatMap((f) =>
      readFileSync(join(CORPUS, f), 'latin1')
        .split(/\r?\n/)
        .map((line) => line.split('\t').slice(2).join('\t'))
        .filter(Boolean),
    );
}

function generated(n: number): string[] {
  let x = 12_345;
  const next = () => (x = (x * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)];
  const words = [
    'good', 'bad', 'great', 'terrible', 'love', 'hate', 'happy', 'sad', 'awful', 'nice', 'refund', 'cancel', 'help', 'slow', 'fine',
    'okay', 'worst', 'best', 'angry', 'thanks', 'the', 'a', 'it', 'was', 'is', 'service', 'product', 'support', 'i', 'you', 'we',
    'very', 'really', 'extremely', 'slightly', 'barely', 'kind', 'of', 'sort', 'not', "isn't", "don't", 'never', 'so', 'this',
    'without', 'least', 'at', 'but', 'BUT', 'the shit', 'the bomb', 'yeah right', 'bad ass', 'cut the mustard', 'kiss of death',
    'GREAT', 'TERRIBLE', 'LOVE', 'uh-uh', 'kinda', 'no', 'nope', 'nothing', 'wow', 'lol', 'wtf', ':)', ':(', ':-D', '<3', ';)',
    ':-/', 'D:', 'xD', ':p', '(:', "can't", 'won\'t', 'ok', 'yay', 'meh',
  ];
  const marks = ['', '', '', '.', '!', '?', ',', ';', ':', '-', "'", '"', '!!', '!!!', '??', '???', '?!?', '!?!', '?!?!', '!?!?', '!!!!', '(', ')', '...'];
  const spaces = [' ', ' ', ' ', ' ', '  ', '\t', '\u00a0', '\n'];
  const texts: string[] = [];
  for (let i = 0; i < n; i++) {
    const length = 1 + Math.floor(next() * 18);
    let text = '';
    for (let j = 0; j < length; j++) {
      const word = pick(words);
      const roll = next();
      const token = roll < 0.15 ? `${pick(marks)}${word}` : roll < 0.4 ? `${word}${pick(marks)}` : roll < 0.45 ? `${pick(marks)}${word}${pick(marks)}` : word;
      text += (j > 0 ? pick(spaces) : '') + token;
    }
    texts.push(text);
  }
  return texts;
}

describe('the ported VADER', () => {
  it('scores exactly as vader-sentiment does', () => {
    const texts = [
      ...corpus(),
      ...generated(4_000),
      '',
      ' ',
      '!!!',
      'a',
      'I am furious, I want my money back and I will cancel today!',
      'Thanks, that helps a lot. Have a nice day!',
      'It was GOOD, but not GREAT!!!',
      'kind of good',
      'at least it works',
      'very least bad',
      "don't,love !!this!!",
      '__proto__ constructor! !toString hasOwnProperty',
    ];
    let differences = 0;
    for (const text of texts) {
      const expected = SentimentIntensityAnalyzer.polarity_scores(text);
      const actual = polarityScores(text);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        differences++;
        expect({ text, actual }).toEqual({ text, actual: expected });
      }
    }
    expect(differences).toBe(0);
  });

  it('takes one punctuation mark off a word, not off a token that is no word of the text', () => {
    expect(wordsAndEmoticons('Hello, world!! (fine) !!wow!! ?!?!ok :) a')).toEqual(['Hello', 'world', '(fine)', '!!wow!!', 'ok', ':)']);
  });
});
