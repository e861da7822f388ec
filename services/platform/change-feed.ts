// Live streams of changes (WatchStatus, WatchReviewCases), the one way. A watcher hears of a change two ways:
// - in process: whoever applies a change publishes a note to the feed right away;
// - by polling: while anyone listens, the feed reads what changed recently, once per pollMs, so changes applied by
//   another replica (or whose commit finished after the in-process note was read) still arrive.
// A note only says "this changed"; the watcher re-reads the record and sends it when its version is newer than the
// last one sent, so a change heard both ways is sent once, and changes landing while the client is still reading
// the previous message are coalesced into one.
import type { Logger } from './log.js';
import { type PeriodicTask, startPeriodic } from './periodic.js';

export interface FeedOptions {
  pollMs: number;
  /**
   * How far back each poll looks before the previous one started: covers commits that finish after the change was
   * stamped, and clock differences between replicas. Default: two polls and a second.
   */
  overlapMs?: number;
  log: Logger;
}

/** Where a record stands in the poll's order (change time, then id) and which version of it changed. */
export interface FeedPosition {
  at: Date;
  id: string;
  version: number;
}

/** What the poll reads: records changed at or after a position, in (at, id) order, and where each stands. */
export interface FeedSource<P> {
  changedSince(after: { at: Date; id: string }, limit: number): Promise<P[]>;
  positionOf(record: P): FeedPosition;
}

const POLL_PAGE = 500;

export class ChangeFeed<N, P = N> {
  private readonly listeners = new Set<(note: N) => void>();
  /** Versions the poll already announced, kept while they are inside the look-back. */
  private readonly polled = new Map<string, { version: number; at: Date }>();
  private poller: PeriodicTask | undefined;
  private lastPollStart = 0;
  private failing = false;

  constructor(
    /** Names the poll in logs ("status watch poll"). */
    private readonly name: string,
    private readonly source: FeedSource<P>,
    /** The note a polled record announces. */
    private readonly noteOf: (record: P) => N,
    private readonly options: FeedOptions,
  ) {}

  /** Watch streams listening now. */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Tells this replica's watchers that something changed. */
  publish(note: N): void {
    for (const listener of [...this.listeners]) listener(note);
  }

  /** Listens for notes; the returned function stops. Polling runs only while someone listens. */
  subscribe(listener: (note: N) => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.startPolling();
    return () => {
      if (this.listeners.delete(listener) && this.listeners.size === 0) this.stopPolling();
    };
  }

  private startPolling(): void {
    this.lastPollStart = Date.now();
    const { pollMs, log } = this.options;
    this.poller = startPeriodic({
      name: this.name,
      intervalMs: pollMs,
      startAfterMs: pollMs,
      log,
      run: async () => {
        // A store outage fails every poll: say so once, not every pollMs.
        try {
          await this.poll();
          this.failing = false;
        } catch (err) {
          if (!this.failing) log.warn({ err }, `${this.name} failed; will retry`);
          this.failing = true;
        }
      },
    });
  }

  private stopPolling(): void {
    // Nobody waits for a poll still running: it only announces notes, and nobody listens now.
    void this.poller?.stop();
    this.poller = undefined;
    this.polled.clear();
  }

  private async poll(): Promise<void> {
    const started = Date.now();
    const since = new Date(this.lastPollStart - (this.options.overlapMs ?? 2 * this.options.pollMs + 1_000));
    let after = { at: since, id: '' };
    for (;;) {
      const records = await this.source.changedSince(after, POLL_PAGE);
      for (const record of records) {
        const { id, version, at } = this.source.positionOf(record);
        if ((this.polled.get(id)?.version ?? -1) >= version) continue;
        this.polled.set(id, { version, at });
        this.publish(this.noteOf(record));
      }
      if (records.length < POLL_PAGE) break;
      const last = this.source.positionOf(records[records.length - 1]);
      after = { at: last.at, id: last.id };
    }
    this.lastPollStart = started;
    for (const [id, seen] of this.polled) if (seen.at < since) this.polled.delete(id);
  }
}

/** The ids a watcher was told about (by notes it cares for) since it last looked. */
export class Subscription<N> {
  private readonly pending = new Set<string>();
  private wake: (() => void) | undefined;
  private readonly stop: () => void;

  constructor(feed: Pick<ChangeFeed<N, unknown>, 'subscribe'>, idOf: (note: N) => string | undefined) {
    this.stop = feed.subscribe((note) => {
      const id = idOf(note);
      if (id === undefined) return;
      this.pending.add(id);
      this.wake?.();
    });
  }

  /** Waits for at least one id (or the signal), then hands over what arrived. */
  async next(signal: AbortSignal): Promise<string[]> {
    if (this.pending.size === 0 && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          this.wake = undefined;
          resolve();
        };
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
    const ids = [...this.pending];
    this.pending.clear();
    return ids;
  }

  close(): void {
    this.wake?.();
    this.stop();
  }
}

/**
 * A signal that aborts after ms, or when `parent` does. Not AbortSignal.timeout: its timer holds the signal only
 * weakly, and once combined with AbortSignal.any nothing else holds it, so on Node 20 a garbage collection can take
 * it before it fires and the wait it bounds never ends. Here the timer holds its controller; clear() stops it.
 */
export function deadline(parent: AbortSignal, ms: number): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('deadline reached', 'TimeoutError')), ms);
  timer.unref();
  return { signal: AbortSignal.any([parent, controller.signal]), clear: () => clearTimeout(timer) };
}
