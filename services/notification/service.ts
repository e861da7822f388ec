// Notification: turns requests and events into deliveries, sends them on priority lanes through the providers,
// and keeps what cannot be sent in a dead-letter store that can be replayed.
import type { Client } from '@connectrpc/connect';
import { Channel, ChannelSchema } from '../../gen/pulse/common/v1/delivery_pb.js';
import { NotificationService } from '../../gen/pulse/notification/v1/notification_service_pb.js';
import type { PreferenceService } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import type { StatusService } from '../../gen/pulse/status/v1/status_service_pb.js';
import { INBOX_PROVIDER } from '../common/delivery-state.js';
import { type PeriodicTask, startPeriodic } from '../platform/periodic.js';
import type { WebhookRoute } from '../platform/server.js';
import type { ServiceModule } from '../platform/service.js';
import { createAccept } from './accept.js';
import { BreakerGate } from './breaker-gate.js';
import { type NotificationConfig, readNotificationConfig } from './config.js';
import { DeadLetterRepository } from './dead-letters.js';
import { DeliveryRepository } from './deliveries.js';
import { DeliveryEngine } from './delivery-engine.js';
import { eventHandlers } from './event-handlers.js';
import { notificationHandlers } from './handlers.js';
import { LadderGate, statusReadCheck } from './ladder-gate.js';
import { LANES, lanePurpose, laneQueue, laneRoutingKey } from './lanes.js';
import { channelLabel, NotificationMetrics } from './metrics.js';
import { NotificationRepository } from './notifications.js';
import { PlanCache, preferenceResolver } from './plan-cache.js';
import { createFailoverProviders, createProviders } from './providers/index.js';
import { SMS_STATUS_PATH } from './providers/sms-config.js';
import { smsReceipts } from './sms-receipts.js';
import type { ChannelProvider } from './providers/provider.js';
import { RateLimiter } from './rate-limit.js';
import { Scheduler } from './scheduler.js';
import { TemplateCache, templatedInboxContent } from './template-cache.js';
import { templateHandlers } from './template-handlers.js';
import { TemplateRepository } from './templates.js';
import { DeliveryWorker } from './worker.js';

export interface NotificationOverrides {
  /** A preference client to use instead of the peer (tests serve a fake in memory). */
  preference?: Client<typeof PreferenceService>;
  /** Providers to use instead of the configured ones (tests use fakes). */
  providers?: Map<Channel, ChannelProvider>;
  /** Failover providers to use instead of the configured ones. */
  failovers?: Map<Channel, ChannelProvider>;
  /** A status client to use instead of the peer (tests serve a fake in memory). */
  status?: Client<typeof StatusService>;
}

/** A job fails only when the store or broker does; the bus retries it, the same job id, with these delays. */
const JOB_RETRY_DELAYS_MS = [1_000, 5_000, 15_000, 30_000, 60_000];
const JOB_MAX_ATTEMPTS = 10;
const LANE_DEPTH_INTERVAL_MS = 5_000;

export function notificationModule(overrides: NotificationOverrides = {}): ServiceModule<NotificationConfig> {
  return {
    name: 'notification',
    peers: ['preference', 'status'],
    configure: readNotificationConfig,
    async start(rt) {
      const config = rt.config;
      const notifications = new NotificationRepository(rt.store);
      const deliveries = new DeliveryRepository(rt.store, notifications, config.historySeconds);
      const deadLetters = new DeadLetterRepository(rt.store, config.historySeconds);
      await notifications.init();
      await deliveries.init();
      await deadLetters.init();
      const templateStore = new TemplateRepository(rt.store, rt.transaction);
      await templateStore.init();
      const templates = new TemplateCache(templateStore, rt.log);
      await templates.refresh();
      const metrics = new NotificationMetrics(rt.metrics.registry);

      const preference = overrides.preference ?? rt.peer('preference');
      const providers = overrides.providers ?? createProviders(config.providers, { log: rt.log, preference });
      const failovers = overrides.failovers ?? createFailoverProviders(config.failovers, { log: rt.log });
      const providerName = (channel: Channel) => (channel === Channel.IN_APP ? INBOX_PROVIDER : (providers.get(channel)?.name ?? ''));
      const gates = new Map<string, BreakerGate>();
      const gate = (provider: ChannelProvider) => {
        let existing = gates.get(provider.name);
        if (!existing) {
          existing = new BreakerGate(rt.breaker(`provider:${provider.name}`), rt.platform.breaker.resetTimeoutMs);
          gates.set(provider.name, existing);
        }
        return existing;
      };
      // A sentence, not an object keyed by channel: the log redaction would hide a field named "email".
      const served = ChannelSchema.values.filter((v) => v.number !== Channel.UNSPECIFIED).map((v) => v.number as Channel).map(
        (c) => `${channelLabel(c)}=${providerName(c) || 'none'}${failovers.has(c) ? `, failover ${failovers.get(c)!.name}` : ''}`,
      );
      rt.log.info(`delivery providers: ${served.join(', ')}`);

      const engine = new DeliveryEngine({
        deliveries,
        notifications,
        deadLetters,
        transaction: rt.transaction,
        inbox: (notification, delivery) => templatedInboxContent(templates, notification, delivery, rt.log),
      });
      const plans = new PlanCache(preferenceResolver(preference), config.planCacheTtlMs);
      const { accept, acceptMany } = createAccept({
        notifications,
        deliveries,
        engine,
        transaction: rt.transaction,
        plans,
        limiter: new RateLimiter(config.rateLimits),
        metrics,
        providerName,
        digestWindowMs: config.digestWindowMs,
        ladders: config.escalationLadders,
      });
      const ladder = new LadderGate({
        notifications,
        deliveries,
        engine,
        wasRead: statusReadCheck(overrides.status ?? rt.peer('status')),
        retryMs: config.escalationStatusRetryMs,
        metrics,
        log: rt.log,
      });
      const worker = new DeliveryWorker({
        deliveries,
        notifications,
        engine,
        providers,
        failovers,
        gate,
        policy: config.retry,
        sendTimeoutMs: config.sendTimeoutMs,
        processingLeaseMs: config.processingLeaseMs,
        metrics,
        log: rt.log,
        templates,
        ladder,
      });
      for (const lane of LANES) {
        rt.consume({
          purpose: lanePurpose(lane.name),
          events: [laneRoutingKey(lane.name)],
          prefetch: config.prefetch[lane.name],
          maxAttempts: JOB_MAX_ATTEMPTS,
          retryDelaysMs: JOB_RETRY_DELAYS_MS,
          inbox: false, // the delivery's conditional updates on (state, attempt, job id) make a repeated job harmless
          handle: (job) => worker.handle(job),
        });
      }
      const events = eventHandlers({ accept, plans, ladder, log: rt.log });
      // No inbox: the notification's idempotency key, derived from the cause, makes a repeated event harmless, and
      // accept must ask preference for the plan before any unit of work opens (event-handlers.ts).
      rt.consume({ purpose: 'review-required', events: ['review.required'], inbox: false, handle: (event) => events.reviewRequired(event) });
      rt.consume({
        purpose: 'assistance-requested',
        events: ['assistance.requested'],
        inbox: false,
        handle: (event) => events.assistanceRequested(event),
      });
      // Cancelling steps twice is harmless: a repeated event finds nothing left to cancel.
      rt.consume({ purpose: 'review-resolved', events: ['review.resolved'], inbox: false, handle: (event) => events.reviewResolved(event) });
      rt.consume({ purpose: 'preference-changed', events: ['preference.changed'], inbox: false, handle: (event) => events.preferenceChanged(event) });
      rt.consume({
        purpose: 'template-changed',
        events: ['template.changed'],
        inbox: false, // dropping cache entries twice is harmless
        handle: () => templates.refresh(),
      });

      const scheduler = new Scheduler({
        deliveries,
        engine,
        transaction: rt.transaction,
        worker,
        intervalMs: config.scheduler.intervalMs,
        batch: config.scheduler.batch,
        processingLeaseMs: config.processingLeaseMs,
        digestMaxSize: config.digestMaxSize,
        metrics,
        log: rt.log,
      });
      const sampleLaneDepth = async () => {
        for (const lane of LANES) {
          const depth = await rt.bus.queueDepth(laneQueue(lane.name)).catch(() => undefined);
          if (depth !== undefined) metrics.laneDepth.set({ priority: lane.name }, depth);
        }
      };
      let sampler: PeriodicTask | undefined;
      let templateRefresher: PeriodicTask | undefined;
      const sms = config.providers.sms;
      const webhooks: Record<string, WebhookRoute> = {};
      if (sms?.statusCallbackUrl) {
        const receipts = { ...sms, statusCallbackUrl: sms.statusCallbackUrl };
        webhooks[SMS_STATUS_PATH] = smsReceipts({ config: receipts, deliveries, engine, log: rt.log });
      }

      return {
        webhooks,
        routes: (router) =>
          router.service(
            NotificationService,
            notificationHandlers({
              accept,
              acceptMany,
              notifications,
              deliveries,
              deadLetters,
              engine,
              metrics,
              templates: templateHandlers({ templates: templateStore, cache: templates, log: rt.log }),
              log: rt.log,
            }),
          ),
        start() {
          scheduler.start();
          sampler = startPeriodic({ name: 'lane depth sampler', intervalMs: LANE_DEPTH_INTERVAL_MS, run: sampleLaneDepth, log: rt.log });
          // Loaded once before serving (above): the first refresh is one interval later.
          templateRefresher = startPeriodic({
            name: 'template refresh',
            intervalMs: config.templateRefreshMs,
            startAfterMs: config.templateRefreshMs,
            run: () => templates.refresh(),
            log: rt.log,
          });
        },
        async stop() {
          await Promise.all([sampler?.stop(), templateRefresher?.stop(), scheduler.stop()]);
          await Promise.all([...new Set([...providers.values(), ...failovers.values()])].map((provider) => provider.close?.()));
        },
      };
    },
  };
}

export const notification = notificationModule();
