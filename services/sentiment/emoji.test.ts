import { describe, expect, it } from 'vitest';
import { describeEmoji } from './emoji.js';

describe('describeEmoji', () => {
  it('leaves text without emoji as it is', () => {
    const text = 'Plain text, with punctuation! And ünïcödé ★ symbols.';
    expect(describeEmoji(text)).toBe(text);
  });

  it('replaces emoji with their CLDR names, spaced from neighbouring words', () => {
    expect(describeEmoji('thanks😂')).toBe('thanks face with tears of joy');
    expect(describeEmoji('😡😡 now')).toBe('enraged face enraged face now');
    expect(describeEmoji('late again 👎!')).toBe('late again thumbs down !');
  });

  it('drops the presentation selectors and skin tones riding on an emoji', () => {
    expect(describeEmoji('love it ❤️')).toBe('love it red heart');
    expect(describeEmoji('👍🏽 done')).toBe('thumbs up done');
  });

  it('keeps emoji it has no name for', () => {
    expect(describeEmoji('🦄 day')).toBe('🦄 day');
  });
});
