// WatchReviewCases: a live review queue, on the platform's change feed (platform/change-feed.ts), as WatchStatus:
// the handlers that claim and resolve a case announce it right away, and the feed's poll finds cases opened by the
// analysis consumer and changes made by another replica.
import { type ReviewState, Severity } from '../../gen/pulse/common/v1/review_pb.js';
import { ChangeFeed, deadline, type FeedOptions, Subscription } from '../platform/change-feed.js';
import type { CaseDoc, CaseRepository } from './cases.js';

/** Ids of changed cases. */
export class CaseFeed extends ChangeFeed<string, CaseDoc> {
  constructor(source: Pick<CaseRepository, 'updatedSince'>, options: FeedOptions) {
    super(
      'review watch poll',
      {
        changedSince: (after, limit) => source.updatedSince({ updatedAt: after.at, id: after.id }, limit),
        positionOf: (doc) => ({ at: doc.updatedAt, id: doc._id, version: doc.version }),
      },
      (doc) => doc._id,
      options,
    );
  }
}

export interface CaseFilter {
  state: ReviewState;
  assignee: string;
}

export function matchesFilter(doc: Pick<CaseDoc, 'state' | 'assignee'>, filter: CaseFilter): boolean {
  return (!filter.state || doc.state === filter.state) && (!filter.assignee || doc.assignee === filter.assignee);
}

export type CaseWatchEvent = { kind: 'case'; doc: CaseDoc; matches: boolean } | { kind: 'snapshot-complete' };

export interface CaseWatchDeps {
  cases: Pick<CaseRepository, 'get' | 'list'>;
  feed: CaseFeed;
  /** Longest a stream stays open; the client may reconnect. */
  maxMs: number;
}

/** How many cases the snapshot holds at most. */
export const SNAPSHOT_LIMIT = 500;

/** The matching cases now, the end of the snapshot, then each change, until the client leaves or maxMs passes. */
export async function* watchCases(deps: CaseWatchDeps, filter: CaseFilter, clientSignal: AbortSignal): AsyncGenerator<CaseWatchEvent> {
  const max = deadline(clientSignal, deps.maxMs);
  const signal = max.signal;
  // Subscribe before the snapshot, so a change between the two is not missed.
  const subscription = new Subscription(deps.feed, (caseId: string) => caseId);
  /** The version sent of each case the client holds. */
  const sent = new Map<string, number>();
  try {
    const snapshot = await deps.cases.list({ ...filter, severity: Severity.UNSPECIFIED }, { pageSize: SNAPSHOT_LIMIT, pageToken: '' });
    for (const doc of snapshot.items) {
      sent.set(doc._id, doc.version);
      yield { kind: 'case', doc, matches: true };
    }
    yield { kind: 'snapshot-complete' };
    while (!signal.aborted) {
      for (const id of await subscription.next(signal)) {
        const doc = await deps.cases.get(id);
        if (!doc || doc.version <= (sent.get(id) ?? -1)) continue;
        const matches = matchesFilter(doc, filter);
        if (!matches && !sent.has(id)) continue;
        if (matches) sent.set(id, doc.version);
        else sent.delete(id);
        yield { kind: 'case', doc, matches };
      }
    }
  } finally {
    max.clear();
    subscription.close();
  }
}
