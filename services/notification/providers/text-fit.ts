// Cutting text to a provider's limit without breaking a character: the cut falls between grapheme clusters, so a
// surrogate pair, an emoji sequence or a letter with its combining marks is kept whole or dropped whole.
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

const utf16Units = (text: string): number => text.length;

/** Collapses every run of whitespace (newlines included) to one space. */
export function normaliseWhitespace(text: string): string {
  return text.replace(/\s+/gu, ' ').trim();
}

/**
 * The text itself when its cost is within max, else its longest grapheme-aligned prefix that, with the ellipsis,
 * stays within max. The cost is additive per grapheme (UTF-16 units by default).
 */
export function fitText(text: string, max: number, cost: (text: string) => number = utf16Units, ellipsis = '...'): string {
  if (cost(text) <= max) return text;
  const budget = max - cost(ellipsis);
  let used = 0;
  let kept = '';
  for (const { segment } of graphemes.segment(text)) {
    const next = cost(segment);
    if (used + next > budget) break;
    used += next;
    kept += segment;
  }
  return `${kept.trimEnd()}${ellipsis}`;
}
