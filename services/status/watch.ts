// WatchStatus: streams of status changes. Two ways a watcher hears of a change:
// - in process: whoever applies a change here publishes a note to the feed right away;
// - by polling: while anyone watches, the feed reads the notifications changed recently, once per pollMs, so changes
//   applied by another replica (or whose commit finished after the in-process note was read) still arrive.
// A note only says "notification X changed"; the watcher re-reads the status and sends it when its revision is newer
// than the last one sent, so a change heard both ways is sent once, and changes landing while the client is still
// reading the previous message are coalesced into one message carrying the latest status.
import type { Logger } from '../platform/log.js';
import { type PeriodicTask, startPeriodic } from '../platform/periodic.js';
import { notFound } from '../platform/errors.js';
import { type ChangeNote, type StatusRepository, settled, type StatusView } from './statuses.js';

export interface FeedOptions {
  pollMs: number;
  /**
   * How far back each poll looks before the previous one started: covers commits that finish after the change was
   * stamped, and clock differences between replicas.
   */
  overlapMs: number;
  log: Logger;
}

const POLL_PAGE = 500;

export class StatusFeed {
  private readonly listeners = new Set<(note: ChangeNote) => void>();
  /** Revisions the poll already announced, kept while they are inside the look-back. */
  private readonly polled = new Map<string, { revision: number; changedAt: Date }>();
  private poller: PeriodicTask | undefined;
  private lastPollStart = 0;
  private failing = false;

  constructor(
    private readonly source: Pick<StatusRepository, 'changedSince'>,
    private readonly options: FeedOptions,
  ) {}

  /** Watch streams listening now. */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Tells this replica's watchers that a notification changed. */
  publish(note: ChangeNote): void {
    for (const listener of [...this.listeners]) listener(note);
  }

  /** Listens for notes; the returned function stops. Polling runs only while someone listens. */
  subscribe(listener: (note: ChangeNote) => void): () => void {
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
      name: 'status watch poll',
      intervalMs: pollMs,
      startAfterMs: pollMs,
      log,
      run: async () => {
        // A store outage fails every poll: say so once, not every pollMs.
        try {
          await this.poll();
          this.failing = false;
        } catch (err) {
          if (!this.failing) log.warn({ err }, 'status watch poll failed; will retry');
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
    const since = new Date(this.lastPollStart - this.options.overlapMs);
    let position = { changedAt: since, id: '' };
    for (;;) {
      const notes = await this.source.changedSince(position, POLL_PAGE);
      for (const note of notes) {
        if ((this.polled.get(note.notificationId)?.revision ?? -1) >= note.revision) continue;
        this.polled.set(note.notificationId, { revision: note.revision, changedAt: note.changedAt });
        this.publish(note);
      }
      if (notes.length < POLL_PAGE) break;
      const last = notes[notes.length - 1];
      position = { changedAt: last.changedAt, id: last.notificationId };
    }
    this.lastPollStart = started;
    for (const [id, seen] of this.polled) if (seen.changedAt < since) this.polled.delete(id);
  }
}

/** The notification ids a watcher was told about since it last looked. */
class Subscription {
  private readonly pending = new Set<string>();
  private wake: (() => void) | undefined;
  private readonly stop: () => void;

  constructor(feed: StatusFeed, match: (note: ChangeNote) => boolean) {
    this.stop = feed.subscribe((note) => {
      if (!match(note)) return;
      this.pending.add(note.notificationId);
      this.wake?.();
    });
  }

  /** Waits for at least one note (or the signal), then hands over what arrived. */
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

export interface WatchDeps {
  statuses: Pick<StatusRepository, 'get' | 'recentForUser'>;
  feed: StatusFeed;
  /** Longest a stream stays open; the client may reconnect. */
  maxMs: number;
  /** How long a watch of a notification status has not heard of yet waits for it before not_found. */
  graceMs: number;
}

/** How far back a user's stream looks for notifications in flight, and how many of those it starts with. */
const USER_SCAN = 500;
const USER_BACKLOG = 100;
/** A user's stream forgets what it sent this long ago; repeated notes only come within the feed's look-back. */
const SENT_MEMORY_MS = 60_000;

/**
 * A signal that aborts after ms, or when `parent` does. Not AbortSignal.timeout: its timer holds the signal only
 * weakly, and once combined with AbortSignal.any nothing else holds it, so on Node 20 a garbage collection can take
 * it before it fires and the wait it bounds never ends. Here the timer holds its controller; clear() stops it.
 */
function deadline(parent: AbortSignal, ms: number): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('deadline reached', 'TimeoutError')), ms);
  timer.unref();
  return { signal: AbortSignal.any([parent, controller.signal]), clear: () => clearTimeout(timer) };
}

/** The notification's status now, then after each change, until it is settled, the client leaves or maxMs passes. */
export async function* watchNotification(deps: WatchDeps, notificationId: string, clientSignal: AbortSignal): AsyncGenerator<StatusView> {
  const max = deadline(clientSignal, deps.maxMs);
  const signal = max.signal;
  // Subscribe before the first read, so a change between the two is not missed.
  const subscription = new Subscription(deps.feed, (note) => note.notificationId === notificationId);
  try {
    let view = await deps.statuses.get(notificationId);
    // Status hears of a notification a few milliseconds after SendNotification returns: give it a moment.
    const grace = deadline(signal, deps.graceMs);
    try {
      while (!view && !grace.signal.aborted) {
        await subscription.next(grace.signal);
        view = await deps.statuses.get(notificationId);
      }
    } finally {
      grace.clear();
    }
    if (!view) {
      if (signal.aborted) return;
      throw notFound(`no status for notification "${notificationId}"`);
    }
    yield view;
    while (!settled(view) && !signal.aborted) {
      await subscription.next(signal);
      const next = await deps.statuses.get(notificationId);
      if (next && next.notification.revision > view.notification.revision) {
        view = next;
        yield view;
      }
    }
  } finally {
    max.clear();
    subscription.close();
  }
}

/** The user's in-flight notifications now, then every change of any of their notifications, until the client leaves or maxMs passes. */
export async function* watchUser(deps: WatchDeps, userId: string, clientSignal: AbortSignal): AsyncGenerator<StatusView> {
  const max = deadline(clientSignal, deps.maxMs);
  const signal = max.signal;
  const subscription = new Subscription(deps.feed, (note) => note.userIds.includes(userId));
  const sent = new Map<string, { revision: number; at: number }>();
  try {
    const recent = await deps.statuses.recentForUser(userId, USER_SCAN);
    // Every revision read counts as sent, settled ones included, so a change made before the stream started is not
    // announced again when the feed's look-back finds it.
    for (const view of recent) sent.set(view.notification._id, { revision: view.notification.revision, at: Date.now() });
    const inFlight = recent.filter((view) => !settled(view)).slice(0, USER_BACKLOG).reverse();
    for (const view of inFlight) yield view;
    while (!signal.aborted) {
      for (const id of await subscription.next(signal)) {
        const view = await deps.statuses.get(id);
        if (!view || view.notification.revision <= (sent.get(id)?.revision ?? -1)) continue;
        sent.set(id, { revision: view.notification.revision, at: Date.now() });
        yield view;
      }
      for (const [id, entry] of sent) if (entry.at < Date.now() - SENT_MEMORY_MS) sent.delete(id);
    }
  } finally {
    max.clear();
    subscription.close();
  }
}
