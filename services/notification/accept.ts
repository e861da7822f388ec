// Accepting a notification, the one path shared by SendNotification(s) and the event consumers (review.required,
// assistance.requested): idempotency, rate limits (RPC callers only), delivery plan, then one unit of work holding
// the notification, its deliveries, their status event (which hands in-app deliveries due now to the inbox) and
// the jobs of the other deliveries due now. A SendNotifications batch is accepted the same way with every new
// notification in one unit of work (one transaction, one journal frame, one publish), which is most of what each
// notification cost; should another request take one of its idempotency keys meanwhile, the batch falls back to
// one unit of work per notification, so each item still gets its own answer. A notification with an escalation ladder
// also has each step planned, as of the step's time (ladder.ts). The plan is asked of preference before the unit of work opens: no
// network call ever waits inside a store transaction (which would hold it open for the call, and run the call again
// when the store retries the transaction).
//
// Idempotency rests on the unique index on idempotency_key. The read before it only spares a duplicate the rate
// limits and the plan lookup; two concurrent first sends both get past it, one insert wins, and the other finds
// the winner through the duplicate-key error.
import { Code, ConnectError } from '@connectrpc/connect';
import { type Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import { DeliveryDecision, type DeliveryPlan } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { mapConcurrent } from '../platform/concurrency.js';
import { alreadyExists, codeName, unavailable } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { isDuplicateKey } from '../platform/store/collection.js';
import type { Transact } from '../platform/unit-of-work.js';
import type { DeliveryDoc, DeliveryRepository } from './deliveries.js';
import type { DeliveryEngine } from './delivery-engine.js';
import { fingerprint, type FingerprintInput } from './fingerprint.js';
import { deliveryJob, laneOf, laneRoutingKey } from './lanes.js';
import { channelLabel, type NotificationMetrics, priorityLabel } from './metrics.js';
import type { NotificationDoc, NotificationRepository } from './notifications.js';
import { type DefaultLadders, ladderFor, stepDueAt } from './ladder.js';
import type { PlanCache, PlanKey } from './plan-cache.js';
import { planDeliveries } from './planning.js';
import { type LimitKey, type RateLimiter, refusalMessage, retryAfterSeconds } from './rate-limit.js';

export interface AcceptRequest extends FingerprintInput {
  idempotencyKey: string;
  /** The calling client's name, or "review" / "ingestion". */
  source: string;
  causeId: string;
}

export interface Accepted {
  notification: NotificationDoc;
  deliveries: DeliveryDoc[];
  duplicate: boolean;
}

export interface AcceptOptions {
  /** The authenticated caller of an RPC: its sends are rate-limited. Event-driven notifications have none. */
  caller?: string;
}

export type Accept = (req: AcceptRequest, options?: AcceptOptions) => Promise<Accepted>;

/** Each item's outcome, in order: accepted (or a duplicate), or the error that refused it. */
export type AcceptMany = (items: readonly AcceptRequest[], options?: AcceptOptions) => Promise<Array<Accepted | { error: unknown }>>;

/** A new notification, planned and past its rate limits, not yet stored. */
interface Prepared {
  req: AcceptRequest;
  print: string;
  notification: NotificationDoc;
  planned: DeliveryDoc[];
}

/** Items whose plans are asked of preference at once in a batch. */
const PLAN_CONCURRENCY = 16;

export interface AcceptDeps {
  notifications: NotificationRepository;
  deliveries: DeliveryRepository;
  engine: DeliveryEngine;
  transaction: Transact;
  plans: PlanCache;
  limiter: RateLimiter;
  metrics: NotificationMetrics;
  /** The provider that serves a channel ("inbox" for in-app). */
  providerName: (channel: Channel) => string;
  digestWindowMs: number;
  /** Default escalation ladders per notification type (ladder.ts); none when absent. */
  ladders?: DefaultLadders;
  now?: () => Date;
}

/** Errors of preference that describe the request (a topic without routes, ...) reach the caller as they are. */
const CALLER_CODES = new Set([Code.NotFound, Code.InvalidArgument, Code.FailedPrecondition]);

export function createAccept(deps: AcceptDeps): { accept: Accept; acceptMany: AcceptMany } {
  const now = deps.now ?? (() => new Date());

  async function asDuplicate(existing: NotificationDoc, print: string): Promise<Accepted> {
    if (existing.fingerprint !== print) {
      throw alreadyExists(
        `idempotency_key "${existing.idempotencyKey}" was already used for a different request (notification ${existing._id})`,
      );
    }
    deps.metrics.duplicates.inc();
    return { notification: existing, deliveries: await deps.deliveries.byNotification(existing._id), duplicate: true };
  }

  function limit(keys: LimitKey[], take: boolean): void {
    const refusal = take ? deps.limiter.take(keys) : deps.limiter.check(keys);
    if (!refusal) return;
    deps.metrics.rateLimited.inc({ limit: refusal.limit });
    throw new ConnectError(refusalMessage(refusal), Code.ResourceExhausted, { 'retry-after': String(retryAfterSeconds(refusal)) });
  }

  async function resolvePlans(key: PlanKey): Promise<DeliveryPlan[]> {
    try {
      const { plans, cached } = await deps.plans.get(key);
      deps.metrics.planLookups.inc({ result: cached ? 'hit' : 'miss' });
      return plans;
    } catch (err) {
      const error = ConnectError.from(err);
      if (CALLER_CODES.has(error.code)) throw error;
      throw unavailable(`the preference service could not plan the delivery (${codeName(error.code)}); nothing was stored, retry with the same idempotency_key`);
    }
  }

  /** Duplicate (found before any work), or the notification planned and past its limits. */
  async function prepare(req: AcceptRequest, options: AcceptOptions, existing: NotificationDoc | null): Promise<Accepted | Prepared> {
    const print = fingerprint(req);
    if (existing) return asDuplicate(existing, print);
    const baseLimits: LimitKey[] = [];
    if (options.caller !== undefined) {
      baseLimits.push({ limit: 'caller', key: options.caller }, { limit: 'global', key: '' });
      if (req.recipient.userId !== undefined) baseLimits.push({ limit: 'user', key: req.recipient.userId });
      limit(baseLimits, false); // refuse early, before asking preference
    }
    const plans = await resolvePlans(req);
    const at = now();
    // Each step of the ladder is planned now, as of its own time, and waits in the store until then (ladder.ts).
    const ladder = ladderFor(req.escalation ?? [], deps.ladders ?? new Map(), req.notificationType, req.priority);
    const steps = ladder.map((step, i) => ({ index: i + 1, channel: step.channel, dueAt: stepDueAt(at, step) }));
    const stepPlans = await Promise.all(steps.map(({ channel, dueAt }) => resolvePlans({ ...req, step: { at: dueAt, channel } })));
    const notification: NotificationDoc = {
      _id: newId('ntf'),
      idempotencyKey: req.idempotencyKey,
      fingerprint: print,
      recipient: req.recipient,
      notificationType: req.notificationType,
      priority: req.priority,
      routeKind: req.routeKind,
      content: req.content,
      source: req.source,
      causeId: req.causeId,
      createdAt: at,
      expiresAt: req.expiresAt,
      ...(ladder.length > 0 ? { escalation: ladder } : {}),
    };
    const planning = { now: at, providerName: deps.providerName, digestWindowMs: deps.digestWindowMs };
    const planned = [
      ...planDeliveries(notification, plans, planning),
      ...steps.flatMap(({ index, dueAt }, i) => planDeliveries(notification, stepPlans[i], { ...planning, step: { index, dueAt } })),
    ];
    if (options.caller !== undefined) limit([...baseLimits, ...channelLimits(plans)], true);
    return { req, print, notification, planned };
  }

  /** Stores the notifications in one unit of work; each one's deliveries as stored. */
  async function store(batch: readonly Prepared[]): Promise<DeliveryDoc[][]> {
    const at = now();
    const stored = await deps.transaction(async (tx) => {
      const all: DeliveryDoc[][] = [];
      for (const { notification, planned } of batch) {
        const deliveries = await deps.engine.accept(tx, notification, planned, at);
        for (const delivery of deliveries) {
          // Due now and still waiting for a provider (in-app ones were handed to the inbox with the acceptance).
          if (delivery.state === DeliveryState.ACCEPTED && delivery.jobId) {
            await tx.emit(laneRoutingKey(laneOf(delivery.priority)), deliveryJob(delivery, delivery.jobId, 1, at));
          }
        }
        all.push(deliveries);
      }
      return all;
    });
    batch.forEach(({ notification, planned }, i) => record(deps.metrics, notification, planned, stored[i]));
    return stored;
  }

  /** Stores one notification; when its key was taken meanwhile, the winner as a duplicate. */
  async function storeOne(prepared: Prepared): Promise<Accepted> {
    try {
      const [deliveries] = await store([prepared]);
      return { notification: prepared.notification, deliveries, duplicate: false };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const winner = await deps.notifications.byKey(prepared.req.idempotencyKey);
      if (!winner) throw err;
      return asDuplicate(winner, prepared.print);
    }
  }

  const accept: Accept = async (req, options = {}) => {
    const prepared = await prepare(req, options, await deps.notifications.byKey(req.idempotencyKey));
    return 'planned' in prepared ? storeOne(prepared) : prepared;
  };

  const acceptMany: AcceptMany = async (items, options = {}) => {
    const existing = await deps.notifications.byKeys(items.map((item) => item.idempotencyKey));
    const firstWithKey = new Map<string, number>();
    type Outcome = Accepted | Prepared | { error: unknown } | { sameAs: number };
    const outcomes = await mapConcurrent(items, PLAN_CONCURRENCY, async (req, index): Promise<Outcome> => {
      // A key repeated within the batch is the first item's duplicate, settled once that one is stored.
      if (!existing.has(req.idempotencyKey)) {
        const first = firstWithKey.get(req.idempotencyKey);
        if (first !== undefined) return { sameAs: first };
        firstWithKey.set(req.idempotencyKey, index);
      }
      try {
        return await prepare(req, options, existing.get(req.idempotencyKey) ?? null);
      } catch (error) {
        return { error };
      }
    });
    const fresh = outcomes.filter((o): o is Prepared => 'planned' in o);
    const results = new Map<Prepared, Accepted | { error: unknown }>();
    try {
      const stored = fresh.length > 0 ? await store(fresh) : [];
      fresh.forEach((p, i) => results.set(p, { notification: p.notification, deliveries: stored[i], duplicate: false }));
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // Another request took one of the keys: each on its own, so only that one turns into a duplicate.
      for (const p of fresh) results.set(p, await storeOne(p).catch((error: unknown) => ({ error })));
    }
    const settled: Array<Accepted | { error: unknown }> = [];
    for (const [index, o] of outcomes.entries()) {
      if ('planned' in o) settled.push(results.get(o)!);
      else if (!('sameAs' in o)) settled.push(o);
      else {
        const first = settled[o.sameAs]; // earlier in the batch, so settled already
        // The first was refused: so is its repeat.
        settled.push('notification' in first ? await asDuplicate(first.notification, fingerprint(items[index])).catch((error: unknown) => ({ error })) : first);
      }
    }
    return settled;
  };

  return { accept, acceptMany };
}

/** One token per delivery that will reach a provider, per channel. */
function channelLimits(plans: readonly DeliveryPlan[]): LimitKey[] {
  const perChannel = new Map<Channel, number>();
  for (const plan of plans) {
    if (plan.decision !== DeliveryDecision.SUPPRESS) perChannel.set(plan.channel, (perChannel.get(plan.channel) ?? 0) + 1);
  }
  return [...perChannel].map(([channel, cost]) => ({ limit: 'channel', key: channelLabel(channel), cost }));
}

function record(metrics: NotificationMetrics, notification: NotificationDoc, planned: readonly DeliveryDoc[], stored: readonly DeliveryDoc[]): void {
  metrics.accepted.inc({ priority: priorityLabel(notification.priority) });
  for (const d of planned) {
    metrics.deliveriesPlanned.inc({ channel: channelLabel(d.channel), state: (DeliveryState[d.state] ?? 'unknown').toLowerCase() });
    if (d.state === DeliveryState.DEFERRED) {
      const reason = d.reason === 'quiet hours' ? 'quiet_hours' : d.escalationStep ? 'escalation' : 'digest';
      metrics.deferred.inc({ channel: channelLabel(d.channel), reason });
    }
  }
  for (const d of stored) {
    if (d.state !== DeliveryState.SENT) continue; // handed to the inbox on acceptance
    metrics.attempts.inc({ channel: channelLabel(d.channel), outcome: 'sent' });
    metrics.deliveryLatency.observe({ channel: channelLabel(d.channel), priority: priorityLabel(d.priority) }, 0);
  }
}
