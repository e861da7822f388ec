// VADER (Hutto & Gilbert 2014), as the vader-sentiment package (vaderSentiment-js 1.1.3, Copyright 2018 Comcast
// Cable Communications Management, LLC, Apache License 2.0) computes it, ported to TypeScript with one change:
// how a text is split into words.
//
// The package strips leading and trailing punctuation from each token by first building, for every punctuation
// mark of its list (17) and every word of the text, the strings "mark+word" and "word+mark" in a dictionary, then
// looking each token up in it: about seventy percent of its time goes to building that dictionary. Here a token
// is looked at directly: its leading (or else trailing) run of punctuation marks, and whether that run is one of
// the marks and the rest a word of the text. Since words hold no punctuation at all, a token can only match with
// its whole run, at one end, so both ways give the same words, and so the same scores: the tests check every
// score against the package itself. Everything else follows the package line by line (its quirks included).
// Its lexicon is read from the package's own vader_lexicon.txt.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const B_INCR = 0.293;
const B_DECR = -0.293;
const C_INCR = 0.733;
const N_SCALAR = -0.74;
const REGEX_REMOVE_PUNCTUATION = /[!"#$%&'()*+,-./:;<=>?@[\\\]^_`{|}~]/g;
const PUNC_LIST = ['.', '!', '?', ',', ';', ':', '-', "'", '"', '!!', '!!!', '??', '???', '?!?', '!?!', '?!?!', '!?!?'];
const PUNCTUATION = new Set(PUNC_LIST);
/** The characters the marks are made of. */
const MARK_CHARS = new Set(PUNC_LIST.join(''));

const NEGATE = new Set([
  'aint', 'arent', 'cannot', 'cant', 'couldnt', 'darent', 'didnt', 'doesnt', "ain't", "aren't", "can't", "couldn't", "daren't",
  "didn't", "doesn't", 'dont', 'hadnt', 'hasnt', 'havent', 'isnt', 'mightnt', 'mustnt', 'neither', "don't", "hadn't", "hasn't",
  "haven't", "isn't", "mightn't", "mustn't", 'neednt', "needn't", 'never', 'none', 'nope', 'nor', 'not', 'nothing', 'nowhere',
  'oughtnt', 'shant', 'shouldnt', 'uhuh', 'wasnt', 'werent', "oughtn't", "shan't", "shouldn't", 'uh-uh', "wasn't", "weren't",
  'without', 'wont', 'wouldnt', "won't", "wouldn't", 'rarely', 'seldom', 'despite',
]);

const BOOSTER_DICT = new Map<string, number>([
  ...[
    'absolutely', 'amazingly', 'awfully', 'completely', 'considerably', 'decidedly', 'deeply', 'effing', 'enormously', 'entirely',
    'especially', 'exceptionally', 'extremely', 'fabulously', 'flipping', 'flippin', 'fricking', 'frickin', 'frigging', 'friggin',
    'fully', 'fucking', 'greatly', 'hella', 'highly', 'hugely', 'incredibly', 'intensely', 'majorly', 'more', 'most', 'particularly',
    'purely', 'quite', 'really', 'remarkably', 'so', 'substantially', 'thoroughly', 'totally', 'tremendously', 'uber', 'unbelievably',
    'unusually', 'utterly', 'very',
  ].map((word) => [word, B_INCR] as const),
  ...[
    'almost', 'barely', 'hardly', 'just enough', 'kind of', 'kinda', 'kindof', 'kind-of', 'less', 'little', 'marginally', 'occasionally',
    'partly', 'scarcely', 'slightly', 'somewhat', 'sort of', 'sorta', 'sortof', 'sort-of',
  ].map((word) => [word, B_DECR] as const),
]);

const SPECIAL_CASE_IDIOMS = new Map<string, number>([
  ['the shit', 3],
  ['the bomb', 3],
  ['bad ass', 1.5],
  ['yeah right', -2],
  ['cut the mustard', 2],
  ['kiss of death', -1.5],
  ['hand to mouth', -2],
]);

function readLexicon(): Map<string, number> {
  const dir = dirname(createRequire(import.meta.url).resolve('vader-sentiment/package.json'));
  const lexicon = new Map<string, number>();
  for (const line of readFileSync(join(dir, 'vader_lexicon.txt'), 'utf8').split('\n')) {
    const [token, mean] = line.split('\t');
    if (token && mean !== undefined) lexicon.set(token, Number(mean));
  }
  return lexicon;
}

const LEXICON = readLexicon();

export interface Polarity {
  neg: number;
  neu: number;
  pos: number;
  compound: number;
}

function negated(word: string): boolean {
  // The package's negated() of a one-word list: a negation word, or any word with "n't".
  return NEGATE.has(word) || word.includes("n't");
}

function normalize(score: number, alpha = 15): number {
  const norm = score / Math.sqrt(score * score + alpha);
  return norm < -1 ? -1 : norm > 1 ? 1 : norm;
}

/** Python's str.isupper(): some upper-case letter and no lower-case one. */
function isUpper(word: string): boolean {
  return word.length > 0 && /^[^a-z]*[A-Z]+[^a-z]*$/.test(word);
}

function allcapDifferential(words: readonly string[]): boolean {
  let allcap = 0;
  for (const word of words) if (isUpper(word)) allcap++;
  const differential = words.length - allcap;
  return differential > 0 && differential < words.length;
}

function scalarIncDec(word: string, valence: number, isCapDiff: boolean): number {
  const booster = BOOSTER_DICT.get(word.toLowerCase());
  if (booster === undefined) return 0;
  let scalar = valence < 0 ? -booster : booster;
  if (isCapDiff && isUpper(word)) scalar += valence > 0 ? C_INCR : -C_INCR;
  return scalar;
}

/** The text's tokens (length > 1) with one leading or trailing punctuation mark taken off those that are words. */
export function wordsAndEmoticons(text: string): string[] {
  const words = new Set(
    text
      .replace(REGEX_REMOVE_PUNCTUATION, '')
      .split(/\s/)
      .filter((word) => word.length > 1),
  );
  const tokens = text.split(/\s/).filter((token) => token.length > 1);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    let lead = 0;
    while (lead < token.length && MARK_CHARS.has(token[lead])) lead++;
    if (lead > 0) {
      if (lead < token.length && PUNCTUATION.has(token.slice(0, lead)) && words.has(token.slice(lead))) tokens[i] = token.slice(lead);
      continue;
    }
    let end = token.length;
    while (end > 0 && MARK_CHARS.has(token[end - 1])) end--;
    if (end < token.length && end > 0 && PUNCTUATION.has(token.slice(end)) && words.has(token.slice(0, end))) tokens[i] = token.slice(0, end);
  }
  return tokens;
}

function neverCheck(valence: number, words: readonly string[], startI: number, index: number): number {
  if (startI === 0 && negated(words[index - 1])) valence *= N_SCALAR;
  if (startI === 1) {
    if (words[index - 2] === 'never' && (words[index - 1] === 'so' || words[index - 1] === 'this')) valence *= 1.5;
    else if (negated(words[index - (startI + 1)])) valence *= N_SCALAR;
  }
  if (startI === 2) {
    if (
      (words[index - 3] === 'never' && (words[index - 2] === 'so' || words[index - 2] === 'this')) ||
      words[index - 1] === 'so' ||
      words[index - 1] === 'this'
    ) {
      valence *= 1.25;
    } else if (negated(words[index - (startI + 1)])) {
      valence *= N_SCALAR;
    }
  }
  return valence;
}

function idiomsCheck(valence: number, words: readonly string[], index: number): number {
  const onezero = `${words[index - 1]} ${words[index]}`;
  const twoonezero = `${words[index - 2]} ${words[index - 1]} ${words[index]}`;
  const twoone = `${words[index - 2]} ${words[index - 1]}`;
  const threetwoone = `${words[index - 3]} ${words[index - 2]} ${words[index - 1]}`;
  const threetwo = `${words[index - 3]} ${words[index - 2]}`;
  for (const sequence of [onezero, twoonezero, twoone, threetwoone, threetwo]) {
    const idiom = SPECIAL_CASE_IDIOMS.get(sequence);
    if (idiom !== undefined) {
      valence = idiom;
      break;
    }
  }
  if (words.length - 1 > index) valence = SPECIAL_CASE_IDIOMS.get(`${words[index]} ${words[index + 1]}`) ?? valence;
  if (words.length - 1 > index + 1) valence = SPECIAL_CASE_IDIOMS.get(`${words[index]} ${words[index + 1]} ${words[index + 2]}`) ?? valence;
  if (BOOSTER_DICT.has(threetwo) || BOOSTER_DICT.has(twoone)) valence += B_DECR;
  return valence;
}

function leastCheck(valence: number, words: readonly string[], index: number): number {
  if (index > 1 && words[index - 1].toLowerCase() === 'least' && !LEXICON.has(words[index - 1].toLowerCase())) {
    const before = words[index - 2].toLowerCase();
    if (before !== 'at' && before !== 'very') valence *= N_SCALAR;
  } else if (index > 0 && words[index - 1].toLowerCase() === 'least' && !LEXICON.has(words[index - 1].toLowerCase())) {
    valence *= N_SCALAR;
  }
  return valence;
}

function sentimentValence(item: string, index: number, words: readonly string[], isCapDiff: boolean): number {
  let valence = LEXICON.get(item.toLowerCase());
  if (valence === undefined) return 0;
  if (isUpper(item) && isCapDiff) valence += valence > 0 ? C_INCR : -C_INCR;
  for (let startI = 0; startI < 3; startI++) {
    if (index > startI && !LEXICON.has(words[index - (startI + 1)].toLowerCase())) {
      let s = scalarIncDec(words[index - (startI + 1)], valence, isCapDiff);
      if (startI === 1 && s !== 0) s *= 0.95;
      else if (startI === 2 && s !== 0) s *= 0.9;
      valence += s;
      valence = neverCheck(valence, words, startI, index);
      if (startI === 2) valence = idiomsCheck(valence, words, index);
    }
  }
  return leastCheck(valence, words, index);
}

function butCheck(words: readonly string[], sentiments: number[]): void {
  let but = words.indexOf('but');
  if (but === -1) but = words.indexOf('BUT');
  if (but === -1) return;
  for (let i = 0; i < sentiments.length; i++) {
    if (i < but) sentiments[i] *= 0.5;
    else if (i > but) sentiments[i] *= 1.5;
  }
}

function punctuationEmphasis(text: string): number {
  let ep = 0;
  let qm = 0;
  for (const char of text) {
    if (char === '!') ep++;
    else if (char === '?') qm++;
  }
  const epAmplifier = Math.min(ep, 4) * 0.292;
  const qmAmplifier = qm > 1 ? (qm <= 3 ? qm * 0.18 : 0.96) : 0;
  return epAmplifier + qmAmplifier;
}

function scoreValence(sentiments: readonly number[], text: string): Polarity {
  if (sentiments.length === 0) return { neg: 0, neu: 0, pos: 0, compound: 0 };
  let sum = 0;
  for (const s of sentiments) sum += s;
  const emphasis = punctuationEmphasis(text);
  if (sum > 0) sum += emphasis;
  else if (sum < 0) sum -= emphasis;
  const compound = normalize(sum);
  let posSum = 0;
  let negSum = 0;
  let neuCount = 0;
  for (const s of sentiments) {
    if (s > 0) posSum += s + 1;
    else if (s < 0) negSum += s - 1;
    else neuCount += 1;
  }
  if (posSum > Math.abs(negSum)) posSum += emphasis;
  else if (posSum < Math.abs(negSum)) negSum -= emphasis;
  const total = posSum + Math.abs(negSum) + neuCount;
  return {
    neg: Number.parseFloat(Math.abs(negSum / total).toFixed(3)),
    neu: Number.parseFloat(Math.abs(neuCount / total).toFixed(3)),
    pos: Number.parseFloat(Math.abs(posSum / total).toFixed(3)),
    compound: Number.parseFloat(compound.toFixed(4)),
  };
}

/** SentimentIntensityAnalyzer.polarity_scores of vader-sentiment, the same scores, several times faster. */
export function polarityScores(text: string): Polarity {
  const words = wordsAndEmoticons(text);
  const isCapDiff = allcapDifferential(words);
  const sentiments: number[] = [];
  for (let i = 0; i < words.length; i++) {
    const item = words[i];
    const lower = item.toLowerCase();
    if ((i < words.length - 1 && lower === 'kind' && words[i + 1].toLowerCase() === 'of') || BOOSTER_DICT.has(lower)) {
      sentiments.push(0);
      continue;
    }
    sentiments.push(sentimentValence(item, i, words, isCapDiff));
  }
  butCheck(words, sentiments);
  return scoreValence(sentiments, text);
}
