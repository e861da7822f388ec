// A short-lived cache of ResolveDelivery answers, keyed by recipient, type, priority and route kind. Bursts to one
// recipient (a batch, a busy topic) cost one preference call; concurrent misses share one call.
//
// Staleness is bounded twice: a preference.changed event drops the subject's entries on the replica that consumes
// it (the queue is shared, so one replica hears each event), and every entry expires after a few seconds, so the
// other replicas converge within the TTL. Topic routes may name people and groups, so a user's or a group's change
// drops every topic's entries too. A plan says "deliver now" or "defer until T" as of when it was resolved,
// so quiet hours starting within the TTL may let a delivery through up to TTL late: accepted, and the reason the TTL
// stays short.
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Client } from '@connectrpc/connect';
import type { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { DeliveryPlan, PreferenceService, RouteKind } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { type RecipientRef, toRecipient } from './notifications.js';

export interface PlanKey {
  recipient: RecipientRef;
  notificationType: string;
  priority: Priority;
  routeKind: RouteKind;
  /** An escalation step's plan: as of its time, for its channel only. Never cached. */
  step?: { at: Date; channel: Channel };
}

interface Entry {
  plans: DeliveryPlan[];
  expiresAt: number;
}

const MAX_ENTRIES = 10_000;

function subjectOf(recipient: RecipientRef): string {
  return recipient.userId !== undefined ? `user:${recipient.userId}` : `topic:${recipient.topic ?? ''}`;
}

export class PlanCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<DeliveryPlan[]>>();
  /** Last invalidation per subject: an answer fetched before it must not be cached after it. */
  private readonly invalidatedAt = new Map<string, number>();
  /** Last invalidation of every topic. */
  private topicsInvalidatedAt = -Infinity;

  constructor(
    private readonly resolve: (key: PlanKey) => Promise<DeliveryPlan[]>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: PlanKey): Promise<{ plans: DeliveryPlan[]; cached: boolean }> {
    if (this.ttlMs <= 0 || key.step) return { plans: await this.resolve(key), cached: false };
    const isTopic = key.recipient.userId === undefined;
    const id = `${subjectOf(key.recipient)}\u0000${key.notificationType}\u0000${key.priority}\u0000${key.routeKind}`;
    const entry = this.entries.get(id);
    if (entry && entry.expiresAt > this.now()) return { plans: entry.plans, cached: true };
    let pending = this.inFlight.get(id);
    if (!pending) {
      const startedAt = this.now();
      const subject = subjectOf(key.recipient);
      pending = this.resolve(key).then(
        (plans) => {
          this.inFlight.delete(id);
          const invalidated = Math.max(this.invalidatedAt.get(subject) ?? -Infinity, isTopic ? this.topicsInvalidatedAt : -Infinity);
          if (invalidated < startedAt) this.store(id, plans);
          return plans;
        },
        (err: unknown) => {
          this.inFlight.delete(id);
          throw err;
        },
      );
      this.inFlight.set(id, pending);
    }
    return { plans: await pending, cached: false };
  }

  /** Drops every plan of a user or topic (its preferences or routes changed). */
  invalidate(recipient: RecipientRef): void {
    const subject = subjectOf(recipient);
    this.invalidatedAt.set(subject, this.now());
    this.drop(`${subject}\u0000`);
  }

  /** Drops the plans of every topic (a person or group that routes may name changed). */
  invalidateTopics(): void {
    this.topicsInvalidatedAt = this.now();
    this.drop('topic:');
  }

  private drop(prefix: string): void {
    for (const id of this.entries.keys()) if (id.startsWith(prefix)) this.entries.delete(id);
    // Answers already in flight were asked before the change: let them finish, but not be reused.
    for (const id of this.inFlight.keys()) if (id.startsWith(prefix)) this.inFlight.delete(id);
  }

  private store(id: string, plans: DeliveryPlan[]): void {
    this.entries.delete(id);
    if (this.entries.size >= MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(id, { plans, expiresAt: this.now() + this.ttlMs });
    if (this.invalidatedAt.size > MAX_ENTRIES) this.pruneInvalidations();
  }

  private pruneInvalidations(): void {
    const horizon = this.now() - this.ttlMs * 2;
    for (const [subject, at] of this.invalidatedAt) if (at < horizon) this.invalidatedAt.delete(subject);
  }
}

/** Asks preference for a plan, as of now (an escalation step's: as of its time). */
export function preferenceResolver(client: Client<typeof PreferenceService>, now: () => Date = () => new Date()) {
  return async (key: PlanKey): Promise<DeliveryPlan[]> => {
    const { plans } = await client.resolveDelivery({
      recipient: toRecipient(key.recipient),
      notificationType: key.notificationType,
      priority: key.priority,
      routeKind: key.routeKind,
      at: timestampFromDate(key.step?.at ?? now()),
      channels: key.step ? [key.step.channel] : [],
    });
    return plans;
  };
}
