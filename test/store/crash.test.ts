// kill -9 during concurrent transactions on the journalled embedded store: after each crash the journal must replay
// to the state of the last acknowledged commit, or of a later commit that was in flight (a prefix of the commit
// order), never anything else; the money is all there.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../services/platform/store/memory.js';
import { ACCOUNTS, type Account, type Acknowledged, type Counter, DATABASE, OPENING_BALANCE, WORKERS } from './fixtures/crash-ledger.js';

const CRASHES = 5;
const LOAD = join(import.meta.dirname, 'fixtures', 'crash-load.ts');
const dir = mkdtempSync(join(tmpdir(), 'pulse-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs the load until killed at a random point within 2 s of it starting work; returns what it acknowledged. For the
 * last part of the run this side stops reading, as a loaded reader does, so the pipe fills and acknowledgements back up.
 */
async function runAndKill(): Promise<Acknowledged[]> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', LOAD, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acknowledged: Acknowledged[] = [];
  // 'close', not 'exit': the lines still in the pipe when the process dies are read before it.
  const closed = new Promise((resolve) => child.once('close', resolve));
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', () => reject(new Error('the load process exited before it was killed')));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') resolve();
      else acknowledged.push(JSON.parse(line) as Acknowledged);
    });
  });
  await ready;
  await sleep(200 + Math.random() * 1_500);
  child.stdout!.pause();
  await sleep(Math.random() * 300);
  child.kill('SIGKILL');
  child.stdout!.resume();
  await closed;
  return acknowledged;
}

async function replayed(): Promise<Acknowledged> {
  const store = MemoryStore.withJournal(DATABASE, dir);
  try {
    const { n } = (await store.collection<Counter>('counters').findOne({ _id: 'commits' }))!;
    const accounts = await store.collection<Account>('accounts').find({}, { sort: { _id: 1 } });
    return { n, balances: Object.fromEntries(accounts.map((a) => [a._id, a.balance])) };
  } finally {
    await store.close();
  }
}

describe('journalled embedded store through kill -9', () => {
  it(`replays to a prefix of the commit order that holds every acknowledged commit, ${CRASHES} crashes in a row`, { timeout: 60_000 }, async () => {
    let total = 0;
    let inFlight = 0; // the most commits found durable beyond the newest acknowledged one
    let last: Acknowledged = { n: 0, balances: {} };
    for (let crash = 0; crash < CRASHES; crash++) {
      const acknowledged = await runAndKill();
      const state = await replayed();
      const newest = acknowledged.reduce((max, a) => (a.n > max.n ? a : max), last);
      // Nothing acknowledged is lost; beyond it, at most the commits of the workers in flight.
      expect(state.n).toBeGreaterThanOrEqual(newest.n);
      expect(state.n).toBeLessThanOrEqual(newest.n + WORKERS);
      const same = acknowledged.find((a) => a.n === state.n) ?? (state.n === last.n ? last : undefined);
      if (same) expect(state.balances).toEqual(same.balances);
      expect(Object.keys(state.balances)).toHaveLength(ACCOUNTS);
      expect(Object.values(state.balances).reduce((sum, b) => sum + b, 0)).toBe(ACCOUNTS * OPENING_BALANCE);
      expect(Object.values(state.balances).every((b) => b >= 0)).toBe(true);
      total += acknowledged.length;
      inFlight = Math.max(inFlight, state.n - newest.n);
      last = state;
    }
    expect(total).toBeGreaterThan(50);
    console.info(`crash test: ${total} acknowledged commits across ${CRASHES} kills; last commit ${last.n}; at most ${inFlight} durable but unacknowledged at a kill`);
  });
});
