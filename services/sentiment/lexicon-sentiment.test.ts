import { describe, expect, it } from 'vitest';
import { SENTIMENT_LEXICONS } from './lexicon.js';
import { lexiconScores } from './lexicon-sentiment.js';

const es = SENTIMENT_LEXICONS.es!;
const de = SENTIMENT_LEXICONS.de!;

describe('lexiconScores', () => {
  it('reads pleased and sour messages of its language, accents or not', () => {
    expect(lexiconScores('Muchas gracias, el técnico fue muy amable', es).compound).toBeGreaterThan(0.5);
    expect(lexiconScores('Esto ya empieza a ser frustrante', es).compound).toBeLessThan(-0.3);
    expect(lexiconScores('Das ist ärgerlich', de).compound).toBe(lexiconScores('Das ist argerlich', de).compound);
  });

  it('flips a word a negator reaches, and strengthens a boosted one', () => {
    expect(lexiconScores('No me parece bien', es).compound).toBeLessThan(0);
    expect(lexiconScores('Nicht gut', de).compound).toBeLessThan(0);
    expect(lexiconScores('muy bueno', es).compound).toBeGreaterThan(lexiconScores('bueno', es).compound);
  });

  it('gives proportions adding up to one, and a neutral text with no word of the list', () => {
    const s = lexiconScores('Muchas gracias pero el pedido no ha llegado', es);
    expect(s.positive + s.neutral + s.negative).toBeCloseTo(1, 10);
    expect(lexiconScores('¿A qué hora abren?', es)).toEqual({ compound: 0, positive: 0, neutral: 1, negative: 0 });
  });
});
