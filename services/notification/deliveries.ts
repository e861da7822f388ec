// The deliveries collection: one document per channel and address of a notification, the source of truth for
// where it stands. It stores, it does not decide: every change comes decided from the delivery engine
// (delivery-engine.ts, transitions.ts) and is written as a conditional update on the delivery as it was read
// (state, attempt, the job allowed to work on it, its due time), so two workers, two replicas of the scheduler, or
// a cancel racing a send can never both move the same delivery. Once the last delivery of a notification comes to
// rest, it and its notification are kept for the history retention (common/history.ts).
import { type Channel, DeliveryState, type Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { AWAITING, awaitsWork, keptUntil, PURGE_INDEX } from '../common/history.js';
import type { Doc, Store, TxScope } from '../platform/store/collection.js';
import { compareAndSet, RETRY } from '../platform/store/compare-and-set.js';
import type { NotificationRepository, RecipientRef } from './notifications.js';

export interface DeliveryDoc extends Doc {
  notificationId: string;
  channel: Channel;
  /** Email address, Slack target, E.164 phone or user id. Personal data: never logged. */
  address: string;
  userId: string;
  // Copied from the notification so status events and the scheduler need no second read.
  priority: Priority;
  notificationType: string;
  recipient: RecipientRef;
  causeId: string;
  acceptedAt: Date;
  expiresAt: Date | null;
  /** The recipient's locale, for templates; absent for topics and for deliveries stored before locales. */
  locale?: string;
  /** The escalation step (from 1) that planned it; absent for the notification's first deliveries. */
  escalationStep?: number;

  state: DeliveryState;
  /** The attempt the state belongs to: 0 while ACCEPTED, n for PROCESSING/outcome of attempt n, and the attempt a
   *  DEFERRED delivery waits for (delivery-state.ts). */
  attempt: number;
  /** Provider calls started. */
  attemptsMade: number;
  /** Failures counted against the channel's attempt budget (breaker waits and probes are not). */
  failures: number;
  provider: string;
  reason: string;
  /** Set while DEFERRED and waiting in the store: the scheduler releases it then. */
  dueAt: Date | null;
  /** The one job allowed to work on the delivery; null while it waits in the store. */
  jobId: string | null;
  /** When the current attempt was handed to a provider (PROCESSING). */
  processingAt: Date | null;
  /** LOW deliveries with the same key and due time go out as one digest message. */
  digestKey: string | null;
  /** Notifications combined in the message that carried this delivery (0: not a digest). */
  digestSize: number;
  providerMessageId: string;
  createdAt: Date;
  updatedAt: Date;
  /** When the store removes it (with its notification): null while any delivery of the notification awaits work. */
  purgeAt?: Date | null;
}

/** Fields a state change may set; state and attempt always. */
export type DeliveryChange = Pick<DeliveryDoc, 'state' | 'attempt'> &
  Partial<
    Pick<
      DeliveryDoc,
      'attemptsMade' | 'failures' | 'provider' | 'reason' | 'dueAt' | 'jobId' | 'processingAt' | 'digestKey' | 'digestSize' | 'providerMessageId'
    >
  >;

const COLLECTION = 'deliveries';
const S = DeliveryState;

export class DeliveryRepository {
  constructor(
    private readonly store: Store,
    private readonly notifications: NotificationRepository,
    private readonly retentionSeconds: number,
  ) {}

  private get collection() {
    return this.store.collection<DeliveryDoc>(COLLECTION);
  }

  async init(): Promise<void> {
    const c = this.collection;
    await c.createIndex({ notificationId: 1 });
    await c.createIndex({ jobId: 1 });
    await c.createIndex({ state: 1, dueAt: 1 });
    await c.createIndex({ state: 1, expiresAt: 1 });
    await c.createIndex({ state: 1, processingAt: 1 });
    await c.createIndex({ digestKey: 1, dueAt: 1 });
    await c.createIndex({ providerMessageId: 1 });
    await c.createIndex(PURGE_INDEX.keys, PURGE_INDEX.options);
  }

  /** The purgeAt a new notification's records start with (kept while any of its deliveries awaits work). */
  purgeAtOnInsert(docs: readonly DeliveryDoc[], at: Date): Date | null {
    return keptUntil(docs.some((d) => awaitsWork(d.state)), at, this.retentionSeconds);
  }

  async insert(tx: TxScope, docs: readonly DeliveryDoc[], purgeAt: Date | null): Promise<void> {
    for (const doc of docs) await tx.collection<DeliveryDoc>(COLLECTION).insertOne({ ...doc, purgeAt });
  }

  get(id: string): Promise<DeliveryDoc | null> {
    return this.collection.findOne({ _id: id });
  }

  byNotification(notificationId: string): Promise<DeliveryDoc[]> {
    return this.collection.find({ notificationId }, { sort: { createdAt: 1, _id: 1 } });
  }

  /** The deliveries a provider's message carried (a status callback names the message: a Twilio SID). */
  byProviderMessage(channel: Channel, providerMessageId: string): Promise<DeliveryDoc[]> {
    return this.collection.find({ providerMessageId, channel }, { sort: { _id: 1 } });
  }

  /** The deliveries one job works on: one, or the members of a digest. */
  byJob(jobId: string): Promise<DeliveryDoc[]> {
    return this.collection.find({ jobId }, { sort: { _id: 1 } });
  }

  /** Deliveries waiting in the store whose time has come, earliest first. */
  due(now: Date, limit: number): Promise<DeliveryDoc[]> {
    return this.collection.find({ state: S.DEFERRED, dueAt: { $lte: now } }, { sort: { dueAt: 1, _id: 1 }, limit });
  }

  /** Other deliveries of the same digest: same address and channel, same due time, same attempt, still waiting. */
  digestMates(leader: DeliveryDoc, limit: number): Promise<DeliveryDoc[]> {
    return this.collection.find(
      { digestKey: leader.digestKey, dueAt: leader.dueAt, attempt: leader.attempt, state: S.DEFERRED, jobId: null, _id: { $ne: leader._id } },
      { sort: { _id: 1 }, limit },
    );
  }

  /** Deliveries not yet handed to a provider whose notification has expired. */
  expiring(now: Date, limit: number): Promise<DeliveryDoc[]> {
    return this.collection.find({ state: { $in: [S.ACCEPTED, S.DEFERRED] }, expiresAt: { $lte: now } }, { limit });
  }

  /** Deliveries PROCESSING since before cutoff: their worker is gone (or hopelessly late). */
  stuck(cutoff: Date, limit: number): Promise<DeliveryDoc[]> {
    return this.collection.find({ state: S.PROCESSING, processingAt: { $lte: cutoff } }, { sort: { processingAt: 1 }, limit });
  }

  /** Deliveries of a notification that can still be cancelled. */
  pending(notificationId: string): Promise<DeliveryDoc[]> {
    return this.collection.find({ notificationId, state: { $in: [S.ACCEPTED, S.DEFERRED] } });
  }

  /**
   * Stores a decided change if the delivery is still as it was seen; returns it after the change, or null when it
   * had moved on meanwhile. A delivery that starts or stops awaiting work changes when its notification leaves.
   */
  async update(tx: TxScope, seen: DeliveryDoc, change: DeliveryChange, at: Date): Promise<DeliveryDoc | null> {
    const next = await tx.collection<DeliveryDoc>(COLLECTION).findOneAndUpdate(
      { _id: seen._id, state: seen.state, attempt: seen.attempt, jobId: seen.jobId, dueAt: seen.dueAt },
      { $set: { ...change, updatedAt: at } },
      { returnDocument: 'after' },
    );
    if (next && awaitsWork(seen.state) !== awaitsWork(next.state)) await this.decidePurge(tx, next.notificationId, at);
    return next;
  }

  /**
   * After a delivery came to rest or went back to work (a replay): its notification and all its deliveries are kept
   * while any awaits work, else for the retention from now. The count is taken after reading the notification's
   * purgeRevision and the decision written only if that is unchanged, so a sibling moving meanwhile makes one of the
   * two count again; neither leaves a stale decision behind (on MongoDB the two writes also conflict).
   */
  private async decidePurge(tx: TxScope, notificationId: string, at: Date): Promise<void> {
    const deliveries = tx.collection<DeliveryDoc>(COLLECTION);
    await compareAndSet(`the deliveries of notification ${notificationId}`, async () => {
      const notification = await this.notifications.get(notificationId, tx);
      if (!notification) return;
      const awaiting = await deliveries.countDocuments({ notificationId, state: { $in: [...AWAITING] } });
      const purgeAt = keptUntil(awaiting > 0, at, this.retentionSeconds);
      await deliveries.updateMany({ notificationId, purgeAt: { $ne: purgeAt } }, { $set: { purgeAt } });
      return (await this.notifications.setPurgeAt(tx, notification, purgeAt)) ? undefined : RETRY;
    });
  }
}
