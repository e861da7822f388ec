// WatchStatus: streams of status changes, on the platform's change feed (platform/change-feed.ts): the handlers
// that apply a change publish its note, and the feed's poll finds changes applied by other replicas.
import { ChangeFeed, deadline, type FeedOptions, Subscription } from '../platform/change-feed.js';
import { notFound } from '../platform/errors.js';
import { type ChangeNote, type StatusRepository, settled, type StatusView } from './statuses.js';

/** Notes of changed notifications. */
export class StatusFeed extends ChangeFeed<ChangeNote> {
  constructor(source: Pick<StatusRepository, 'changedSince'>, options: FeedOptions) {
    super(
      'status watch poll',
      {
        changedSince: (after, limit) => source.changedSince({ changedAt: after.at, id: after.id }, limit),
        positionOf: (note) => ({ at: note.changedAt, id: note.notificationId, version: note.revision }),
      },
      (note) => note,
      options,
    );
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

/** The notification's status now, then after each change, until it is settled, the client leaves or maxMs passes. */
export async function* watchNotification(deps: WatchDeps, notificationId: string, clientSignal: AbortSignal): AsyncGenerator<StatusView> {
  const max = deadline(clientSignal, deps.maxMs);
  const signal = max.signal;
  // Subscribe before the first read, so a change between the two is not missed.
  const subscription = new Subscription(deps.feed, (note: ChangeNote) => (note.notificationId === notificationId ? note.notificationId : undefined));
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
  const subscription = new Subscription(deps.feed, (note: ChangeNote) => (note.userIds.includes(userId) ? note.notificationId : undefined));
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
