// The delivery worker: handles one job from a priority lane. The store is the source of truth; the job only names
// the deliveries (one, or the members of a LOW digest) that hold its job id. For each job:
//   1. deliveries already past this attempt, or held by another job, are left alone (duplicate or stale job);
//   2. expired ones become EXPIRED, and a step of an escalation ladder is held back once the notification was read;
//   3. an open breaker defers them until it reopens, without using up an attempt;
//   4. they are marked PROCESSING (attempt n) with a conditional update, so only one worker sends an attempt (not
//      reported to status: the outcome is, with its attempt);
//   5. the provider is called through its breaker, with a deadline: the channel's primary, or its failover provider
//      when the previous attempt failed on the primary or the primary's breaker is open (providers/failover.ts);
//   6. the outcome moves them on: SENT / DELIVERED, or the next step of the retry policy (retry-policy.ts).
// A job redelivered after a crash finds its deliveries PROCESSING for its attempt: once the processing lease has run
// out, that is an unknown outcome and goes through the same policy (the scheduler does the same for deliveries
// whose job is gone). In-app deliveries are "sent" by handing the content to the status service's inbox; only those
// that waited (quiet hours) come here, the others are handed over on acceptance (delivery-engine.ts).
//
// Each step is its own unit of work, never the consumer's: a provider call must not sit inside a store transaction
// that MongoDB may run twice. Every change of a delivery is a move of the delivery engine (delivery-engine.ts).
import { Code, ConnectError } from '@connectrpc/connect';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { DeliveryJob } from '../../gen/pulse/notification/v1/delivery_job_pb.js';
import { throughBreaker } from '../platform/breaker.js';
import type { Logger } from '../platform/log.js';
import { annotate } from '../platform/span-ids.js';
import type { Admission, BreakerGate } from './breaker-gate.js';
import { giveUpAfterMs } from './config.js';
import type { DeliveryDoc, DeliveryRepository } from './deliveries.js';
import type { DeliveryEngine } from './delivery-engine.js';
import { digestContent } from './digest.js';
import type { LadderGate } from './ladder-gate.js';
import { channelLabel, type NotificationMetrics, priorityLabel } from './metrics.js';
import type { NotificationDoc, NotificationRepository } from './notifications.js';
import { chooseProvider } from './providers/failover.js';
import { type ChannelProvider, type OutgoingMessage, ProviderError, type SendResult } from './providers/provider.js';
import { classify, type Failure, nextStep, type NextStep, type RetryPolicy } from './retry-policy.js';
import { applyTemplate, type TemplateCache } from './template-cache.js';
import { handOverToInbox, moveFor } from './transitions.js';

const S = DeliveryState;

export interface WorkerDeps {
  deliveries: DeliveryRepository;
  notifications: NotificationRepository;
  engine: DeliveryEngine;
  providers: ReadonlyMap<Channel, ChannelProvider>;
  /** Each channel's failover provider, if it has one. */
  failovers?: ReadonlyMap<Channel, ChannelProvider>;
  gate(provider: ChannelProvider): BreakerGate;
  policy: RetryPolicy;
  sendTimeoutMs: number;
  processingLeaseMs: number;
  metrics: NotificationMetrics;
  log: Logger;
  /** Templates per type, channel and locale; without them every message has its provider's fixed layout. */
  templates?: TemplateCache;
  /** Holds back steps of an escalation ladder once the notification was read (ladder-gate.ts). */
  ladder?: Pick<LadderGate, 'goesOn'>;
  now?: () => Date;
  random?: () => number;
}

type Outcome = { ok: true; result: SendResult } | { ok: false; failure: Failure };

/** throughBreaker turns a refused call into `unavailable`; providers report their own failures as ProviderError. */
function breakerRefused(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.Unavailable;
}

export class DeliveryWorker {
  private readonly now: () => Date;

  constructor(private readonly deps: WorkerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async handle(job: DeliveryJob): Promise<void> {
    annotate({ 'pulse.notification_id': job.notificationId, 'pulse.delivery_id': job.deliveryId, 'pulse.job_id': job.jobId });
    const members = await this.members(job);
    const at = this.now();
    const started = members.filter((d) => d.state === S.PROCESSING);
    if (started.length > 0) {
      // This job's attempt began before: the job was redelivered (a worker died) or is a duplicate of one still
      // sending. Only a lapsed lease means the first worker is gone; otherwise it is left to finish.
      const lost = started.filter((d) => this.leaseLapsed(d, at));
      if (lost.length > 0) await this.settleLost(lost);
    }
    const waiting = await this.dropExpired(
      members.filter((d) => d.state === S.ACCEPTED || d.state === S.DEFERRED),
      at,
    );
    if (waiting.length === 0) return;
    if (this.deps.ladder && !(await this.deps.ladder.goesOn(waiting, job.attempt, at))) return;
    if (waiting[0].channel === Channel.IN_APP) {
      for (const delivery of waiting) await this.deliverToInbox(delivery, job.attempt, at);
      return;
    }
    const provider = this.providerFor(waiting[0]);
    const gate = provider ? this.deps.gate(provider) : undefined;
    const admission: Admission = gate?.admit() ?? 'closed';
    if (gate && admission === 'open') {
      await this.waitForBreaker(waiting, job.attempt, gate.reopensAt(), at);
      return;
    }
    try {
      const claimed = await this.markProcessing(waiting, job.attempt, provider?.name ?? '', at);
      if (claimed.length === 0) return;
      const outcome: Outcome =
        provider && gate
          ? await this.send(provider, gate, claimed, job.attempt)
          : { ok: false, failure: { kind: 'permanent', reason: 'no provider serves this channel' } };
      await this.settle(claimed, outcome, admission === 'probe', gate);
    } finally {
      gate?.release(admission);
    }
  }

  /** The provider for this attempt (providers/failover.ts); undefined when none serves the channel. */
  private providerFor(delivery: DeliveryDoc): ChannelProvider | undefined {
    const primary = this.deps.providers.get(delivery.channel);
    if (!primary) return undefined;
    // A delivery still waiting after an attempt did not succeed with that attempt's provider.
    const last = delivery.attemptsMade > 0 ? delivery.provider : undefined;
    const choice = chooseProvider({ primary, secondary: this.deps.failovers?.get(delivery.channel) }, last, (p) => this.deps.gate(p).breaker.opened);
    if (choice.failover) {
      this.deps.metrics.failovers.inc({ channel: channelLabel(delivery.channel), provider: choice.provider.name, reason: choice.failover });
    }
    return choice.provider;
  }

  /** The deliveries holding this job: the one it names, or for a digest every delivery claimed under it. */
  private async members(job: DeliveryJob): Promise<DeliveryDoc[]> {
    const named = await this.deps.deliveries.get(job.deliveryId);
    if (!named || named.jobId !== job.jobId) return []; // outdated: a newer job, a replay or a cancel took over
    return named.digestKey ? this.deps.deliveries.byJob(job.jobId) : [named];
  }

  /** Deliveries whose attempt has no worker any more: an unknown outcome, settled by the retry policy. */
  async settleLost(stuck: readonly DeliveryDoc[]): Promise<void> {
    const byJob = new Map<string, DeliveryDoc[]>();
    for (const d of stuck) byJob.set(d.jobId ?? d._id, [...(byJob.get(d.jobId ?? d._id) ?? []), d]);
    for (const group of byJob.values()) {
      const at = this.now();
      const failure: Failure = { kind: 'unknown_outcome', reason: 'the worker stopped while sending' };
      this.deps.metrics.attempts.inc({ channel: channelLabel(group[0].channel), outcome: 'unknown_outcome' });
      const step = nextStep(this.deps.policy, this.attemptState(group), failure, {
        now: at,
        probe: false,
        breakerReopensAt: at,
        random: this.deps.random,
      });
      await this.apply(group, step, at);
    }
  }

  private leaseLapsed(d: DeliveryDoc, at: Date): boolean {
    return (d.processingAt?.getTime() ?? 0) + this.deps.processingLeaseMs <= at.getTime();
  }

  private attemptState(group: readonly DeliveryDoc[]) {
    return { channel: group[0].channel, attempt: group[0].attempt, failures: Math.max(...group.map((d) => d.failures)) };
  }

  private async dropExpired(waiting: DeliveryDoc[], at: Date): Promise<DeliveryDoc[]> {
    const expired = waiting.filter((d) => d.expiresAt !== null && d.expiresAt <= at);
    if (expired.length === 0) return waiting;
    const moved = await this.deps.engine.moveEach(expired, { kind: 'expire' }, at);
    for (const d of moved) this.deps.metrics.expired.inc({ channel: channelLabel(d.channel) });
    return waiting.filter((d) => !expired.includes(d));
  }

  private async waitForBreaker(waiting: readonly DeliveryDoc[], attempt: number, dueAt: Date, at: Date): Promise<void> {
    const moved = await this.deps.engine.moveEach(waiting, { kind: 'wait', attempt, dueAt, reason: 'circuit open' }, at);
    for (const d of moved) this.deps.metrics.deferred.inc({ channel: channelLabel(d.channel), reason: 'circuit_open' });
  }

  private markProcessing(waiting: readonly DeliveryDoc[], attempt: number, provider: string, at: Date): Promise<DeliveryDoc[]> {
    return this.deps.engine.moveEach(waiting, { kind: 'start', attempt, provider }, at);
  }

  private async deliverToInbox(delivery: DeliveryDoc, attempt: number, at: Date): Promise<void> {
    const notification = await this.deps.notifications.get(delivery.notificationId);
    if (!notification) throw new Error(`notification ${delivery.notificationId} of delivery ${delivery._id} is missing`);
    const sent = await this.deps.engine.moveThrough(delivery, handOverToInbox(attempt, this.deps.engine.inboxContent(notification, delivery)), at);
    if (sent) this.recordSent([delivery], 'sent', at);
  }

  private async send(provider: ChannelProvider, gate: BreakerGate, claimed: DeliveryDoc[], attempt: number): Promise<Outcome> {
    const message = await this.compose(claimed, attempt);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('send deadline exceeded')), this.deps.sendTimeoutMs);
    const stop = this.deps.metrics.sendDuration.startTimer({ channel: channelLabel(message.channel), provider: provider.name });
    try {
      // A permanent failure is about the message (a bad address), not the provider's health: it is handed back
      // as a value so the breaker counts the call as a success.
      const settled = await throughBreaker(gate.breaker, async () => {
        try {
          return { result: await this.bounded(provider.send(message, controller.signal)) };
        } catch (err) {
          if (err instanceof ProviderError && err.kind === 'permanent') return { permanent: err };
          throw err;
        }
      });
      if ('permanent' in settled) return { ok: false, failure: classify(settled.permanent, breakerRefused) };
      return { ok: true, result: settled.result };
    } catch (err) {
      return { ok: false, failure: classify(err, breakerRefused) };
    } finally {
      clearTimeout(timer);
      stop();
    }
  }

  /** The provider's answer, or an unknown outcome if it ignores its abort signal past the grace period. */
  private bounded(sending: Promise<SendResult>): Promise<SendResult> {
    const limit = giveUpAfterMs(this.deps.sendTimeoutMs);
    let timer: NodeJS.Timeout | undefined;
    sending.catch(() => undefined); // settled late, after the race was decided
    return Promise.race([
      sending,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ProviderError('unknown_outcome', `provider gave no answer within ${limit} ms`)), limit);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  private async compose(claimed: readonly DeliveryDoc[], attempt: number): Promise<OutgoingMessage> {
    const notifications = new Map((await this.deps.notifications.many(claimed.map((d) => d.notificationId))).map((n) => [n._id, n]));
    const items = claimed.map((d) => {
      const notification = notifications.get(d.notificationId);
      if (!notification) throw new Error(`notification ${d.notificationId} of delivery ${d._id} is missing`);
      return notification;
    });
    const [lead] = claimed;
    const single: NotificationDoc | undefined = items.length === 1 ? items[0] : undefined;
    const content = single ? single.content : digestContent(items.map((n) => ({ notificationId: n._id, content: n.content })));
    const message: OutgoingMessage = {
      deliveryId: lead._id,
      notificationId: lead.notificationId,
      channel: lead.channel,
      address: lead.address,
      title: content.title,
      body: content.body,
      data: content.data,
      priority: lead.priority,
      notificationType: single ? single.notificationType : 'digest',
      attempt,
    };
    return this.deps.templates ? applyTemplate(this.deps.templates, message, lead.locale ?? '', this.deps.log) : message;
  }

  private async settle(claimed: DeliveryDoc[], outcome: Outcome, probe: boolean, gate: BreakerGate | undefined): Promise<void> {
    const at = this.now();
    const channel = channelLabel(claimed[0].channel);
    if (outcome.ok) {
      const state = outcome.result.outcome === 'delivered' ? S.DELIVERED : S.SENT;
      const digestSize = claimed.length > 1 ? claimed.length : 0;
      const providerMessageId = outcome.result.providerMessageId ?? '';
      const moved = await this.deps.engine.moveEach(claimed, { kind: 'succeed', state, providerMessageId, digestSize }, at);
      if (moved.length < claimed.length) {
        // Settled as lost while the send was still running (a send slower than the lease): the message went out,
        // but the record already says otherwise. Rare, and worth a person's look.
        this.deps.log.warn(
          { delivery_id: claimed[0]._id, job_id: claimed[0].jobId, settled_elsewhere: claimed.length - moved.length },
          'send succeeded after its attempt was settled as lost',
        );
      }
      this.recordSent(claimed, state === S.DELIVERED ? 'delivered' : 'sent', at);
      return;
    }
    const { failure } = outcome;
    this.deps.metrics.attempts.inc({ channel, outcome: failure.kind });
    const step = nextStep(this.deps.policy, this.attemptState(claimed), failure, {
      now: at,
      probe,
      breakerReopensAt: gate?.reopensAt() ?? at,
      random: this.deps.random,
    });
    await this.apply(claimed, step, at);
  }

  /** One provider call (or inbox hand-over) that carried these deliveries. */
  private recordSent(group: readonly DeliveryDoc[], outcome: 'sent' | 'delivered', at: Date): void {
    const channel = channelLabel(group[0].channel);
    this.deps.metrics.attempts.inc({ channel, outcome });
    for (const d of group) {
      this.deps.metrics.deliveryLatency.observe({ channel, priority: priorityLabel(d.priority) }, (at.getTime() - d.acceptedAt.getTime()) / 1000);
    }
    if (group[0].priority === Priority.LOW && group[0].channel !== Channel.IN_APP) this.deps.metrics.digestSize.observe({ channel }, group.length);
  }

  /** Moves a group of deliveries (one attempt, one job) to the step the policy chose. */
  private async apply(group: readonly DeliveryDoc[], step: NextStep, at: Date): Promise<void> {
    const moved = await this.deps.engine.moveEach(group, moveFor(step), at);
    for (const d of moved) {
      const channel = channelLabel(d.channel);
      if (step.action === 'retry') this.deps.metrics.deferred.inc({ channel, reason: 'retry' });
      else if (step.action === 'wait_for_breaker') this.deps.metrics.deferred.inc({ channel, reason: 'circuit_open' });
      else {
        this.deps.metrics.deadLetters.inc({ channel });
        this.deps.log.warn(
          { delivery_id: d._id, notification_id: d.notificationId, channel, attempts: d.attemptsMade, reason: step.reason },
          step.action === 'fail' ? 'delivery failed permanently; dead letter recorded' : 'delivery dead-lettered',
        );
      }
    }
  }
}
