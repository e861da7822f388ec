// The devices collection: the browsers (Web Push subscriptions) and phones (FCM registration tokens) each user
// receives CHANNEL_PUSH on. A device's id is derived from its registration (the subscription endpoint, or the
// token), so registering the same one again updates it instead of adding a second copy, and a device re-registered
// by another user moves to that user. The keys and tokens are secrets of the push channel: they leave this service
// only through GetDevice (delivery:resolve), never in lists.
import { createHash } from 'node:crypto';
import type { Doc, Store, TxScope } from '../platform/store/collection.js';

export type Registration = { kind: 'web_push'; endpoint: string; p256dh: string; auth: string } | { kind: 'fcm'; token: string };

export interface DeviceDoc extends Doc {
  userId: string;
  registration: Registration;
  label: string;
  createdAt: Date;
  updatedAt: Date;
}

const COLLECTION = 'devices';
export const MAX_DEVICES_PER_USER = 20;

export function deviceIdOf(registration: Registration): string {
  const identity = registration.kind === 'web_push' ? `web_push:${registration.endpoint}` : `fcm:${registration.token}`;
  return `dev_${createHash('sha256').update(identity).digest('base64url').slice(0, 26)}`;
}

export class DevicesRepository {
  constructor(private readonly store: Store) {}

  private get collection() {
    return this.store.collection<DeviceDoc>(COLLECTION);
  }

  async init(): Promise<void> {
    await this.collection.createIndex({ userId: 1, createdAt: 1 });
  }

  get(deviceId: string): Promise<DeviceDoc | null> {
    return this.collection.findOne({ _id: deviceId });
  }

  /** A user's devices, oldest first. */
  ofUser(userId: string, tx?: TxScope): Promise<DeviceDoc[]> {
    return (tx ?? this.store).collection<DeviceDoc>(COLLECTION).find({ userId }, { sort: { createdAt: 1, _id: 1 } });
  }

  /** The device ids of each of these users. */
  async idsOf(userIds: readonly string[]): Promise<Map<string, string[]>> {
    const ids = new Map<string, string[]>();
    if (userIds.length === 0) return ids;
    for (const doc of await this.collection.find({ userId: { $in: [...userIds] } }, { sort: { createdAt: 1, _id: 1 } })) {
      ids.set(doc.userId, [...(ids.get(doc.userId) ?? []), doc._id]);
    }
    return ids;
  }

  /** Stores the device for the user; created is false when it was registered before (by anyone). */
  async register(tx: TxScope, userId: string, registration: Registration, label: string, now: Date): Promise<{ device: DeviceDoc; created: boolean }> {
    const devices = tx.collection<DeviceDoc>(COLLECTION);
    const _id = deviceIdOf(registration);
    const before = await devices.findOneAndUpdate(
      { _id },
      { $set: { userId, registration, label, updatedAt: now }, $setOnInsert: { createdAt: now } },
      { upsert: true, returnDocument: 'before' },
    );
    const device: DeviceDoc = { _id, userId, registration, label, createdAt: before?.createdAt ?? now, updatedAt: now };
    return { device, created: before === null };
  }

  /** Removes the device (of that user, when given); the user it belonged to, or null when there was none. */
  async remove(tx: TxScope, deviceId: string, userId?: string): Promise<string | null> {
    const devices = tx.collection<DeviceDoc>(COLLECTION);
    const existing = await devices.findOne({ _id: deviceId });
    if (!existing || (userId !== undefined && existing.userId !== userId)) return null;
    const { deletedCount } = await devices.deleteOne({ _id: deviceId });
    return deletedCount > 0 ? existing.userId : null;
  }
}
