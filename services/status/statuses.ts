// The status of each notification: a `notifications` document (who it is for, priority, type, its own state, a
// revision bumped by every applied change) and one `deliveries` document per delivery holding its timeline. Writes
// that depend on what was read are conditional (compare-and-set), and are re-tried on a fresh read when another
// writer got there first; on MongoDB a transaction that loses such a race is retried as a whole by the driver.
// A notification and its deliveries are kept while any delivery awaits work, and for the history retention after
// the latest change once none does (common/history.ts), the same rule as in the notification service.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { type Channel, DeliveryState, type Priority, RecipientSchema } from '../../gen/pulse/common/v1/delivery_pb.js';
import { DeliveryStatusSchema, type NotificationStatus, NotificationStatusSchema } from '../../gen/pulse/status/v1/status_service_pb.js';
import { movesForward } from '../common/delivery-state.js';
import { AWAITING, awaitsWork, keptUntil, PURGE_INDEX } from '../common/history.js';
import type { Doc, Filter, Store, TxScope } from '../platform/store/collection.js';
import { compareAndSet, insertIfAbsent, RETRY } from '../platform/store/compare-and-set.js';
import { afterPosition } from '../platform/store/keyset-page.js';
import { advance, isSettled, notificationState, type Step, type Timeline } from './timeline.js';

export interface NotificationDoc extends Doc {
  recipientUserId: string;
  recipientTopic: string;
  priority: Priority;
  notificationType: string;
  acceptedAt: Date | null;
  /** State of the notification as a whole, from changes without a delivery id. */
  state: DeliveryState;
  stateAttempt: number;
  /** The recipient user and every user a delivery reaches: whose watchers hear of its changes. */
  userIds: string[];
  /** Bumped by every applied change; watchers compare it. */
  revision: number;
  /** When this replica applied the latest change (its clock): what the watchers' fallback poll follows. */
  changedAt: Date;
  /** When the latest change happened (event time). */
  updatedAt: Date;
  /** When the store removes it and its deliveries: null while one of them (without any: the notification) awaits work. */
  purgeAt?: Date | null;
}

export interface DeliveryDoc extends Doc, Timeline {
  notificationId: string;
  channel: Channel;
  priority: Priority;
  userId: string;
  /** When the notification was accepted (or, if no event said, when status first heard of the delivery). */
  acceptedAt: Date;
  revision: number;
  /** Its notification's purgeAt, copied by bump. */
  purgeAt?: Date | null;
}

/** What a change says about its notification, applied whatever the change's own fate. */
export interface NotificationHeader {
  notificationId: string;
  recipientUserId: string;
  recipientTopic: string;
  priority: Priority;
  notificationType: string;
  acceptedAt: Date | null;
  userIds: string[];
}

/** A delivery as first heard of. */
export type DeliveryInit = Pick<DeliveryDoc, 'notificationId' | 'channel' | 'priority' | 'userId' | 'acceptedAt'>;

export interface StatusView {
  notification: NotificationDoc;
  deliveries: DeliveryDoc[];
}

export interface Advanced {
  before: DeliveryDoc | null;
  after: DeliveryDoc;
}

/** A delivery advanced by some of the steps asked for. */
export interface Applied extends Advanced {
  applied: readonly Step[];
}

function isStepList(step: Step | readonly Step[]): step is readonly Step[] {
  return Array.isArray(step);
}

/** A change noted for watchers. */
export interface ChangeNote {
  notificationId: string;
  userIds: string[];
  revision: number;
  changedAt: Date;
}

const NOTIFICATIONS = 'notifications';
const DELIVERIES = 'deliveries';

export class StatusRepository {
  constructor(
    private readonly store: Store,
    private readonly retentionSeconds: number,
  ) {}

  async init(): Promise<void> {
    const notifications = this.store.collection<NotificationDoc>(NOTIFICATIONS);
    const deliveries = this.store.collection<DeliveryDoc>(DELIVERIES);
    await notifications.createIndex({ changedAt: 1, _id: 1 });
    await notifications.createIndex({ userIds: 1, changedAt: -1 });
    await notifications.createIndex(PURGE_INDEX.keys, PURGE_INDEX.options);
    await deliveries.createIndex({ notificationId: 1 });
    await deliveries.createIndex({ acceptedAt: 1, _id: 1 });
    await deliveries.createIndex(PURGE_INDEX.keys, PURGE_INDEX.options);
  }

  /** Creates the notification's document, or fills in what earlier changes did not say; `at` is the change's time. */
  async ensure(tx: TxScope, header: NotificationHeader, at: Date, now: Date): Promise<void> {
    const said: Record<string, unknown> = {};
    const onInsert: Record<string, unknown> = { state: DeliveryState.UNSPECIFIED, stateAttempt: 0, revision: 0, changedAt: now, updatedAt: at };
    const fields = {
      recipientUserId: header.recipientUserId,
      recipientTopic: header.recipientTopic,
      priority: header.priority,
      notificationType: header.notificationType,
      acceptedAt: header.acceptedAt,
    };
    for (const [field, value] of Object.entries(fields)) {
      if (value) said[field] = value;
      else onInsert[field] = value;
    }
    await tx.collection<NotificationDoc>(NOTIFICATIONS).updateOne(
      { _id: header.notificationId },
      {
        ...(Object.keys(said).length > 0 ? { $set: said } : {}),
        $setOnInsert: onInsert,
        $addToSet: { userIds: { $each: header.userIds } },
      },
      { upsert: true },
    );
  }

  /** Moves the notification's own state forward; false when the change is ignored. */
  async advanceNotification(tx: TxScope, notificationId: string, next: { state: DeliveryState; attempt: number }): Promise<boolean> {
    const notifications = tx.collection<NotificationDoc>(NOTIFICATIONS);
    return compareAndSet(`the state of notification "${notificationId}"`, async () => {
      const doc = await notifications.findOne({ _id: notificationId });
      if (!doc) return false;
      const current = doc.state === DeliveryState.UNSPECIFIED ? undefined : { state: doc.state, attempt: doc.stateAttempt };
      if (!movesForward(current, next)) return false;
      const { matchedCount } = await notifications.updateOne(
        { _id: notificationId, state: doc.state, stateAttempt: doc.stateAttempt },
        { $set: { state: next.state, stateAttempt: next.attempt } },
      );
      return matchedCount === 1 ? true : RETRY;
    });
  }

  /**
   * Applies steps in turn to the delivery (created from init when new), each only when it moves the timeline
   * forward, in one write; returns the delivery before and after, with the steps applied. Null when none applied,
   * or the delivery is unknown and there is no init. A step that depends on the current timeline (its attempt) is
   * given as a function.
   */
  async advanceDelivery(
    tx: TxScope,
    deliveryId: string,
    step: Step | readonly Step[] | ((current: DeliveryDoc) => Step),
    init?: DeliveryInit,
  ): Promise<Applied | null> {
    const deliveries = tx.collection<DeliveryDoc>(DELIVERIES);
    return compareAndSet(`delivery "${deliveryId}"`, async () => {
      const before = await deliveries.findOne({ _id: deliveryId });
      if (!before && !init) return null;
      const steps = typeof step === 'function' ? (before ? [step(before)] : []) : isStepList(step) ? step : [step];
      const channel = before?.channel ?? init!.channel;
      let timeline: Timeline | undefined;
      const applied: Step[] = [];
      for (const next of steps) {
        const moved = advance(timeline ?? before ?? undefined, next, channel);
        if (!moved) continue;
        timeline = moved;
        applied.push(next);
      }
      if (!timeline) return null;
      if (!before) {
        const after: DeliveryDoc = { _id: deliveryId, ...init!, ...timeline, revision: 1, purgeAt: null };
        // Taken: created meanwhile, so apply the steps on top of it.
        return (await insertIfAbsent(deliveries, after)) ? { before: null, after, applied } : RETRY;
      }
      const after: DeliveryDoc = { ...before, ...timeline, revision: before.revision + 1 };
      const { matchedCount } = await deliveries.updateOne(
        { _id: deliveryId, revision: before.revision },
        { $set: { ...timeline, revision: after.revision } },
      );
      return matchedCount === 1 ? { before, after, applied } : RETRY;
    });
  }

  /**
   * Records that a change was applied: bumps the revision watchers compare. When the change moved a delivery into
   * rest or back to work (restChanged), or the notification rests already (a read starts its retention again), it
   * also decides when the notification and its deliveries leave.
   */
  async bump(tx: TxScope, notificationId: string, at: Date, now: Date, restChanged: boolean): Promise<ChangeNote | null> {
    if (!restChanged) {
      const doc = await tx
        .collection<NotificationDoc>(NOTIFICATIONS)
        .findOneAndUpdate(
          { _id: notificationId },
          { $inc: { revision: 1 }, $set: { changedAt: now }, $max: { updatedAt: at } },
          { returnDocument: 'after' },
        );
      if (!doc?.purgeAt) return doc && { notificationId, userIds: doc.userIds, revision: doc.revision, changedAt: now };
    }
    return this.decidePurge(tx, notificationId, at, now);
  }

  /**
   * Bumps the revision and sets purgeAt on the notification and its deliveries (common/history.ts). The count is
   * taken after reading the revision and the decision written only if that is unchanged (compare-and-set), so of two
   * changes applied at once one counts again: neither leaves a stale decision behind.
   */
  private async decidePurge(tx: TxScope, notificationId: string, at: Date, now: Date): Promise<ChangeNote | null> {
    const notifications = tx.collection<NotificationDoc>(NOTIFICATIONS);
    const deliveries = tx.collection<DeliveryDoc>(DELIVERIES);
    return compareAndSet(`notification "${notificationId}"`, async () => {
      const doc = await notifications.findOne({ _id: notificationId });
      if (!doc) return null;
      const held = await deliveries.countDocuments({ notificationId });
      const awaiting =
        held > 0 ? (await deliveries.countDocuments({ notificationId, state: { $in: [...AWAITING] } })) > 0 : awaitsWork(doc.state);
      const purgeAt = keptUntil(awaiting, now, this.retentionSeconds);
      await deliveries.updateMany({ notificationId, purgeAt: { $ne: purgeAt } }, { $set: { purgeAt } });
      const { matchedCount } = await notifications.updateOne(
        { _id: notificationId, revision: doc.revision },
        { $inc: { revision: 1 }, $set: { changedAt: now, purgeAt }, $max: { updatedAt: at } },
      );
      return matchedCount === 1 ? { notificationId, userIds: doc.userIds, revision: doc.revision + 1, changedAt: now } : RETRY;
    });
  }

  async get(notificationId: string): Promise<StatusView | null> {
    const notification = await this.store.collection<NotificationDoc>(NOTIFICATIONS).findOne({ _id: notificationId });
    if (!notification) return null;
    const deliveries = await this.store.collection<DeliveryDoc>(DELIVERIES).find({ notificationId }, { sort: { _id: 1 } });
    return { notification, deliveries };
  }

  /** The user's `limit` most recently changed notifications, most recent first. */
  async recentForUser(userId: string, limit: number): Promise<StatusView[]> {
    const recent = await this.store.collection<NotificationDoc>(NOTIFICATIONS).find({ userIds: userId }, { sort: { changedAt: -1 }, limit });
    const deliveries = await this.store
      .collection<DeliveryDoc>(DELIVERIES)
      .find({ notificationId: { $in: recent.map((n) => n._id) } }, { sort: { _id: 1 } });
    return recent.map((notification) => ({ notification, deliveries: deliveries.filter((d) => d.notificationId === notification._id) }));
  }

  /** Changes applied after `after` (this store's order: changedAt, then id), up to limit. */
  async changedSince(after: { changedAt: Date; id: string }, limit: number): Promise<ChangeNote[]> {
    const sort = { changedAt: 1, _id: 1 } as const;
    const filter = afterPosition(sort, [after.changedAt, after.id]);
    const docs = await this.store.collection<NotificationDoc>(NOTIFICATIONS).find(filter, { sort, limit });
    return docs.map((doc) => ({ notificationId: doc._id, userIds: doc.userIds, revision: doc.revision, changedAt: doc.changedAt }));
  }

  /** Deliveries accepted in [start, end], a page at a time (keyset on acceptedAt and id). */
  async *acceptedBetween(start: Date, end: Date, pageSize = 2_000): AsyncGenerator<DeliveryDoc[]> {
    const deliveries = this.store.collection<DeliveryDoc>(DELIVERIES);
    const sort = { acceptedAt: 1, _id: 1 } as const;
    const window: Filter = { acceptedAt: { $gte: start, $lte: end } };
    let filter = window;
    for (;;) {
      const page = await deliveries.find(filter, { sort, limit: pageSize });
      if (page.length > 0) yield page;
      if (page.length < pageSize) return;
      const last = page[page.length - 1];
      filter = { $and: [window, afterPosition(sort, [last.acceptedAt, last._id])] };
    }
  }
}

/** Whether a change moved its delivery into rest or back to work (common/history.ts). */
export function changesRest({ before, after }: Advanced): boolean {
  return awaitsWork(before?.state ?? DeliveryState.UNSPECIFIED) !== awaitsWork(after.state);
}

export function settled(view: StatusView): boolean {
  return isSettled(view.notification.state, view.deliveries);
}

export function toNotificationStatus(view: StatusView): NotificationStatus {
  const { notification: n, deliveries } = view;
  const recipient = n.recipientUserId
    ? create(RecipientSchema, { target: { case: 'userId', value: n.recipientUserId } })
    : n.recipientTopic
      ? create(RecipientSchema, { target: { case: 'topic', value: n.recipientTopic } })
      : undefined;
  return create(NotificationStatusSchema, {
    notificationId: n._id,
    state: notificationState(
      n.state,
      deliveries.map((d) => d.state),
    ),
    priority: n.priority,
    notificationType: n.notificationType,
    recipient,
    deliveries: deliveries.map((d) =>
      create(DeliveryStatusSchema, {
        deliveryId: d._id,
        channel: d.channel,
        state: d.state,
        provider: d.provider,
        attempt: d.attempt,
        reason: d.reason,
        userId: d.userId,
        history: d.history.map((step) => ({ ...step, at: timestampFromDate(step.at) })),
        updatedAt: timestampFromDate(d.updatedAt),
      }),
    ),
    acceptedAt: n.acceptedAt ? timestampFromDate(n.acceptedAt) : undefined,
    updatedAt: timestampFromDate(n.updatedAt),
  });
}
