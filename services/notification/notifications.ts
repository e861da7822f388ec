// The notifications collection: one document per accepted notification. The unique index on idempotencyKey is
// what makes SendNotification idempotent across concurrent calls and replicas; the fingerprint tells a repeat of
// the same request from a different request reusing the key.
import type { Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { RouteKind } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import type { Doc, Store, TxScope } from '../platform/store/collection.js';

/** Exactly one of the two is set. */
export interface RecipientRef {
  userId?: string;
  topic?: string;
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
}

const COLLECTION = 'notifications';

export class NotificationRepository {
  constructor(private readonly store: Store) {}

  async init(): Promise<void> {
    await this.store.collection<NotificationDoc>(COLLECTION).createIndex({ idempotencyKey: 1 }, { unique: true });
  }

  /** Throws a duplicate-key error when the idempotency key is taken. */
  insert(tx: TxScope, doc: NotificationDoc): Promise<void> {
    return tx.collection<NotificationDoc>(COLLECTION).insertOne(doc);
  }

  get(id: string, scope: TxScope = this.store): Promise<NotificationDoc | null> {
    return scope.collection<NotificationDoc>(COLLECTION).findOne({ _id: id });
  }

  byKey(idempotencyKey: string, scope: TxScope = this.store): Promise<NotificationDoc | null> {
    return scope.collection<NotificationDoc>(COLLECTION).findOne({ idempotencyKey });
  }

  /** Point reads by id (a digest holds at most a few dozen). */
  async many(ids: readonly string[]): Promise<NotificationDoc[]> {
    const found = await Promise.all([...new Set(ids)].map((id) => this.get(id)));
    return found.filter((doc): doc is NotificationDoc => doc !== null);
  }
}
