// The dead_letters collection: one record per delivery that failed for good (permanent failure, attempts used up,
// outcome unknown). Written in the same unit of work as the delivery's move to FAILED / DEAD_LETTERED, so there is
// exactly one per failure; a replay marks it replayed_at and a later failure of the same delivery makes a new one.
// Kept for the history retention after the failure (common/history.ts), as long as the delivery at the least.
// Lists page by keyset (platform/store/keyset-page.ts); matching the reason, a substring, happens here.
import type { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { PURGE_INDEX, retentionEnd } from '../common/history.js';
import { newId } from '../platform/ids.js';
import type { Doc, Filter, SortSpec, Store, TxScope } from '../platform/store/collection.js';
import { encodePageToken, keysetPage, positionOf } from '../platform/store/keyset-page.js';
import type { DeliveryDoc } from './deliveries.js';

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

export interface Page {
  items: DeadLetterDoc[];
  /** '' when nothing follows. */
  nextPageToken: string;
}

const COLLECTION = 'dead_letters';
/** Reason matching happens here, not in the store: scan at most this many records per page. */
const MAX_SCAN = 10_000;
const SCAN_BATCH = 500;
const NEWEST_FIRST: SortSpec = { failedAt: -1, _id: -1 };
const OLDEST_FIRST: SortSpec = { failedAt: 1, _id: 1 };

/** The record of a delivery that has just failed for good (its reason, attempts and provider as stored). */
export function deadLetterFor(delivery: DeliveryDoc, at: Date): DeadLetterDoc {
  return {
    _id: newId('dlq'),
    deliveryId: delivery._id,
    notificationId: delivery.notificationId,
    channel: delivery.channel,
    priority: delivery.priority,
    reason: delivery.reason,
    attempts: delivery.attemptsMade,
    provider: delivery.provider,
    failedAt: at,
    replayedAt: null,
  };
}

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

  /**
   * One page, newest first, continuing from pageToken (a token of this list, issued for the same query, else
   * invalid_argument naming page_token).
   */
  page(query: DeadLetterQuery, size: number, pageToken: string): Promise<Page> {
    return this.scan(query, NEWEST_FIRST, size, pageToken);
  }

  /** Dead letters not yet replayed that match, oldest first: the order a replay sends them in. */
  async replayable(query: DeadLetterQuery, limit: number): Promise<DeadLetterDoc[]> {
    return (await this.scan({ ...query, includeReplayed: false }, OLDEST_FIRST, limit, '')).items;
  }

  /**
   * Up to limit matching records in sort order after pageToken. The store pages by keyset; records whose reason
   * does not match are skipped here, so with a reason a page reads whole batches, and a rare reason over a large
   * store ends a page early after MAX_SCAN records, with a token to go on.
   */
  private async scan(query: DeadLetterQuery, sort: SortSpec, limit: number, pageToken: string): Promise<Page> {
    const wanted = reasonMatcher(query);
    const batchSize = query.reason ? SCAN_BATCH : limit;
    const items: DeadLetterDoc[] = [];
    let token = pageToken;
    let scanned = 0;
    for (;;) {
      const batch = await keysetPage(this.collection, { filter: storeFilter(query), sort, pageSize: batchSize, pageToken: token, binding: query });
      for (const doc of batch.items) {
        scanned++;
        if (!wanted(doc)) continue;
        items.push(doc);
        if (items.length === limit) {
          const more = doc !== batch.items[batch.items.length - 1] || batch.nextPageToken !== '';
          return { items, nextPageToken: more ? encodePageToken(query, positionOf(sort, doc)) : '' };
        }
      }
      if (batch.nextPageToken === '' || scanned >= MAX_SCAN) return { items, nextPageToken: batch.nextPageToken };
      token = batch.nextPageToken;
    }
  }

  /** Marks a dead letter replayed; false when it already was (another replay got there first). */
  async markReplayed(tx: TxScope, id: string, at: Date): Promise<boolean> {
    const { matchedCount } = await tx.collection<DeadLetterDoc>(COLLECTION).updateOne({ _id: id, replayedAt: null }, { $set: { replayedAt: at } });
    return matchedCount === 1;
  }
}
