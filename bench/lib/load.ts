// Load generators.
//
// openLoop: a fixed-rate schedule. Item i is due at start + i / rate, whatever happened to the items before it;
// each item's latency is measured from that due time, so a stalled system is charged for the wait of every item
// that should have been sent meanwhile (no coordinated omission). Items due at the same tick go out together
// when batching is on (a client collecting what arrived in the last few milliseconds); otherwise one call each.
//
// windowed: a closed loop bounded end to end, for the sustainable maximum: a new batch is sent only while fewer
// than `window` items are unfinished (submitted and not yet through the whole path), so the queues stay bounded
// and the completion rate settles at the rate of the slowest stage.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { epochMs, sleep } from './stats.js';

export interface Due {
  index: number;
  /** When the item was due (epoch ms). */
  dueAt: number;
}

export interface OpenLoopOptions {
  rate: number;
  durationMs: number;
  /** Most items per call (1: one call per item). */
  batchMax: number;
  /**
   * With batching: hold due items until this long after the previous call (or until batchMax are waiting), as a
   * client that buffers for a few milliseconds does. Their wait counts in their latency. Default 0: every tick.
   */
  flushEveryMs?: number;
  /** Starts the calls for these items; must not throw (count failures itself). */
  send(items: Due[]): void;
  /** First index. Default 0. */
  offset?: number;
}

export interface LoopReport {
  sent: number;
  /** Largest delay between an item's due time and its send (the generator's own lateness), ms. */
  maxSendLagMs: number;
  /** Event-loop delay of the load generator during the run, ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export async function openLoop(options: OpenLoopOptions): Promise<LoopReport> {
  const total = Math.max(1, Math.round((options.rate * options.durationMs) / 1000));
  const interval = 1000 / options.rate;
  const offset = options.offset ?? 0;
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const start = epochMs();
  const flushEvery = options.batchMax > 1 ? (options.flushEveryMs ?? 0) : 0;
  let next = 0;
  let maxLag = 0;
  let lastFlush = start;
  let held: Due[] = [];
  while (next < total || held.length > 0) {
    const now = epochMs();
    const due = Math.min(total, Math.floor((now - start) / interval) + 1);
    if (due > next) {
      maxLag = Math.max(maxLag, now - (start + next * interval));
      for (let i = next; i < due; i++) held.push({ index: offset + i, dueAt: start + i * interval });
      next = due;
    }
    if (held.length > 0 && (now - lastFlush >= flushEvery || held.length >= options.batchMax || next >= total)) {
      for (let i = 0; i < held.length; i += options.batchMax) options.send(held.slice(i, i + options.batchMax));
      held = [];
      lastFlush = now;
    }
    if (next >= total && held.length === 0) break;
    // Sleep until the next item is due or the held ones go (timers fire 1 ms late at best; a late tick sends
    // everything overdue).
    const wait = Math.min(start + next * interval, held.length > 0 ? lastFlush + flushEvery : Infinity) - epochMs();
    await sleep(Math.max(0, Math.min(wait, 5)));
  }
  delay.disable();
  return { sent: total, maxSendLagMs: maxLag, loopDelayP99Ms: delay.percentile(99) / 1e6, loopDelayMaxMs: delay.max / 1e6 };
}

export interface WindowedOptions {
  /** Most unfinished items at once. */
  window: number;
  batch: number;
  durationMs: number;
  /** Items finished so far (the caller counts completions). */
  finished(): number;
  /** Starts the call for these items; must not throw. */
  send(items: Due[]): void;
  offset?: number;
}

export async function windowed(options: WindowedOptions): Promise<LoopReport> {
  const offset = options.offset ?? 0;
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const end = epochMs() + options.durationMs;
  let sent = 0;
  while (epochMs() < end) {
    let room = options.window - (sent - options.finished());
    while (room >= options.batch) {
      const at = epochMs();
      const items: Due[] = [];
      for (let i = 0; i < options.batch; i++) items.push({ index: offset + sent + i, dueAt: at });
      sent += options.batch;
      room -= options.batch;
      options.send(items);
    }
    await sleep(2);
  }
  delay.disable();
  return { sent, maxSendLagMs: 0, loopDelayP99Ms: delay.percentile(99) / 1e6, loopDelayMaxMs: delay.max / 1e6 };
}
