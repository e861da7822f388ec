// The webhook_messages collection: one document per state change per endpoint, written in the unit of work that
// applies the change (so none is lost or invented), sent by the sender, then kept for the history retention.
// Messages of one notification to one endpoint go out in _id order (ids sort in creation order), one at a time.
import type { DeliveryState } from '../../../gen/pulse/common/v1/delivery_pb.js';
import { PURGE_INDEX, retentionEnd } from '../../common/history.js';
import type { Doc, Store, TxScope } from '../../platform/store/collection.js';

export type MessageStatus = 'pending' | 'sent' | 'dead';

export interface MessageDoc extends Doc {
  endpointId: string;
  notificationId: string;
  /** The state the change moved into (for dead-letter listings). */
  state: DeliveryState;
  /** The JSON body, fixed at creation: every attempt sends the same bytes under the same webhook-id. */
  body: string;
  status: MessageStatus;
  attempts: number;
  nextAttemptAt: Date;
  /** A sender holds the message until then (epoch when free): two replicas never send it at once. */
  leaseUntil: Date;
  lastError: string;
  createdAt: Date;
  deadAt: Date | null;
  purgeAt: Date | null;
}

const COLLECTION = 'webhook_messages';
const EPOCH = new Date(0);

export class MessagesRepository {
  constructor(
    private readonly store: Store,
    private readonly retentionSeconds: number,
  ) {}

  async init(): Promise<void> {
    const messages = this.store.collection<MessageDoc>(COLLECTION);
    await messages.createIndex({ status: 1, _id: 1 });
    await messages.createIndex({ endpointId: 1, status: 1 });
    await messages.createIndex(PURGE_INDEX.keys, PURGE_INDEX.options);
  }

  static pending(fields: Pick<MessageDoc, '_id' | 'endpointId' | 'notificationId' | 'state' | 'body'>, now: Date): MessageDoc {
    return { ...fields, status: 'pending', attempts: 0, nextAttemptAt: now, leaseUntil: EPOCH, lastError: '', createdAt: now, deadAt: null, purgeAt: null };
  }

  async add(tx: TxScope, messages: readonly MessageDoc[]): Promise<void> {
    if (messages.length > 0) await tx.collection<MessageDoc>(COLLECTION).insertMany([...messages]);
  }

  /**
   * The next message of each notification and endpoint among the oldest `limit` pending ones: only a head may be
   * sent, so a notification's messages keep their order.
   */
  async heads(limit: number): Promise<MessageDoc[]> {
    const pending = await this.store.collection<MessageDoc>(COLLECTION).find({ status: 'pending' }, { sort: { _id: 1 }, limit });
    const seen = new Set<string>();
    return pending.filter((message) => {
      const line = `${message.endpointId}\u0000${message.notificationId}`;
      if (seen.has(line)) return false;
      seen.add(line);
      return true;
    });
  }

  /** Takes the message for one attempt until leaseUntil; false when another sender has it or it moved on. */
  async lease(message: MessageDoc, now: Date, leaseUntil: Date): Promise<boolean> {
    const { matchedCount } = await this.store
      .collection<MessageDoc>(COLLECTION)
      .updateOne({ _id: message._id, status: 'pending', attempts: message.attempts, leaseUntil: { $lte: now } }, { $set: { leaseUntil } });
    return matchedCount === 1;
  }

  async sent(message: MessageDoc, now: Date): Promise<void> {
    await this.store.collection<MessageDoc>(COLLECTION).updateOne(
      { _id: message._id, status: 'pending' },
      { $set: { status: 'sent', attempts: message.attempts + 1, lastError: '', leaseUntil: EPOCH, purgeAt: retentionEnd(now, this.retentionSeconds) } },
    );
  }

  /** An attempt failed: try again at retryAt, or dead-letter it when retryAt is null. */
  async failed(message: MessageDoc, error: string, now: Date, retryAt: Date | null): Promise<void> {
    const after = retryAt
      ? { nextAttemptAt: retryAt }
      : { status: 'dead' as const, deadAt: now, purgeAt: retentionEnd(now, this.retentionSeconds) };
    await this.store.collection<MessageDoc>(COLLECTION).updateOne(
      { _id: message._id, status: 'pending' },
      { $set: { ...after, attempts: message.attempts + 1, lastError: error, leaseUntil: EPOCH } },
    );
  }

  /** Dead letters, oldest first. */
  dead(endpointId: string, limit: number): Promise<MessageDoc[]> {
    return this.store
      .collection<MessageDoc>(COLLECTION)
      .find(endpointId ? { status: 'dead', endpointId } : { status: 'dead' }, { sort: { _id: 1 }, limit });
  }

  /** Puts dead letters back in line with their attempts starting over; how many. */
  async replay(filter: { messageIds: readonly string[] } | { endpointId: string }, now: Date): Promise<number> {
    const which = 'endpointId' in filter ? { endpointId: filter.endpointId } : { _id: { $in: [...filter.messageIds] } };
    const { modifiedCount } = await this.store.collection<MessageDoc>(COLLECTION).updateMany(
      { ...which, status: 'dead' },
      { $set: { status: 'pending', attempts: 0, nextAttemptAt: now, deadAt: null, purgeAt: null, leaseUntil: EPOCH } },
    );
    return modifiedCount;
  }

  /** Drops an endpoint's messages not yet sent; how many. */
  async dropPending(tx: TxScope, endpointId: string): Promise<number> {
    const { deletedCount } = await tx.collection<MessageDoc>(COLLECTION).deleteMany({ endpointId, status: 'pending' });
    return deletedCount;
  }
}
