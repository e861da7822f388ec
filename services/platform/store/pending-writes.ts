// The writes one write operation of the embedded store plans, over what its session sees. A bulk write runs its
// operations in order, each seeing the ones before it (as the driver's ordered bulk write does), and commits them
// as one plan; single operations are bulk writes of one.
import type { Doc, Filter } from './collection.js';
import type { CollectionState } from './collection-state.js';
import { matcher } from './query.js';
import type { Plan, Session } from './sessions.js';

export class PendingWrites<T extends Doc> {
  /** id -> the operation's latest version of it (null: deleted), in the order first written. */
  private readonly docs = new Map<string, T | null>();

  constructor(
    private readonly state: CollectionState<T>,
    private readonly session: Session,
  ) {}

  /** The version of id the next operation sees. */
  visible(id: string): T | undefined {
    if (this.docs.has(id)) return this.docs.get(id) ?? undefined;
    return this.session.visible(this.state, id);
  }

  /** The first document matching filter as the next operation sees it: the session's order, then this plan's new ones. */
  first(filter: Filter): T | undefined {
    const own = this.docs.size > 0;
    const matches = own ? matcher(filter) : undefined;
    for (const doc of this.session.candidates(this.state, filter)) {
      if (!own || !this.docs.has(doc._id)) return doc;
      const mine = this.docs.get(doc._id);
      if (mine && matches!(mine)) return mine;
    }
    if (!own) return undefined;
    for (const doc of this.docs.values()) if (doc && matches!(doc)) return doc;
    return undefined;
  }

  set(id: string, doc: T | null): void {
    this.docs.set(id, doc);
  }

  /** The plan: one write per document touched, its final version. */
  plan<R>(result: R, error?: Error): Plan<R> {
    return { writes: [...this.docs].map(([id, doc]) => ({ id, doc })), result, error };
  }
}
