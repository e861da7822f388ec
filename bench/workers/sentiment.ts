// Scenario 6, in a process of its own (one thread, so one core): the sentiment analyzer as the service uses it,
// texts per second one at a time (score: language detection and sentiment) and in batches of 500 (scoreBatch),
// alone and with the escalation signals the consumer also finds for every message, in its language. Prints one
// JSON line.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SentimentIntensityAnalyzer } from 'vader-sentiment';
import { vaderAnalyzer } from '../../services/sentiment/analyzer.js';
import { findSignals } from '../../services/sentiment/signals.js';
import { AMISS_TEXTS, CALM_TEXTS } from '../lib/workload.js';

const minMs = Number(process.argv[2] ?? 3_000);
const dataDir = process.env.PULSE_SENTIMENT_DATA ?? join(import.meta.dirname, '../../../shared/data/sentiment');

/** The human-rated corpus of the sentiment evaluation when present (tweets, reviews), else the bench's own texts. */
function corpus(): { texts: string[]; source: string } {
  if (existsSync(dataDir)) {
    const texts: string[] = [];
    for (const file of readdirSync(dataDir).filter((f) => f.endsWith('.txt')).sort()) {
      for (const line of readFileSync(join(dataDir, file), 'latin1').split(/\r?\n/)) {
        const [, , ...rest] = line.split('\t');
        if (rest.length > 0 && rest.join('\t').trim()) texts.push(rest.join('\t'));
      }
    }
    if (texts.length > 0) return { texts, source: `${dataDir} (${texts.length} texts)` };
  }
  return { texts: [...CALM_TEXTS, ...AMISS_TEXTS], source: 'bench/lib/workload.ts texts' };
}

/** Texts per second of wall time, and per second of this thread's CPU time (less sensitive to other load). */
async function rate(texts: string[], run: (texts: string[]) => Promise<void>): Promise<{ wall: number; cpu: number }> {
  await run(texts.slice(0, 500)); // JIT and the lexicon's lazy setup out of the measurement
  let scored = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - start < minMs) {
    await run(texts);
    scored += texts.length;
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    wall: Math.round((scored / (performance.now() - start)) * 1000),
    cpu: Math.round((scored / ((cpu.user + cpu.system) / 1000)) * 1000),
  };
}

const analyzer = vaderAnalyzer();
const { texts, source } = corpus();
const batches = (list: string[]) => Array.from({ length: Math.ceil(list.length / 500) }, (_, i) => list.slice(i * 500, i * 500 + 500));
const single = await rate(texts, async (list) => {
  for (const text of list) await analyzer.score(text);
});
const batch = await rate(texts, async (list) => {
  for (const chunk of batches(list)) await analyzer.scoreBatch(chunk);
});
const withSignals = await rate(texts, async (list) => {
  for (const text of list) {
    const scored = await analyzer.score(text);
    findSignals(text, scored.language);
  }
});
// The vader-sentiment package itself, as the analyzer used it before vader.ts: the reference for the speed-up.
const pkg = await rate(texts, async (list) => {
  for (const text of list) SentimentIntensityAnalyzer.polarity_scores(text);
});
const averageChars = Math.round(texts.reduce((n, t) => n + t.length, 0) / texts.length);
process.stdout.write(
  `${JSON.stringify({ source, texts: texts.length, averageChars, single: single.wall, batch: batch.wall, withSignals: withSignals.wall, vaderPackage: pkg.wall, perCpuSecond: { single: single.cpu, batch: batch.cpu, withSignals: withSignals.cpu, vaderPackage: pkg.cpu } })}\n`,
);
