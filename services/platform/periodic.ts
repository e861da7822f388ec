// Periodic background work (reminder sweeps, the outbox poller, watch polling, schedulers), the one way: a run at a
// time, the next planned when one ends, failures logged and retried at the next interval, timers that never keep
// the process alive, and a stop that waits for the run in progress so shutdown never cuts one in half.
import type { Logger } from './log.js';

export interface PeriodicTask {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
  /** Runs again at `at` (default: now) if that is sooner than the next planned run. */
  wake(at?: Date): void;
}

export interface PeriodicOptions {
  /** Names the task in logs. */
  name: string;
  intervalMs: number;
  /** One run; may return when it wants to run next, if sooner than intervalMs after it ends. */
  run: () => Promise<Date | void>;
  log: Logger;
  /** Delay before the first run; by default it runs at once. */
  startAfterMs?: number;
}

/** setTimeout's longest delay; a later plan is re-planned when this fires. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * Runs `run` every intervalMs (never two runs at once; the next is planned when one ends; a run may return the
 * Date it wants to run next if sooner). A failed run is logged (by name) and retried at the next interval.
 * Timers are unref'd. Starts at once unless `startAfterMs` is given.
 */
export function startPeriodic(options: PeriodicOptions): PeriodicTask {
  const { name, intervalMs, run, log } = options;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let plannedAt = Infinity;
  let running: Promise<void> | undefined;
  /** The soonest wake() asked for while a run was in progress. */
  let wokenFor = Infinity;

  function plan(at: number): void {
    if (stopped) return;
    clearTimeout(timer);
    plannedAt = at;
    timer = setTimeout(fire, Math.min(MAX_DELAY_MS, Math.max(0, at - Date.now())));
    timer.unref();
  }

  function fire(): void {
    timer = undefined;
    if (plannedAt > Date.now()) return plan(plannedAt);
    plannedAt = Infinity;
    running = runOnce().finally(() => (running = undefined));
  }

  async function runOnce(): Promise<void> {
    let wanted = Infinity;
    try {
      const next = await run();
      if (next instanceof Date) wanted = next.getTime();
    } catch (err) {
      log.warn({ err, task: name }, `${name} failed; retrying in ${intervalMs} ms`);
    }
    const next = Math.min(Date.now() + intervalMs, wanted, wokenFor);
    wokenFor = Infinity;
    plan(next);
  }

  plan(Date.now() + (options.startAfterMs ?? 0));

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
    wake(at = new Date()) {
      if (stopped) return;
      const ms = at.getTime();
      if (running) wokenFor = Math.min(wokenFor, ms);
      else if (ms < plannedAt) plan(ms);
    },
  };
}
