import v8 from 'node:v8';
import vm from 'node:vm';
import { Code, ConnectError } from '@connectrpc/connect';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChangeNote } from './statuses.js';
import { StatusFeed, watchNotification, type WatchDeps, watchUser } from './watch.js';

const log = pino({ level: 'silent' });

describe('StatusFeed', () => {
  let stored: ChangeNote[];
  let polls: number;
  /** While set, a poll waits for it: a poll in flight. */
  let held: Promise<void> | undefined;
  let feed: StatusFeed;
  const note = (id: string, revision: number): ChangeNote => ({ notificationId: id, userIds: ['ann'], revision, changedAt: new Date() });

  beforeEach(() => {
    vi.useFakeTimers();
    stored = [];
    polls = 0;
    held = undefined;
    feed = new StatusFeed(
      {
        changedSince: async () => {
          polls++;
          await held;
          return stored;
        },
      },
      { pollMs: 100, overlapMs: 1_000, log },
    );
  });

  afterEach(() => vi.useRealTimers());

  it('announces each revision found by its poll once, besides what is published in process', async () => {
    const heard: string[] = [];
    const stop = feed.subscribe((n) => heard.push(`${n.notificationId}@${n.revision}`));
    feed.publish(note('a', 1));
    stored = [note('a', 1)];
    await vi.advanceTimersByTimeAsync(100);
    await vi.advanceTimersByTimeAsync(100);
    stored = [note('a', 2), note('b', 1)];
    await vi.advanceTimersByTimeAsync(100);
    expect(heard).toEqual(['a@1', 'a@1', 'a@2', 'b@1']);
    stop();
  });

  it('polls only while someone listens, with one polling chain however often watchers come and go', async () => {
    const stop = feed.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(250);
    expect(polls).toBe(2);
    stop();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(polls).toBe(2);

    // The last watcher leaves while a poll is in flight, and a new one comes before it finishes.
    let release = () => {};
    held = new Promise((resolve) => (release = resolve));
    const during = feed.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(100);
    expect(polls).toBe(3);
    during();
    const again = feed.subscribe(() => {});
    release();
    held = undefined;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(polls).toBe(13);
    again();
    expect(feed.listenerCount).toBe(0);
  });
});

describe('watch deadlines', () => {
  // Forces garbage collections: the deadlines must fire even when nothing but their timers refers to them.
  v8.setFlagsFromString('--expose-gc');
  const exposed: unknown = vm.runInNewContext('typeof gc === "function" ? gc : undefined');
  const gc = typeof exposed === 'function' ? (exposed as () => void) : () => {};
  const feed = () => new StatusFeed({ changedSince: async () => [] }, { pollMs: 60_000, overlapMs: 0, log });
  const collectWhile = <T>(work: Promise<T>): Promise<T> => {
    const collector = setInterval(gc, 20);
    return work.finally(() => clearInterval(collector));
  };

  it('answers not_found once the grace for an unknown notification is over, garbage collections or not', async () => {
    const deps: WatchDeps = { statuses: { get: async () => null, recentForUser: async () => [] }, feed: feed(), maxMs: 60_000, graceMs: 200 };
    const started = Date.now();
    const outcome = await collectWhile(
      Promise.race([
        (async () => {
          for await (const _ of watchNotification(deps, 'ntf_unknown', new AbortController().signal)) return 'a status';
          return 'ended';
        })().catch((err: unknown) => (err instanceof ConnectError ? Code[err.code] : String(err))),
        new Promise((resolve) => setTimeout(() => resolve('still waiting after 3 s'), 3_000)),
      ]),
    );
    expect(outcome).toBe('NotFound');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it("ends a user's stream at the maximum duration, garbage collections or not", async () => {
    const deps: WatchDeps = { statuses: { get: async () => null, recentForUser: async () => [] }, feed: feed(), maxMs: 200, graceMs: 10_000 };
    const outcome = await collectWhile(
      Promise.race([
        (async () => {
          for await (const _ of watchUser(deps, 'ann', new AbortController().signal)) return 'a status';
          return 'ended';
        })(),
        new Promise((resolve) => setTimeout(() => resolve('still open after 3 s'), 3_000)),
      ]),
    );
    expect(outcome).toBe('ended');
  });
});
