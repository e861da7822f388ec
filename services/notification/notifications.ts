// The notifications collection: one document per accepted notification. The unique index on idempotencyKey is
// what makes SendNotification idempotent across concurrent calls and replicas; the fingerprint tells a repeat of
// the same request from a different request reusing the key. A notification leaves with its deliveries once they
// are all at rest and the history retention has passed (common/history.ts); its idempotency key is free again then.
import { create } from '@bufbuild/protobuf';
import { type Priority, type Recipient, RecipientSchema } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { RouteKind } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { PURGE_INDEX } from '../common/history.js';
import type { Doc, Store, TxScope } from '../platform/store/collection.js';
import type { LadderStep } from './ladder.js';

/** Exactly one of the two is set. */
export interface RecipientRef {
  userId?: string;
  topic?: string;
}

export function toRecipient(ref: RecipientRef): Recipient {
  return create(RecipientSchema, {
    target: ref.userId !== undefined ? { case: 'userId', value: ref.userId } : { case: 'topic', value: ref.topic ?? '' },
  });
}

export interface ContentDoc {
  title: string;
  /** Personal data: never logged. */
  body: string;
  data: Record<string, string>;
}

export interface NotificationDoc extends Doc {
  idempotencyKey: string;
  /** SHA-256 of the canonical request (fingerprint.ts). */
  fingerprint: string;
  recipient: RecipientRef;
  notificationType: string;
  priority: Priority;
  routeKind: RouteKind;
  content: ContentDoc;
  /** The calling client's name, or "review" / "ingestion". */
  source: string;
  causeId: string;
  createdAt: Date;
  expiresAt: Date | null;
  /** Its escalation ladder (ladder.ts); absent without one. */
  escalation?: LadderStep[];
  /** When the store removes it: null while any of its deliveries awaits work. Set by the repositories. */
  purgeAt?: Date | null;
  /** Bumped by every decision about purgeAt (setPurgeAt). */
  purgeRevision?: number;
}

const COLLECTION = 'notifications';

export class NotificationRepository {
  constructor(private readonly store: Store) {}

  async init(): Promise<void> {
    const c = this.store.collection<NotificationDoc>(COLLECTION);
    await c.createIndex({ idempotencyKey: 1 }, { unique: true });
    await c.createIndex({ causeId: 1 });
    await c.createIndex(PURGE_INDEX.keys, PURGE_INDEX.options);
  }

  /** Throws a duplicate-key error when the idempotency key is taken. */
  insert(tx: TxScope, doc: NotificationDoc, purgeAt: Date | null): Promise<void> {
    return tx.collection<NotificationDoc>(COLLECTION).insertOne({ ...doc, purgeAt, purgeRevision: 0 });
  }

  /**
   * Sets when the notification leaves, if its `purgeRevision` is still the one read (compare-and-set): false when
   * another unit of work decided meanwhile, which must then count again.
   */
  async setPurgeAt(tx: TxScope, seen: NotificationDoc, purgeAt: Date | null): Promise<boolean> {
    const revision = seen.purgeRevision ?? 0;
    const { matchedCount } = await tx
      .collection<NotificationDoc>(COLLECTION)
      .updateOne({ _id: seen._id, purgeRevision: seen.purgeRevision ?? null }, { $set: { purgeAt, purgeRevision: revision + 1 } });
    return matchedCount === 1;
  }

  get(id: string, scope: TxScope = this.store): Promise<NotificationDoc | null> {
    return scope.collection<NotificationDoc>(COLLECTION).findOne({ _id: id });
  }

  byKey(idempotencyKey: string, scope: TxScope = this.store): Promise<NotificationDoc | null> {
    return scope.collection<NotificationDoc>(COLLECTION).findOne({ idempotencyKey });
  }

  /** The notifications holding any of these keys, by key. */
  async byKeys(idempotencyKeys: readonly string[]): Promise<Map<string, NotificationDoc>> {
    const keys = [...new Set(idempotencyKeys)];
    const found = keys.length === 0 ? [] : await this.store.collection<NotificationDoc>(COLLECTION).find({ idempotencyKey: { $in: keys } });
    return new Map(found.map((doc) => [doc.idempotencyKey, doc]));
  }

  /** The notifications an event-driven source made for one cause (a review case: its opening, reminders, breaches). */
  byCause(source: string, causeId: string): Promise<NotificationDoc[]> {
    return this.store.collection<NotificationDoc>(COLLECTION).find({ causeId, source });
  }

  /** Point reads by id (a digest holds at most a few dozen). */
  async many(ids: readonly string[]): Promise<NotificationDoc[]> {
    const found = await Promise.all([...new Set(ids)].map((id) => this.get(id)));
    return found.filter((doc): doc is NotificationDoc => doc !== null);
  }
}
