import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { startPeriodic, type PeriodicTask } from './periodic.js';

const log = pino({ level: 'silent' });

/** A promise with its resolve, to hold a run open until the test lets it finish. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('startPeriodic', () => {
  let task: PeriodicTask | undefined;

  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(async () => {
    // A run may still wait on a fake timer: let it finish, then stop.
    const stopping = task?.stop();
    await vi.runAllTimersAsync();
    await stopping;
    vi.useRealTimers();
    task = undefined;
  });

  it('runs at once, then intervalMs after each run ends', async () => {
    const starts: number[] = [];
    task = startPeriodic({ name: 't', intervalMs: 1000, log, run: async () => void starts.push(Date.now()) });
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(2500);
    expect(starts.map((t) => t - t0)).toEqual([0, 1000, 2000]);
  });

  it('waits startAfterMs before the first run', async () => {
    const run = vi.fn(async () => undefined);
    task = startPeriodic({ name: 't', intervalMs: 1000, log, run, startAfterMs: 500 });
    await vi.advanceTimersByTimeAsync(499);
    expect(run).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('never overlaps runs: a slow run delays the next until intervalMs after it ends', async () => {
    let active = 0;
    let most = 0;
    const starts: number[] = [];
    const t0 = Date.now();
    task = startPeriodic({
      name: 't',
      intervalMs: 100,
      log,
      run: async () => {
        starts.push(Date.now() - t0);
        most = Math.max(most, ++active);
        await new Promise((resolve) => setTimeout(resolve, 350));
        active--;
      },
    });
    await vi.advanceTimersByTimeAsync(1000);
    expect(most).toBe(1);
    expect(starts).toEqual([0, 450, 900]);
  });

  it('wake brings the next run forward, and a wake during a run runs again right after it', async () => {
    const starts: number[] = [];
    const t0 = Date.now();
    const slow = gate();
    task = startPeriodic({
      name: 't',
      intervalMs: 10_000,
      log,
      run: async () => {
        starts.push(Date.now() - t0);
        if (starts.length === 2) await slow.promise;
      },
    });
    await vi.advanceTimersByTimeAsync(100);
    task.wake(new Date(t0 + 300));
    task.wake(new Date(t0 + 20_000)); // later than planned: ignored
    await vi.advanceTimersByTimeAsync(300);
    expect(starts).toEqual([0, 300]);
    task.wake(); // during the second run
    await vi.advanceTimersByTimeAsync(100);
    slow.open();
    await vi.advanceTimersByTimeAsync(0);
    expect(starts).toEqual([0, 300, 500]);
  });

  it('runs when a run asks to, if sooner than the interval', async () => {
    const starts: number[] = [];
    const t0 = Date.now();
    task = startPeriodic({
      name: 't',
      intervalMs: 10_000,
      log,
      run: async () => {
        starts.push(Date.now() - t0);
        return new Date(Date.now() + (starts.length === 1 ? 250 : 60_000));
      },
    });
    await vi.advanceTimersByTimeAsync(10_300);
    expect(starts).toEqual([0, 250, 10_250]);
  });

  it('logs a failed run by name and retries at the next interval', async () => {
    const warn = vi.fn();
    let calls = 0;
    task = startPeriodic({
      name: 'sla reminders',
      intervalMs: 1000,
      log: { warn } as unknown as typeof log,
      run: async () => {
        if (++calls === 1) throw new Error('store down');
      },
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ task: 'sla reminders' }), expect.stringContaining('sla reminders failed'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(2);
  });

  it('stop waits for the run in progress and plans no more', async () => {
    const slow = gate();
    let finished = false;
    let calls = 0;
    task = startPeriodic({
      name: 't',
      intervalMs: 100,
      log,
      run: async () => {
        calls++;
        await slow.promise;
        finished = true;
      },
    });
    await vi.advanceTimersByTimeAsync(0);
    let stopped = false;
    const stopping = task.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(50);
    expect(stopped).toBe(false);
    slow.open();
    await stopping;
    expect(finished).toBe(true);
    task.wake();
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(1);
  });
});
