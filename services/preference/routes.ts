// The topic_routes collection: where each topic's notifications go. A route's identity is its topic, kind, channel,
// target kind and target, which also make its _id, so concurrent upserts of one route meet on one document.
import { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import { RouteKind, RouteTargetKind } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { type Doc, isDuplicateKey, type Store, type TxScope } from '../platform/store/collection.js';

export interface RouteKey {
  topic: string;
  /** UNSPECIFIED for a route to a user or group: their preferences choose the channels. */
  channel: Channel;
  target: string;
  kind: RouteKind;
  /** ADDRESS, USER or GROUP (never UNSPECIFIED). */
  targetKind: RouteTargetKind;
}

export interface RouteDoc extends Doc, Omit<RouteKey, 'targetKind'> {
  /** Absent on routes stored before routes could name people: those are addresses. */
  targetKind?: RouteTargetKind;
  updatedAt: Date;
}

export const targetKindOf = (route: Pick<RouteDoc, 'targetKind'>): RouteTargetKind => route.targetKind || RouteTargetKind.ADDRESS;

interface MarkerDoc extends Doc {
  at: Date;
}

const COLLECTION = 'topic_routes';
const MARKERS = 'markers';
const SEEDED = 'topic_routes.seeded';

/** Routes a fresh installation starts with; seeded once, so deleting one sticks. */
export const DEFAULT_ROUTES: readonly RouteKey[] = [
  { topic: 'review', channel: Channel.IN_APP, target: 'reviewers', kind: RouteKind.PRIMARY, targetKind: RouteTargetKind.ADDRESS },
  { topic: 'review', channel: Channel.IN_APP, target: 'team-leads', kind: RouteKind.ESCALATION, targetKind: RouteTargetKind.ADDRESS },
  { topic: 'sales', channel: Channel.SLACK, target: '#sales', kind: RouteKind.PRIMARY, targetKind: RouteTargetKind.ADDRESS },
  { topic: 'pricing', channel: Channel.EMAIL, target: 'pricing@example.com', kind: RouteKind.PRIMARY, targetKind: RouteTargetKind.ADDRESS },
];

/** Address routes keep the id they had before routes could name people. */
function routeId(key: RouteKey): string {
  return key.targetKind === RouteTargetKind.ADDRESS
    ? JSON.stringify([key.topic, key.kind, key.channel, key.target])
    : JSON.stringify([key.topic, key.kind, RouteTargetKind[key.targetKind].toLowerCase(), key.target]);
}

export class RoutesRepository {
  constructor(private readonly store: Store) {}

  async init(): Promise<void> {
    await this.store.collection<RouteDoc>(COLLECTION).createIndex({ topic: 1, channel: 1 });
  }

  /**
   * Writes DEFAULT_ROUTES unless this store was ever seeded; true when it seeded now. The marker and the routes
   * commit together, and replicas starting at once meet on the marker's _id.
   */
  async seedDefaults(now: Date): Promise<boolean> {
    try {
      await this.store.transaction(async (tx) => {
        await tx.collection<MarkerDoc>(MARKERS).insertOne({ _id: SEEDED, at: now });
        for (const route of DEFAULT_ROUTES) await this.upsert(tx, route, now);
      });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  async upsert(tx: TxScope, key: RouteKey, now: Date): Promise<{ route: RouteDoc; created: boolean }> {
    const _id = routeId(key);
    const before = await tx
      .collection<RouteDoc>(COLLECTION)
      .findOneAndUpdate(
        { _id },
        {
          $set: { updatedAt: now },
          $setOnInsert: { topic: key.topic, channel: key.channel, target: key.target, kind: key.kind, targetKind: key.targetKind },
        },
        { upsert: true, returnDocument: 'before' },
      );
    return { route: { _id, ...key, updatedAt: now }, created: before === null };
  }

  /** Removes the route; false when there was none. */
  async delete(tx: TxScope, key: RouteKey): Promise<boolean> {
    const { deletedCount } = await tx.collection<RouteDoc>(COLLECTION).deleteOne({ _id: routeId(key) });
    return deletedCount > 0;
  }

  countOf(tx: TxScope, topic: string): Promise<number> {
    return tx.collection<RouteDoc>(COLLECTION).countDocuments({ topic });
  }

  /** Routes of one topic, or of all, by topic, channel, kind and target. */
  list(topic?: string): Promise<RouteDoc[]> {
    return this.store
      .collection<RouteDoc>(COLLECTION)
      .find(topic ? { topic } : {}, { sort: { topic: 1, channel: 1, kind: 1, target: 1 } });
  }

  /** Topics with a route naming the group, sorted. */
  async namingGroup(tx: TxScope, group: string): Promise<string[]> {
    const routes = await tx.collection<RouteDoc>(COLLECTION).find({ target: group, targetKind: RouteTargetKind.GROUP });
    return [...new Set(routes.map((route) => route.topic))].sort();
  }

  /** Topics whose primary route names the user (the user's subscriptions), sorted. */
  async subscribedBy(userId: string): Promise<string[]> {
    const routes = await this.store.collection<RouteDoc>(COLLECTION).find({ target: userId, targetKind: RouteTargetKind.USER });
    return [...new Set(routes.filter((r) => (r.kind || RouteKind.PRIMARY) === RouteKind.PRIMARY).map((r) => r.topic))].sort();
  }

  /** Every topic with a route, sorted. */
  async topics(): Promise<string[]> {
    return [...new Set((await this.list()).map((route) => route.topic))];
  }
}
