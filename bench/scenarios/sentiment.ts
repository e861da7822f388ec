// Scenario 6: the sentiment analyzer alone, texts per second on one core (a child process: one thread).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Context } from '../lib/context.js';
import { ROOT } from '../lib/mesh.js';
import { waitQuiet } from '../lib/procstat.js';
import { log, table } from '../lib/report.js';

const run = promisify(execFile);

export interface SentimentResult {
  source: string;
  texts: number;
  averageChars: number;
  /** texts/s, one score() call each */
  single: number;
  /** texts/s, scoreBatch() of 500 */
  batch: number;
  /** texts/s, score() (language and sentiment) plus findSignals(), as the consumer does per message */
  withSignals: number;
  /** texts/s of the vader-sentiment package's polarity_scores (what the analyzer called before vader.ts). */
  vaderPackage: number;
  /** The same per second of the worker's own CPU time. */
  perCpuSecond: { single: number; batch: number; withSignals: number; vaderPackage: number };
}

export async function runSentiment(ctx: Context): Promise<SentimentResult> {
  await waitQuiet(() => [process.pid], 0.25, ctx.profile.quietMaxWaitMs);
  log('sentiment: analyzer throughput on one core');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/workers/sentiment.ts', String(ctx.profile.sentiment.minMs)], { cwd: ROOT });
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as SentimentResult;
  process.stdout.write(
    table(
      `Scenario 6 - sentiment analyzer on one core (${result.source}, ${result.averageChars} chars on average)`,
      ['mode', 'texts/s (wall)', 'texts per CPU second'],
      [
        ['score(), one text per call', result.single, result.perCpuSecond.single],
        ['scoreBatch(), 500 per call', result.batch, result.perCpuSecond.batch],
        ['score() + findSignals() (the consumer\'s work per message)', result.withSignals, result.perCpuSecond.withSignals],
        ['vader-sentiment package polarity_scores() (before vader.ts)', result.vaderPackage, result.perCpuSecond.vaderPackage],
      ],
    ) + '\n',
  );
  return result;
}
