// The webhook_endpoints collection: where state changes are POSTed, with each endpoint's signing secret and filters.
// Endpoints change rarely and every applied change consults them, so each replica keeps them in memory, reloaded
// when it changes them itself and at least every few seconds (another replica's change lands within that).
import type { DeliveryState } from '../../../gen/pulse/common/v1/delivery_pb.js';
import type { Doc, Store, TxScope } from '../../platform/store/collection.js';

export interface EndpointDoc extends Doc {
  url: string;
  /** "whsec_...". A credential: never logged, never returned after creation. */
  secret: string;
  notificationTypes: string[];
  states: DeliveryState[];
  description: string;
  createdAt: Date;
  createdBy: string;
}

const COLLECTION = 'webhook_endpoints';
const RELOAD_MS = 5_000;

export class EndpointsRepository {
  private cached: { endpoints: EndpointDoc[]; loadedAt: number } | undefined;

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  async insert(endpoint: EndpointDoc): Promise<void> {
    await this.store.collection<EndpointDoc>(COLLECTION).insertOne(endpoint);
    this.cached = undefined;
  }

  async delete(tx: TxScope, endpointId: string): Promise<boolean> {
    const { deletedCount } = await tx.collection<EndpointDoc>(COLLECTION).deleteOne({ _id: endpointId });
    this.cached = undefined;
    return deletedCount > 0;
  }

  get(endpointId: string): Promise<EndpointDoc | null> {
    return this.store.collection<EndpointDoc>(COLLECTION).findOne({ _id: endpointId });
  }

  /** Every endpoint, oldest first, as of at most a few seconds ago. */
  async all(): Promise<EndpointDoc[]> {
    if (this.cached && this.now() - this.cached.loadedAt < RELOAD_MS) return this.cached.endpoints;
    const endpoints = await this.store.collection<EndpointDoc>(COLLECTION).find({}, { sort: { createdAt: 1, _id: 1 } });
    this.cached = { endpoints, loadedAt: this.now() };
    return endpoints;
  }
}
