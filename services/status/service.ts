// Status: the timeline of every delivery (also live), each user's in-app inbox, and delivery statistics.
import { StatusService } from '../../gen/pulse/status/v1/status_service_pb.js';
import { readHistoryRetention } from '../common/history.js';
import type { EnvReader } from '../platform/config.js';
import type { ServiceModule } from '../platform/service.js';
import { statusHandlers } from './handlers.js';
import { InboxRepository } from './inbox.js';
import { DeliveryMetrics } from './metrics.js';
import { statusChangeHandler } from './status-changes.js';
import { StatusRepository } from './statuses.js';
import { StatusFeed } from './watch.js';

export interface StatusConfig {
  /** Longest a WatchStatus stream stays open. */
  watchMaxMs: number;
  /** How often watchers look for changes applied by other replicas. */
  watchPollMs: number;
  /** Seconds a notification's status and inbox items are kept once nothing more is coming (common/history.ts). */
  historySeconds: number;
}

export const status: ServiceModule<StatusConfig> = {
  name: 'status',
  peers: [],
  configure: (env: EnvReader) => ({
    watchMaxMs: env.int('STATUS_WATCH_MAX_SECONDS', 1_800, { min: 1, max: 86_400 }) * 1000,
    watchPollMs: env.int('STATUS_WATCH_POLL_MS', 1_000, { min: 50, max: 60_000 }),
    historySeconds: readHistoryRetention(env),
  }),
  async start(rt) {
    const statuses = new StatusRepository(rt.store, rt.config.historySeconds);
    const inbox = new InboxRepository(rt.store, rt.config.historySeconds);
    await statuses.init();
    await inbox.init();
    const metrics = new DeliveryMetrics(rt.metrics);
    // The look-back covers late commits and clock differences between replicas.
    const feed = new StatusFeed(statuses, { pollMs: rt.config.watchPollMs, overlapMs: 2 * rt.config.watchPollMs + 1_000, log: rt.log });
    rt.consume({
      purpose: 'changes',
      events: ['notification.status.changed'],
      prefetch: 64,
      handle: statusChangeHandler({ statuses, inbox, feed, metrics, log: rt.log }),
    });
    const handlers = statusHandlers({
      store: rt.store,
      statuses,
      inbox,
      feed,
      metrics,
      watch: { maxMs: rt.config.watchMaxMs, graceMs: 10_000 },
    });
    return { routes: (router) => router.service(StatusService, handlers) };
  },
};
