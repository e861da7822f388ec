// The inbox_items collection: each user's in-app inbox, one item per in-app delivery (keyed by delivery id, so a
// repeated hand-over stores it once). Listed newest first with keyset page tokens, so items arriving while a client
// pages never shift the pages it has not read yet. An item is kept for the history retention after it was
// delivered, or read (common/history.ts); its status is kept at least as long.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { type InboxItem, InboxItemSchema } from '../../gen/pulse/status/v1/status_service_pb.js';
import { PURGE_INDEX, retentionEnd } from '../common/history.js';
import { type Doc, type Filter, isDuplicateKey, type Store, type TxScope } from '../platform/store/collection.js';

export interface InboxItemDoc extends Doc {
  userId: string;
  notificationId: string;
  title: string;
  body: string;
  /** Pairs rather than an object: MongoDB is picky about field names with '.' or '$', and keys are the caller's. */
  data: { key: string; value: string }[];
  priority: Priority;
  notificationType: string;
  deliveredAt: Date;
  readAt: Date | null;
  /** When the store removes it. Set by the repository. */
  purgeAt?: Date;
}

/** Where a page ends: the last item's position in (deliveredAt, id) order. */
export interface PagePosition {
  deliveredAt: Date;
  id: string;
}

// Not `inbox`: that name is the platform's record of processed events.
const COLLECTION = 'inbox_items';

export class InboxRepository {
  constructor(
    private readonly store: Store,
    private readonly retentionSeconds: number,
  ) {}

  async init(): Promise<void> {
    const items = this.store.collection<InboxItemDoc>(COLLECTION);
    await items.createIndex({ userId: 1, deliveredAt: -1, _id: -1 });
    await items.createIndex({ userId: 1, readAt: 1 });
    await items.createIndex({ userId: 1, notificationId: 1 });
    await items.createIndex(PURGE_INDEX.keys, PURGE_INDEX.options);
  }

  /** Stores the item unless it is already there; true when stored now. */
  async add(tx: TxScope, item: InboxItemDoc): Promise<boolean> {
    try {
      await tx.collection<InboxItemDoc>(COLLECTION).insertOne({ ...item, purgeAt: retentionEnd(item.deliveredAt, this.retentionSeconds) });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /** One page, newest first, after `after` when given; one extra item tells whether another page follows. */
  async page(userId: string, unreadOnly: boolean, size: number, after?: PagePosition): Promise<{ items: InboxItemDoc[]; more: boolean }> {
    const filter: Filter = { userId };
    if (unreadOnly) filter.readAt = null;
    if (after) filter.$or = [{ deliveredAt: { $lt: after.deliveredAt } }, { deliveredAt: after.deliveredAt, _id: { $lt: after.id } }];
    const found = await this.store.collection<InboxItemDoc>(COLLECTION).find(filter, { sort: { deliveredAt: -1, _id: -1 }, limit: size + 1 });
    return { items: found.slice(0, size), more: found.length > size };
  }

  unreadCount(userId: string): Promise<number> {
    return this.store.collection<InboxItemDoc>(COLLECTION).countDocuments({ userId, readAt: null });
  }

  /** The user's unread items of these notifications. */
  unreadOf(tx: TxScope, userId: string, notificationIds: readonly string[]): Promise<InboxItemDoc[]> {
    return tx.collection<InboxItemDoc>(COLLECTION).find({ userId, notificationId: { $in: [...notificationIds] }, readAt: null });
  }

  /** Marks one item read unless it already is; true when this call marked it. */
  async markRead(tx: TxScope, id: string, at: Date): Promise<boolean> {
    const { matchedCount } = await tx
      .collection<InboxItemDoc>(COLLECTION)
      .updateOne({ _id: id, readAt: null }, { $set: { readAt: at, purgeAt: retentionEnd(at, this.retentionSeconds) } });
    return matchedCount === 1;
  }
}

export function toInboxItem(doc: InboxItemDoc): InboxItem {
  return create(InboxItemSchema, {
    notificationId: doc.notificationId,
    deliveryId: doc._id,
    title: doc.title,
    body: doc.body,
    data: Object.fromEntries(doc.data.map(({ key, value }) => [key, value])),
    priority: doc.priority,
    notificationType: doc.notificationType,
    deliveredAt: timestampFromDate(doc.deliveredAt),
    readAt: doc.readAt ? timestampFromDate(doc.readAt) : undefined,
  });
}

/** An opaque page token: base64url of the position. */
export function encodePageToken(position: PagePosition): string {
  return Buffer.from(JSON.stringify([position.deliveredAt.getTime(), position.id])).toString('base64url');
}

/** The position a token names, or undefined when it is not one of ours. */
export function decodePageToken(token: string): PagePosition | undefined {
  try {
    const [ms, id] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown[];
    if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || typeof id !== 'string' || id === '') return undefined;
    return { deliveredAt: new Date(ms), id };
  } catch {
    return undefined;
  }
}
