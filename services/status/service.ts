// Status: the timeline of every delivery (also live), each user's in-app inbox, delivery statistics, and signed
// webhooks that tell clients of every state change.
import { StatusService } from '../../gen/pulse/status/v1/status_service_pb.js';
import { readHistoryRetention } from '../common/history.js';
import type { EnvReader } from '../platform/config.js';
import type { PeriodicTask } from '../platform/periodic.js';
import type { ServiceModule } from '../platform/service.js';
import { statusHandlers } from './handlers.js';
import { InboxRepository } from './inbox.js';
import { DeliveryMetrics } from './metrics.js';
import { statusChangeHandler } from './status-changes.js';
import { StatusRepository } from './statuses.js';
import { StatusFeed } from './watch.js';
import { EndpointsRepository } from './webhooks/endpoints.js';
import { webhookHandlers } from './webhooks/handlers.js';
import { MessagesRepository } from './webhooks/messages.js';
import { WebhookRecorder } from './webhooks/recorder.js';
import { readWebhookSettings, startWebhookSender, type WebhookSettings } from './webhooks/sender.js';

export interface StatusConfig {
  /** Longest a WatchStatus stream stays open. */
  watchMaxMs: number;
  /** How often watchers look for changes applied by other replicas. */
  watchPollMs: number;
  /** Seconds a notification's status and inbox items are kept once nothing more is coming (common/history.ts). */
  historySeconds: number;
  webhooks: WebhookSettings;
}

export const status: ServiceModule<StatusConfig> = {
  name: 'status',
  peers: [],
  configure: (env: EnvReader) => ({
    watchMaxMs: env.int('STATUS_WATCH_MAX_SECONDS', 1_800, { min: 1, max: 86_400 }) * 1000,
    watchPollMs: env.int('STATUS_WATCH_POLL_MS', 1_000, { min: 50, max: 60_000 }),
    historySeconds: readHistoryRetention(env),
    webhooks: readWebhookSettings(env),
  }),
  async start(rt) {
    const statuses = new StatusRepository(rt.store, rt.config.historySeconds);
    const inbox = new InboxRepository(rt.store, rt.config.historySeconds);
    const endpoints = new EndpointsRepository(rt.store);
    const messages = new MessagesRepository(rt.store, rt.config.historySeconds);
    await statuses.init();
    await inbox.init();
    await messages.init();
    const metrics = new DeliveryMetrics(rt.metrics);
    let sender: PeriodicTask | undefined;
    const webhooks = new WebhookRecorder(endpoints, messages, () => sender?.wake());
    // The look-back covers late commits and clock differences between replicas.
    const feed = new StatusFeed(statuses, { pollMs: rt.config.watchPollMs, log: rt.log });
    rt.consume({
      purpose: 'changes',
      events: ['notification.status.changed'],
      prefetch: 64,
      handle: statusChangeHandler({ statuses, inbox, feed, metrics, webhooks, log: rt.log }),
    });
    const handlers = statusHandlers({
      store: rt.store,
      statuses,
      inbox,
      feed,
      metrics,
      webhooks,
      watch: { maxMs: rt.config.watchMaxMs, graceMs: 10_000 },
    });
    const webhookRpcs = webhookHandlers({ store: rt.store, endpoints, messages, settings: rt.config.webhooks });
    return {
      routes: (router) => router.service(StatusService, { ...handlers, ...webhookRpcs }),
      start() {
        sender = startWebhookSender({ endpoints, messages, settings: rt.config.webhooks, metrics: rt.metrics, log: rt.log });
      },
      stop: async () => sender?.stop(),
    };
  },
};
