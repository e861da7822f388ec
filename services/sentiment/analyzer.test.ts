import { describe, expect, it } from 'vitest';
import { SentimentLabel } from '../../gen/pulse/common/v1/conversation_pb.js';
import { labelOf, vaderAnalyzer } from './analyzer.js';

const analyzer = vaderAnalyzer();
const compound = async (text: string) => (await analyzer.score(text)).compound;

describe('labelOf', () => {
  it('reads |compound| < 0.05 as neutral and the band edges as polar', () => {
    expect(labelOf(0)).toBe(SentimentLabel.NEUTRAL);
    expect(labelOf(0.0499)).toBe(SentimentLabel.NEUTRAL);
    expect(labelOf(-0.0499)).toBe(SentimentLabel.NEUTRAL);
    expect(labelOf(0.05)).toBe(SentimentLabel.POSITIVE);
    expect(labelOf(-0.05)).toBe(SentimentLabel.NEGATIVE);
    expect(labelOf(1)).toBe(SentimentLabel.POSITIVE);
    expect(labelOf(-1)).toBe(SentimentLabel.NEGATIVE);
  });
});

describe('vader analyzer', () => {
  it('scores plainly positive and negative support messages with the right sign', async () => {
    expect(await compound('Thanks so much, the new dashboard is great and support was super helpful!')).toBeGreaterThan(0.5);
    expect(await compound('This is the worst service I have ever had, absolutely terrible.')).toBeLessThan(-0.5);
    expect(Math.abs(await compound('The invoice for March is attached.'))).toBeLessThan(0.05);
  });

  it('flips negated words', async () => {
    expect(await compound('The app is good')).toBeGreaterThan(0);
    expect(await compound('The app is not good')).toBeLessThan(0);
    expect(await compound("The update isn't bad at all")).toBeGreaterThan(0);
  });

  it('strengthens intensified, capitalised and exclaimed words', async () => {
    const plain = await compound('The support was good');
    expect(await compound('The support was very good')).toBeGreaterThan(plain);
    expect(await compound('The support was GOOD')).toBeGreaterThan(plain);
    expect(await compound('The support was good!!!')).toBeGreaterThan(plain);
  });

  it('weighs the clause after "but" more', async () => {
    expect(await compound('The agent was friendly but the product is terrible')).toBeLessThan(0);
    expect(await compound('The product is terrible but the agent was friendly')).toBeGreaterThan(
      await compound('The agent was friendly but the product is terrible'),
    );
  });

  it('reads emoticons', async () => {
    expect(await compound('ok :)')).toBeGreaterThan(await compound('ok'));
    expect(await compound('ok :(')).toBeLessThan(await compound('ok'));
  });

  it('reads emoji through their names', async () => {
    expect(await compound('😡')).toBeLessThan(0);
    expect(await compound('😂😂')).toBeGreaterThan(0);
    expect(await compound('my package arrived 😍')).toBeGreaterThan(await compound('my package arrived'));
    expect(await compound('my package arrived 😭')).toBeLessThan(await compound('my package arrived'));
  });

  it('gives proportions that add up to one, also for text with nothing to score', async () => {
    for (const text of ['I love it', 'I hate it', 'The invoice is attached', '?!', '...']) {
      const s = await analyzer.score(text);
      expect(s.positive + s.neutral + s.negative).toBeCloseTo(1, 2);
      expect(s.compound).toBeGreaterThanOrEqual(-1);
      expect(s.compound).toBeLessThanOrEqual(1);
    }
    expect(await analyzer.score('?!')).toEqual({ compound: 0, positive: 0, neutral: 1, negative: 0, language: 'en' });
  });

  it('scores a batch in input order, exactly as one by one', async () => {
    const texts = ['great', 'awful', 'fine I guess', 'no', 'I love this 😍', 'refund me now!!!'];
    const batch = await analyzer.scoreBatch(texts);
    expect(batch).toHaveLength(texts.length);
    for (const [i, text] of texts.entries()) expect(batch[i]).toEqual(await analyzer.score(text));
  });
});
