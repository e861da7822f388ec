// Accepting a notification, the one path shared by SendNotification(s) and the event consumers (review.required,
// assistance.requested): idempotency, rate limits (RPC callers only), delivery plan, then one unit of work holding
// the notification, its deliveries, their status event (which hands in-app deliveries due now to the inbox) and
// the jobs of the other deliveries due now. The plan is asked of preference before the unit of work opens: no
// network call ever waits inside a store transaction (which would hold it open for the call, and run the call again
// when the store retries the transaction).
//
// Idempotency rests on the unique index on idempotency_key. The read before it only spares a duplicate the rate
// limits and the plan lookup; two concurrent first sends both get past it, one insert wins, and the other finds
// the winner through the duplicate-key error.
import { Code, ConnectError } from '@connectrpc/connect';
import { type Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import { DeliveryDecision, type DeliveryPlan } from '../../gen/pulse/preference/v1/preference_service_pb.js';
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
import type { PlanCache } from './plan-cache.js';
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
  now?: () => Date;
}

/** Errors of preference that describe the request (a topic without routes, ...) reach the caller as they are. */
const CALLER_CODES = new Set([Code.NotFound, Code.InvalidArgument, Code.FailedPrecondition]);

export function createAccept(deps: AcceptDeps): Accept {
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

  async function resolvePlans(req: AcceptRequest): Promise<DeliveryPlan[]> {
    try {
      const { plans, cached } = await deps.plans.get(req);
      deps.metrics.planLookups.inc({ result: cached ? 'hit' : 'miss' });
      return plans;
    } catch (err) {
      const error = ConnectError.from(err);
      if (CALLER_CODES.has(error.code)) throw error;
      throw unavailable(`the preference service could not plan the delivery (${codeName(error.code)}); nothing was stored, retry with the same idempotency_key`);
    }
  }

  return async function accept(req, options = {}) {
    const print = fingerprint(req);
    const existing = await deps.notifications.byKey(req.idempotencyKey);
    if (existing) return asDuplicate(existing, print);

    const baseLimits: LimitKey[] = [];
    if (options.caller !== undefined) {
      baseLimits.push({ limit: 'caller', key: options.caller }, { limit: 'global', key: '' });
      if (req.recipient.userId !== undefined) baseLimits.push({ limit: 'user', key: req.recipient.userId });
      limit(baseLimits, false); // refuse early, before asking preference
    }
    const plans = await resolvePlans(req);
    const at = now();
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
    };
    const planned = planDeliveries(notification, plans, { now: at, providerName: deps.providerName, digestWindowMs: deps.digestWindowMs });
    if (options.caller !== undefined) limit([...baseLimits, ...channelLimits(plans)], true);

    let deliveries: DeliveryDoc[];
    try {
      deliveries = await deps.transaction(async (tx) => {
        const stored = await deps.engine.accept(tx, notification, planned, at);
        for (const delivery of stored) {
          // Due now and still waiting for a provider (in-app ones were handed to the inbox with the acceptance).
          if (delivery.state === DeliveryState.ACCEPTED && delivery.jobId) {
            await tx.emit(laneRoutingKey(laneOf(delivery.priority)), deliveryJob(delivery, delivery.jobId, 1, at));
          }
        }
        return stored;
      });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const winner = await deps.notifications.byKey(req.idempotencyKey);
      if (!winner) throw err;
      return asDuplicate(winner, print);
    }
    record(deps.metrics, notification, planned, deliveries);
    return { notification, deliveries, duplicate: false };
  };
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
      metrics.deferred.inc({ channel: channelLabel(d.channel), reason: d.reason === 'quiet hours' ? 'quiet_hours' : 'digest' });
    }
  }
  for (const d of stored) {
    if (d.state !== DeliveryState.SENT) continue; // handed to the inbox on acceptance
    metrics.attempts.inc({ channel: channelLabel(d.channel), outcome: 'sent' });
    metrics.deliveryLatency.observe({ channel: channelLabel(d.channel), priority: priorityLabel(d.priority) }, 0);
  }
}
