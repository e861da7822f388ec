// The per-language data behind language identification, escalation signals and non-English sentiment: JSON files
// under lexicons/ (format in lexicons/README.md), read and compiled once at start. Changing what Pulse looks for
// in a language is an edit to its files, not to code. They are imported, so the compiler copies them next to the
// compiled code and a build runs on its own.
import { EscalationSignal } from '../../gen/pulse/common/v1/conversation_pb.js';
import deSentiment from './lexicons/de/sentiment.json' with { type: 'json' };
import deSignals from './lexicons/de/signals.json' with { type: 'json' };
import enSignals from './lexicons/en/signals.json' with { type: 'json' };
import esSentiment from './lexicons/es/sentiment.json' with { type: 'json' };
import esSignals from './lexicons/es/signals.json' with { type: 'json' };
import frSentiment from './lexicons/fr/sentiment.json' with { type: 'json' };
import frSignals from './lexicons/fr/signals.json' with { type: 'json' };
import languages from './lexicons/languages.json' with { type: 'json' };
import ptSentiment from './lexicons/pt/sentiment.json' with { type: 'json' };
import ptSignals from './lexicons/pt/signals.json' with { type: 'json' };

export const LANGUAGES = ['en', 'es', 'fr', 'de', 'pt'] as const;
export type Language = (typeof LANGUAGES)[number];
/** What a text with too little to tell is read as. */
export const DEFAULT_LANGUAGE: Language = 'en';


const ASCII = /^[\x00-\x7f]*$/;

/** Whether text is plain ASCII, as most messages are: cheaper patterns and no folding serve it. */
export function isAscii(text: string): boolean {
  return ASCII.test(text);
}

/** Lower case, accents folded; one UTF-16 unit for one, so offsets into the folded text are offsets into the text. */
export function foldText(text: string): string {
  // ASCII only needs lower case, which keeps its length.
  if (isAscii(text)) return text.toLowerCase();
  let out = '';
  for (let i = 0; i < text.length; i++) out += foldUnit(text[i]);
  return out;
}

const folded = new Map<string, string>();

function foldUnit(unit: string): string {
  if (unit < '\x80') return unit.toLowerCase();
  let f = folded.get(unit);
  if (f === undefined) {
    const candidate = unit.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
    const lower = unit.toLowerCase();
    // Typographic apostrophes become one kind; a unit that would fold into two (a ligature) keeps its place.
    f = /[\u2018\u2019\u02BC\u0060\u00B4]/.test(unit) ? "'" : candidate.length === 1 ? candidate : lower.length === 1 ? lower : unit;
    folded.set(unit, f);
  }
  return f;
}

// --- Escalation signals ---------------------------------------------------------------------------------------

interface RuleFile {
  signal: string;
  negatable: boolean;
  patterns: string[];
  /** A match that, in context, reports a settled matter (a thank-you for a refund received). */
  settled?: { before?: string[]; after?: string[]; unlessBefore?: string };
}

interface SignalFile {
  vocabulary?: Record<string, string>;
  negation: { before: string[]; after: string[]; boundary: string };
  rules: RuleFile[];
}

export interface SignalRule {
  signal: EscalationSignal;
  negatable: boolean;
  patterns: RegExp[];
  settledBefore: RegExp[];
  settledAfter: RegExp[];
  unsettledBefore: RegExp | null;
}

export interface SignalLexicon {
  rules: SignalRule[];
  /** Every pattern once, in rule order: a pattern's index is its id below. */
  patterns: RegExp[];
  /** A keyed pattern as a sticky one, tried only where one of its words starts; null for a pattern run on every text. */
  sticky: (RegExp | null)[];
  /**
   * Which patterns can match a text, by the first one to three letters of its words: a pattern that starts with a
   * word from a fixed list is keyed by those words' beginnings; one that starts otherwise is run on every text. Most
   * messages start few patterns' words, so most patterns are never run on them.
   */
  patternsByKey: Map<string, number[]>;
  /** Whether some pattern is run on every text (its `sticky` entry is null). */
  anyUnkeyed: boolean;
  /** Tested on the clause before a match (end-anchored) and after it (start-anchored): the speaker's own "no". */
  negatedBefore: RegExp[];
  negatedAfter: RegExp[];
  /** Clause boundaries: a negation never reaches across them. */
  boundary: RegExp;
}

/** Replaces each {NAME} with its vocabulary entry (entries may use earlier ones). */
function expand(source: string, vocabulary: Record<string, string>, where: string): string {
  return source.replace(/\{([A-Z][A-Z_]*)\}/g, (_, name: string) => {
    const value = vocabulary[name];
    if (value === undefined) throw new Error(`${where}: unknown vocabulary entry {${name}}`);
    return expand(value, vocabulary, where);
  });
}

function signalOf(name: string, where: string): EscalationSignal {
  const signal = EscalationSignal[name as keyof typeof EscalationSignal];
  if (signal === undefined || signal === EscalationSignal.UNSPECIFIED) throw new Error(`${where}: unknown signal "${name}"`);
  return signal;
}

function compileSignals(language: Language): SignalLexicon {
  const where = `lexicons/${language}/signals.json`;
  const file = FILES[language].signals;
  const vocabulary = file.vocabulary ?? {};
  // Unicode mode only where a pattern needs it (\u{...}, \p{...}): it makes every other pattern slower.
  const compile = (source: string, flags = '') => {
    const expanded = expand(source, vocabulary, where);
    return new RegExp(expanded, /\\[up]\{/.test(expanded) ? `${flags}u` : flags);
  };
  const rules = file.rules.map((rule) => ({
    signal: signalOf(rule.signal, where),
    negatable: rule.negatable,
    patterns: rule.patterns.map((p) => compile(p, 'g')),
    settledBefore: (rule.settled?.before ?? []).map((p) => compile(p)),
    settledAfter: (rule.settled?.after ?? []).map((p) => compile(p)),
    unsettledBefore: rule.settled?.unlessBefore ? compile(rule.settled.unlessBefore) : null,
  }));
  const patterns = rules.flatMap((r) => r.patterns);
  const patternsByKey = new Map<string, number[]>();
  const sticky = patterns.map((pattern, id) => {
    const keys = leadingKeys(pattern.source);
    if (!keys) return null;
    for (const key of keys) patternsByKey.set(key, [...(patternsByKey.get(key) ?? []), id]);
    return new RegExp(pattern.source, `${pattern.flags.replace('g', '')}y`);
  });
  return {
    rules,
    patterns,
    sticky,
    patternsByKey,
    anyUnkeyed: sticky.includes(null),
    negatedBefore: file.negation.before.map((p) => compile(p)),
    negatedAfter: file.negation.after.map((p) => compile(p)),
    boundary: compile(file.negation.boundary, 'g'),
  };
}

/** The longest key: a word's first three letters. */
export const KEY_LENGTH = 3;
/** Marks a key that is a whole short word ("=i"), not the beginning of longer ones. */
export const WHOLE = '=';
const WORD_CHAR = /[\p{L}\p{N}_]/u;
const DIGITS = [...'0123456789'];

/**
 * The keys of the words a pattern's match must start with (a word's first KEY_LENGTH letters, or a shorter
 * beginning, or a whole short word marked WHOLE), or null when that cannot be told from its source: it does not start at a word boundary, or starts
 * with something other than literal words (a class, an optional group, a lookahead). Reads the common shapes only;
 * anything else is null, which is always safe.
 */
function leadingKeys(source: string): Set<string> | null {
  const alternatives = splitTop(source);
  const keys = new Set<string>();
  for (const alt of alternatives) {
    const found = sequenceKeys(alt, false);
    if (!found) return null;
    for (const k of found) keys.add(k);
  }
  return keys;
}

/** Splits a source at its top-level "|". */
function splitTop(source: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inClass = false;
  let start = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      parts.push(source.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(source.slice(start));
  return parts;
}

/** The index just past the group opening at i. */
function groupEnd(source: string, i: number): number {
  let depth = 0;
  let inClass = false;
  for (let j = i; j < source.length; j++) {
    const c = source[j];
    if (c === '\\') j++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return j + 1;
  }
  return source.length;
}

const isOptional = (source: string, at: number) => source[at] === '?' || source[at] === '*' || source.startsWith('{0', at);

function sequenceKeys(source: string, anchored: boolean): Set<string> | null {
  let i = 0;
  for (;;) {
    if (source.startsWith('\\b', i) || source.startsWith('^', i)) {
      anchored = true;
      i += source[i] === '^' ? 1 : 2;
    } else if (source.startsWith('(?<!', i) || source.startsWith('(?<=', i)) {
      anchored = true;
      i = groupEnd(source, i);
    } else break;
  }
  if (!anchored) return null;
  if (source[i] === '(') {
    const end = groupEnd(source, i);
    if (source.startsWith('(?=', i) || source.startsWith('(?!', i) || isOptional(source, end)) return null;
    const inner = source.slice(source.startsWith('(?:', i) ? i + 3 : i + 1, end - 1);
    const keys = new Set<string>();
    for (const alt of splitTop(inner)) {
      const found = sequenceKeys(alt, true);
      if (!found) return null;
      for (const k of found) keys.add(k);
    }
    return keys;
  }
  if (source.startsWith('\\d', i) || /^\[\d-\d/.test(source.slice(i, i + 4))) {
    const end = source[i] === '[' ? source.indexOf(']', i) + 1 : i + 2;
    return isOptional(source, end) ? null : new Set(DIGITS);
  }
  let word = '';
  let j = i;
  for (; j < source.length && WORD_CHAR.test(source[j]) && word.length < KEY_LENGTH; j++) {
    if (isOptional(source, j + 1)) break;
    word += source[j];
  }
  if (!word) return null;
  // A short word that ends there ("i" in "(?:i|we)\s+") is that word only, not every word it begins.
  const wholeWord = word.length < KEY_LENGTH && (j === source.length || /^(?:\\[sb]|'| )/.test(source.slice(j, j + 2)));
  return new Set([wholeWord ? `${WHOLE}${word}` : word]);
}

// --- Sentiment of languages VADER does not read -------------------------------------------------------------------

interface SentimentFile {
  /** Word (accents optional) -> valence, -4..4 as in VADER's lexicon. */
  words: Record<string, number>;
  negators: string[];
  boosters: string[];
}

export interface SentimentLexicon {
  valence: Map<string, number>;
  negators: Set<string>;
  boosters: Set<string>;
}

function compileSentiment(language: Language): SentimentLexicon | null {
  const file = FILES[language].sentiment;
  if (!file) return null; // English: VADER's own lexicon
  return {
    valence: new Map(Object.entries(file.words).map(([word, v]) => [foldText(word), v])),
    negators: new Set(file.negators.map(foldText)),
    boosters: new Set(file.boosters.map(foldText)),
  };
}

// --- Language identification ------------------------------------------------------------------------------------

interface LanguageFile {
  /** Words common in the language's support messages (function words first); a word may belong to several. */
  words: string[];
  /** Letters only this language (of the five) writes often: each counts as much as a word. */
  letters: string;
}

export interface LanguageMarkers {
  /** Word (lower case, accents kept) -> the languages it marks. */
  words: Map<string, Language[]>;
  letters: Map<string, Language>;
}

function compileMarkers(): LanguageMarkers {
  const file = languages as Record<Language, LanguageFile>;
  const words = new Map<string, Language[]>();
  const letters = new Map<string, Language>();
  for (const language of LANGUAGES) {
    for (const word of file[language].words) words.set(word, [...(words.get(word) ?? []), language]);
    for (const letter of file[language].letters) letters.set(letter, language);
  }
  return { words, letters };
}

const FILES: Record<Language, { signals: SignalFile; sentiment: SentimentFile | null }> = {
  en: { signals: enSignals as SignalFile, sentiment: null },
  es: { signals: esSignals as SignalFile, sentiment: esSentiment },
  fr: { signals: frSignals as SignalFile, sentiment: frSentiment },
  de: { signals: deSignals as SignalFile, sentiment: deSentiment },
  pt: { signals: ptSignals as SignalFile, sentiment: ptSentiment },
};

export const SIGNAL_LEXICONS: Readonly<Record<Language, SignalLexicon>> = Object.fromEntries(
  LANGUAGES.map((l) => [l, compileSignals(l)]),
) as Record<Language, SignalLexicon>;

export const SENTIMENT_LEXICONS: Readonly<Record<Language, SentimentLexicon | null>> = Object.fromEntries(
  LANGUAGES.map((l) => [l, compileSentiment(l)]),
) as Record<Language, SentimentLexicon | null>;

export const LANGUAGE_MARKERS: LanguageMarkers = compileMarkers();
