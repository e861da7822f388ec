// The dead_letters collection: one record per delivery that failed for good (permanent failure, attempts used up,
// outcome unknown). Written in the same unit of work as the delivery's move to FAILED / DEAD_LETTERED, so there is
// exactly one per failure; a replay marks it replayed_at and a later failure of the same delivery makes a new one.
// Kept for the history retention after the failure (common/history.ts), as long as the delivery at the least.
import type { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { PURGE_INDEX, retentionEnd } from '../common/history.js';
import type { Doc, Filter, Store, TxScope } from '../platform/store/collection.js';

export interface DeadLetterDoc extends Doc {
  deliveryId: string;
  notificationId: string;
  channel: Channel;
  priority: Priority;
  /** Never an address or message text. */
  reason: string;
  attempts: number;
  provider: string;
  failedAt: Date;
  replayedAt: Date | null;
  /** When the store removes it. Set by the repository. */
  purgeAt?: Date;
}

export interface DeadLetterQuery {
  channel?: Channel;
  /** Case-insensitive substring of the reason. */
  reason?: string;
  since?: Date;
  until?: Date;
  ids?: readonly string[];
  includeReplayed: boolean;
}

/** Position after the last dead letter of a page (newest first: failedAt, then id, descending). */
export interface Cursor {
  failedAt: Date;
  id: string;
}

const COLLECTION = 'dead_letters';
/** Reason matching happens here, not in the store: scan at most this many records per page. */
const MAX_SCAN = 10_000;
const SCAN_BATCH = 500;

function storeFilter(query: DeadLetterQuery): Filter {
  const filter: Filter = {};
  if (query.channel) filter.channel = query.channel;
  if (query.since || query.until) {
    filter.failedAt = { ...(query.since ? { $gte: query.since } : {}), ...(query.until ? { $lt: query.until } : {}) };
  }
  if (query.ids && query.ids.length > 0) filter._id = { $in: [...query.ids] };
  if (!query.includeReplayed) filter.replayedAt = null;
  return filter;
}

function reasonMatcher(query: DeadLetterQuery): (doc: DeadLetterDoc) => boolean {
  const needle = query.reason?.toLowerCase();
  return needle ? (doc) => doc.reason.toLowerCase().includes(needle) : () => true;
}

export class DeadLetterRepository {
  constructor(
    private readonly store: Store,
    private readonly retentionSeconds: number,
  ) {}

  private get collection() {
    return this.store.collection<DeadLetterDoc>(COLLECTION);
  }

  async init(): Promise<void> {
    await this.collection.createIndex({ failedAt: -1, _id: -1 });
    await this.collection.createIndex({ deliveryId: 1 });
    await this.collection.createIndex(PURGE_INDEX.keys, PURGE_INDEX.options);
  }

  insert(tx: TxScope, doc: DeadLetterDoc): Promise<void> {
    return tx.collection<DeadLetterDoc>(COLLECTION).insertOne({ ...doc, purgeAt: retentionEnd(doc.failedAt, this.retentionSeconds) });
  }

  /** One page, newest first. `next` is set when more may follow. */
  async page(query: DeadLetterQuery, size: number, after?: Cursor): Promise<{ items: DeadLetterDoc[]; next?: Cursor }> {
    const base = storeFilter(query);
    const wanted = reasonMatcher(query);
    const items: DeadLetterDoc[] = [];
    let cursor = after;
    let scanned = 0;
    for (;;) {
      const position: Filter = cursor
        ? { $or: [{ failedAt: { $lt: cursor.failedAt } }, { failedAt: cursor.failedAt, _id: { $lt: cursor.id } }] }
        : {};
      const batch = await this.collection.find({ $and: [base, position] }, { sort: { failedAt: -1, _id: -1 }, limit: SCAN_BATCH });
      for (const doc of batch) {
        scanned++;
        cursor = { failedAt: doc.failedAt, id: doc._id };
        if (!wanted(doc)) continue;
        items.push(doc);
        if (items.length === size) return { items, next: cursor };
      }
      if (batch.length < SCAN_BATCH) return { items };
      // A rare reason over a large store: hand back what was found and where to go on.
      if (scanned >= MAX_SCAN) return { items, next: cursor };
    }
  }

  /** Dead letters not yet replayed that match, oldest first: the order a replay sends them in. */
  async replayable(query: DeadLetterQuery, limit: number): Promise<DeadLetterDoc[]> {
    const wanted = reasonMatcher(query);
    const base = storeFilter({ ...query, includeReplayed: false });
    const found: DeadLetterDoc[] = [];
    let after: Cursor | undefined;
    let scanned = 0;
    while (found.length < limit && scanned < MAX_SCAN) {
      const position: Filter = after
        ? { $or: [{ failedAt: { $gt: after.failedAt } }, { failedAt: after.failedAt, _id: { $gt: after.id } }] }
        : {};
      const batch = await this.collection.find({ $and: [base, position] }, { sort: { failedAt: 1, _id: 1 }, limit: SCAN_BATCH });
      for (const doc of batch) {
        scanned++;
        after = { failedAt: doc.failedAt, id: doc._id };
        if (wanted(doc)) found.push(doc);
        if (found.length === limit) break;
      }
      if (batch.length < SCAN_BATCH) break;
    }
    return found;
  }

  /** Marks a dead letter replayed; false when it already was (another replay got there first). */
  async markReplayed(tx: TxScope, id: string, at: Date): Promise<boolean> {
    const { matchedCount } = await tx.collection<DeadLetterDoc>(COLLECTION).updateOne({ _id: id, replayedAt: null }, { $set: { replayedAt: at } });
    return matchedCount === 1;
  }
}
