// The inbox_items collection: each user's in-app inbox, one item per in-app delivery (keyed by delivery id, so a
// repeated hand-over stores it once). Listed newest first with keyset page tokens, so items arriving while a client
// pages never shift the pages it has not read yet. An item is kept for the history retention after it was
// delivered, or read (common/history.ts); its status is kept at least as long.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { type InboxItem, InboxItemSchema } from '../../gen/pulse/status/v1/status_service_pb.js';
import { PURGE_INDEX, retentionEnd } from '../common/history.js';
import type { Doc, Filter, Store, TxScope } from '../platform/store/collection.js';
import { insertIfAbsent } from '../platform/store/compare-and-set.js';
import { keysetPage } from '../platform/store/keyset-page.js';

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
    const items = tx.collection<InboxItemDoc>(COLLECTION);
    if (await items.findOne({ _id: item._id })) return false;
    return insertIfAbsent(items, { ...item, purgeAt: retentionEnd(item.deliveredAt, this.retentionSeconds) });
  }

  /** One page of the user's inbox, newest first, and the token of the next; the token is bound to user and filter. */
  page(query: { userId: string; unreadOnly: boolean }, page: { pageSize: number; pageToken: string }): Promise<{ items: InboxItemDoc[]; nextPageToken: string }> {
    const filter: Filter = { userId: query.userId };
    if (query.unreadOnly) filter.readAt = null;
    const binding = { userId: query.userId, unreadOnly: query.unreadOnly };
    return keysetPage(this.store.collection<InboxItemDoc>(COLLECTION), { filter, sort: { deliveredAt: -1, _id: -1 }, ...page, binding });
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
