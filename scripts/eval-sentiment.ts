// Measures how well the sentiment analyzer agrees with people, and how fast it is.
//
//   npm run eval:sentiment          (PULSE_SENTIMENT_DATA=<dir> to read another copy of the data)
//
// Reads the human-rated texts in ../shared/data/sentiment (Hutto & Gilbert 2014: `id<TAB>mean<TAB>text`, Latin-1,
// CRLF, mean of 20 raters on -4..4) and prints, per file: the Pearson correlation of the compound score with the
// human mean, the 3-class agreement (neutral band |x| <= 0.05 of the normalised human mean, |compound| < 0.05 for
// the analyzer), and the analyzer's throughput on one thread. Exits 1 when a file misses its target.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SentimentLabel } from '../gen/pulse/common/v1/conversation_pb.js';
import { type Analyzer, labelOf, NEUTRAL_BAND, vaderAnalyzer } from '../services/sentiment/analyzer.js';

/** The issue's targets; the published VADER figures are 0.881 and 0.57, a single human rater 0.888. */
const TARGETS: Record<string, number> = {
  'tweets_GroundTruth.txt': 0.87,
  'amazonReviewSnippets_GroundTruth.txt': 0.55,
};
const HUMAN_SCALE = 4;
const BATCH = 500;
/** Throughput runs repeat the corpus until at least this long, so the figure is not timer noise. */
const MIN_TIMING_MS = 1_000;

interface Rated {
  mean: number;
  text: string;
}

function readRated(path: string): Rated[] {
  const rows: Rated[] = [];
  for (const line of readFileSync(path, 'latin1').split(/\r?\n/)) {
    const [id, mean, ...rest] = line.split('\t');
    const value = Number(mean);
    if (!id || rest.length === 0 || mean === undefined || mean.trim() === '' || !Number.isFinite(value)) continue;
    rows.push({ mean: value, text: rest.join('\t') });
  }
  return rows;
}

function pearson(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - mx;
    const dy = ys[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

function humanLabel(mean: number): SentimentLabel {
  const normalised = mean / HUMAN_SCALE;
  if (normalised > NEUTRAL_BAND) return SentimentLabel.POSITIVE;
  if (normalised < -NEUTRAL_BAND) return SentimentLabel.NEGATIVE;
  return SentimentLabel.NEUTRAL;
}

/** Texts per second, repeating the run until MIN_TIMING_MS has passed. */
async function throughput(texts: string[], run: (texts: string[]) => Promise<unknown>): Promise<number> {
  await run(texts.slice(0, 200)); // warm-up: JIT and lazy lexicon setup out of the measurement
  let scored = 0;
  const start = process.hrtime.bigint();
  let elapsedMs = 0;
  while (elapsedMs < MIN_TIMING_MS) {
    await run(texts);
    scored += texts.length;
    elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (scored / elapsedMs) * 1000;
}

async function oneByOne(analyzer: Analyzer, texts: string[]): Promise<void> {
  for (const text of texts) await analyzer.score(text);
}

async function inBatches(analyzer: Analyzer, texts: string[]): Promise<void> {
  for (let i = 0; i < texts.length; i += BATCH) await analyzer.scoreBatch(texts.slice(i, i + BATCH));
}

const pad = (value: string, width: number) => value.padEnd(width);
const fixed = (value: number, digits = 3) => value.toFixed(digits);
const rate = (value: number) => Math.round(value).toLocaleString('en-US');

async function main(): Promise<void> {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const dir = resolve(process.env.PULSE_SENTIMENT_DATA ?? join(here, '..', '..', 'shared', 'data', 'sentiment'));
  if (!existsSync(dir)) throw new Error(`no sentiment data at ${dir}; set PULSE_SENTIMENT_DATA to the folder of rated texts`);
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.txt'))
    .sort()
    .map((name) => ({ name, rows: readRated(join(dir, name)) }))
    .filter((file) => file.rows.length > 0);
  if (files.length === 0) throw new Error(`no rated texts (id<TAB>mean<TAB>text) in ${dir}`);

  const analyzer = vaderAnalyzer();
  console.log(`Sentiment evaluation of ${analyzer.name} against human ratings in ${dir}\n`);
  const header = ['data set', 'texts', 'pearson r', 'target', '3-class agreement', 'result'];
  const widths = [38, 7, 11, 8, 19, 6];
  console.log(header.map((h, i) => pad(h, widths[i])).join('').trimEnd());

  let missed = 0;
  const allTexts: string[] = [];
  for (const { name, rows } of files) {
    const texts = rows.map((r) => r.text);
    allTexts.push(...texts);
    const scores = await analyzer.scoreBatch(texts);
    const compounds = scores.map((s) => s.compound);
    const r = pearson(
      compounds,
      rows.map((row) => row.mean),
    );
    const agree = rows.filter((row, i) => humanLabel(row.mean) === labelOf(compounds[i])).length / rows.length;
    const target = TARGETS[name];
    const ok = target === undefined || r >= target;
    if (!ok) missed++;
    const cells = [basename(name), String(rows.length), fixed(r), target === undefined ? '-' : fixed(target, 2), `${fixed(agree * 100, 1)}%`, ok ? 'ok' : 'MISSED'];
    console.log(cells.map((c, i) => pad(c, widths[i])).join('').trimEnd());
  }

  const single = await throughput(allTexts, (texts) => oneByOne(analyzer, texts));
  const batched = await throughput(allTexts, (texts) => inBatches(analyzer, texts));
  console.log(`\nThroughput on one core (one thread, ${allTexts.length} texts, Node ${process.versions.node}):`);
  console.log(`  ${pad('one text per call', 28)}${rate(single)} texts/s`);
  console.log(`  ${pad(`batches of ${BATCH}`, 28)}${rate(batched)} texts/s`);
  if (missed > 0) {
    console.error(`\n${missed} data set(s) below target`);
    process.exitCode = 1;
  }
}

try {
  await main();
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
}
