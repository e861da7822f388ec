// The preferences collection: one document per user who changed anything, keyed by user id. Users without one get
// the defaults. Every write is conditional, so the version moves by exactly one per successful update.
import type { Doc, Store, TxScope } from '../platform/store/collection.js';
import { type Changes, untouchedDefaults } from './field-mask.js';
import type { UserPreferences } from './user-preferences.js';

export interface PreferencesDoc extends Doc, UserPreferences {
  version: number;
  updatedAt: Date;
}

const COLLECTION = 'preferences';

export class PreferencesRepository {
  constructor(private readonly store: Store) {}

  get(userId: string): Promise<PreferencesDoc | null> {
    return this.store.collection<PreferencesDoc>(COLLECTION).findOne({ _id: userId });
  }

  /** The stored preferences of those users who have any. */
  some(userIds: readonly string[]): Promise<PreferencesDoc[]> {
    return userIds.length === 0 ? Promise.resolve([]) : this.store.collection<PreferencesDoc>(COLLECTION).find({ _id: { $in: [...userIds] } });
  }

  /**
   * Applies changes and moves the version on by one, atomically. With expectedVersion > 0 the write happens only if
   * the stored version still equals it (null otherwise: stale); with 0 it applies to whatever is stored, creating
   * the document from the defaults on a user's first update.
   */
  update(tx: TxScope, userId: string, changes: Changes, expectedVersion: number, now: Date): Promise<PreferencesDoc | null> {
    const preferences = tx.collection<PreferencesDoc>(COLLECTION);
    const update = { $set: { ...changes, updatedAt: now }, $inc: { version: 1 } };
    if (expectedVersion > 0) {
      return preferences.findOneAndUpdate({ _id: userId, version: expectedVersion }, update, { returnDocument: 'after' });
    }
    const defaults = untouchedDefaults(changes);
    // MongoDB refuses an empty operator, and a change of every field leaves no default to fill.
    const insert = Object.keys(defaults).length > 0 ? { $setOnInsert: defaults } : {};
    return preferences.findOneAndUpdate({ _id: userId }, { ...update, ...insert }, { upsert: true, returnDocument: 'after' });
  }
}
