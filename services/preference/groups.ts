// The groups collection: named sets of users (such as "reviewers") that topic routes can name, so an alert reaches
// each member as a person. Keyed by name; a write replaces the members.
import type { Doc, Store, TxScope } from '../platform/store/collection.js';

export interface GroupDoc extends Doc {
  /** Sorted, each once. */
  userIds: string[];
  updatedAt: Date;
}

const COLLECTION = 'groups';

export class GroupsRepository {
  constructor(private readonly store: Store) {}

  /** Creates the group or replaces its members; created is true when it did not exist. */
  async upsert(tx: TxScope, name: string, userIds: readonly string[], now: Date): Promise<{ group: GroupDoc; created: boolean }> {
    const group: GroupDoc = { _id: name, userIds: [...new Set(userIds)].sort(), updatedAt: now };
    const before = await tx
      .collection<GroupDoc>(COLLECTION)
      .findOneAndUpdate({ _id: name }, { $set: { userIds: group.userIds, updatedAt: now } }, { upsert: true, returnDocument: 'before' });
    return { group, created: before === null };
  }

  /** Removes the group; false when there was none. */
  async delete(tx: TxScope, name: string): Promise<boolean> {
    const { deletedCount } = await tx.collection<GroupDoc>(COLLECTION).deleteOne({ _id: name });
    return deletedCount > 0;
  }

  /** The named groups that exist. */
  some(names: readonly string[]): Promise<GroupDoc[]> {
    return names.length === 0 ? Promise.resolve([]) : this.store.collection<GroupDoc>(COLLECTION).find({ _id: { $in: [...names] } });
  }

  /** Every group, by name. */
  list(): Promise<GroupDoc[]> {
    return this.store.collection<GroupDoc>(COLLECTION).find({}, { sort: { _id: 1 } });
  }
}
