// Escalation signals: what support people look for in a customer's words, whatever the overall tone. "I have been
// waiting three weeks for my refund, this is the last time I'm asking" scores neutral and is still urgent.
//
// Each language's signals are phrase rules over the folded text (lexicons/<language>/signals.json). A match counts
// unless the customer negates their own intent ("I don't want to cancel", "no need to escalate", "refund not
// needed"); a negation only reaches as far as its clause, and one about what the company did ("you won't refund
// me", "I never got my refund") is a complaint, not a negation. Each signal found keeps the words that triggered
// it, with their offsets in the text as written. Plain functions, no I/O.
import type { EscalationSignal } from '../../gen/pulse/common/v1/conversation_pb.js';
import { foldText, isAscii, KEY_LENGTH, type Language, SIGNAL_LEXICONS, type SignalLexicon, type SignalRule, WHOLE } from './lexicon.js';

/** One signal and the words behind it: text.slice(start, end), offsets in UTF-16 code units. */
export interface SignalMatch {
  signal: EscalationSignal;
  start: number;
  end: number;
}

/** Lower case, accents folded, one kind of apostrophe, one length: what the rules are written against. */
export function normaliseForSignals(text: string): string {
  return foldText(text).replace(/[^\S\n]/g, ' ');
}

function clauseStarts(text: string, boundary: RegExp): number[] {
  const starts = [0];
  for (const m of matches(boundary, text)) starts.push(m.index + m[0].length);
  return starts;
}

/**
 * The matches of a global pattern, as String.matchAll gives them but without the copy of the pattern it makes per
 * call (which, for every pattern of every message, cost more than the matching). Resets the pattern before and after.
 */
function* matches(pattern: RegExp, text: string): Generator<RegExpExecArray> {
  pattern.lastIndex = 0;
  try {
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      yield m;
      if (m[0].length === 0) pattern.lastIndex++;
    }
  } finally {
    pattern.lastIndex = 0;
  }
}

/** Characters before a match that negation can reach: comfortably more than the ten or so words the rules read. */
const WINDOW = 160;

/**
 * The end of the clause before a match, as the negation rules read it. A long clause is cut at a word boundary and
 * marked, so "^" in a rule still means the start of the clause and a cut word is never read as a whole one. This
 * keeps a long text without punctuation linear.
 */
function lookback(clause: string): string {
  if (clause.length <= WINDOW) return clause;
  const tail = clause.slice(-WINDOW);
  return `\u2026 ${tail.slice(tail.indexOf(' ') + 1)}`;
}

function isNegated(lexicon: SignalLexicon, prefix: string, suffix: string): boolean {
  return lexicon.negatedBefore.some((r) => r.test(prefix)) || lexicon.negatedAfter.some((r) => r.test(suffix));
}

function isSettled(rule: SignalRule, prefix: string, suffix: string): boolean {
  const settled = rule.settledBefore.some((r) => r.test(prefix)) || rule.settledAfter.some((r) => r.test(suffix));
  return settled && !rule.unsettledBefore?.test(prefix);
}

const ASCII_WORD = /[a-z0-9_]+/g;
const WORD = /[\p{L}\p{N}_]+/gu;

/**
 * Where each keyed pattern can match: the starts of the text's words that begin as the pattern's first words do,
 * in text order, by pattern id. Patterns run on every text are not in it.
 */
function candidateStarts(lexicon: SignalLexicon, normalised: string): Map<number, number[]> {
  const starts = new Map<number, number[]>();
  const mark = (key: string, at: number) => {
    const ids = lexicon.patternsByKey.get(key);
    if (!ids) return;
    for (const id of ids) {
      const list = starts.get(id);
      if (!list) starts.set(id, [at]);
      else if (list[list.length - 1] !== at) list.push(at);
    }
  };
  // The folded text is mostly ASCII; the Unicode-aware word pattern costs several times more.
  const word = isAscii(normalised) ? ASCII_WORD : WORD;
  word.lastIndex = 0;
  for (let m = word.exec(normalised); m !== null; m = word.exec(normalised)) {
    const w = m[0];
    for (let n = 1; n <= KEY_LENGTH && n <= w.length; n++) mark(w.slice(0, n), m.index);
    if (w.length < KEY_LENGTH) mark(WHOLE + w, m.index);
  }
  word.lastIndex = 0;
  return starts;
}

/** The escalation signals in a text read as the given language: the first match of each, in enum order. */
export function findSignals(text: string, language: Language): SignalMatch[] {
  const lexicon = SIGNAL_LEXICONS[language];
  const normalised = normaliseForSignals(text);
  const candidates = candidateStarts(lexicon, normalised);
  if (candidates.size === 0 && !lexicon.anyUnkeyed) return [];
  let starts: number[] | null = null; // read when a pattern first matches: most texts never need it
  /** Whether a match counts: not negated by the customer, not a settled matter. */
  const counts = (rule: SignalRule, match: RegExpExecArray): boolean => {
    const at = match.index;
    const end = at + match[0].length;
    starts ??= clauseStarts(normalised, lexicon.boundary);
    const clauseStart = starts.reduce((best, s) => (s <= at && s > best ? s : best), 0);
    const nextBoundary = starts.find((s) => s > end);
    const prefix = lookback(normalised.slice(clauseStart, at).trim());
    const suffix = normalised.slice(end, nextBoundary);
    return !(rule.negatable && isNegated(lexicon, prefix, suffix)) && !isSettled(rule, prefix, suffix);
  };
  const found: SignalMatch[] = [];
  let id = 0;
  for (const rule of lexicon.rules) {
    const first = id;
    id += rule.patterns.length;
    if (found.some((m) => m.signal === rule.signal)) continue;
    const match = firstCounted(lexicon, rule, first, normalised, candidates, counts);
    if (match) found.push({ signal: rule.signal, start: match.index, end: match.index + match[0].length });
  }
  return found.sort((a, b) => a.signal - b.signal);
}

/** The first match of a rule's patterns (ids from `first`) that counts, trying each pattern in order. */
function firstCounted(
  lexicon: SignalLexicon,
  rule: SignalRule,
  first: number,
  normalised: string,
  candidates: Map<number, number[]>,
  counts: (rule: SignalRule, match: RegExpExecArray) => boolean,
): RegExpExecArray | null {
  for (let id = first; id < first + rule.patterns.length; id++) {
    const sticky = lexicon.sticky[id];
    if (sticky) {
      for (const at of candidates.get(id) ?? []) {
        sticky.lastIndex = at;
        const m = sticky.exec(normalised);
        if (m && counts(rule, m)) return m;
      }
      continue;
    }
    for (const m of matches(lexicon.patterns[id], normalised)) if (counts(rule, m)) return m;
  }
  return null;
}

/** The escalation signals in a text, in enum order, each once. */
export function detectSignals(text: string, language: Language): EscalationSignal[] {
  return findSignals(text, language).map((m) => m.signal);
}
