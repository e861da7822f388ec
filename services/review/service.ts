// Review: decides which conversations are amiss, opens cases for people, and runs the case workflow and its SLA.
import { ReviewService } from '../../gen/pulse/review/v1/review_service_pb.js';
import type { EnvReader } from '../platform/config.js';
import type { ServiceModule } from '../platform/service.js';
import { CaseRepository } from './cases.js';
import { analysisConsumer } from './consumer.js';
import { reviewHandlers } from './handlers.js';
import { ReviewMetrics } from './metrics.js';
import { PolicyRepository } from './policies.js';
import { SlaReminders } from './reminders.js';
import { CaseFeed } from './watch.js';

export interface ReviewConfig {
  /** How often the SLA scheduler looks for overdue cases. */
  slaCheckIntervalMs: number;
  /** Longest a WatchReviewCases stream stays open. */
  watchMaxMs: number;
  /** How often watchers look for cases changed elsewhere (opened by the consumer, or on another replica). */
  watchPollMs: number;
}

export const review: ServiceModule<ReviewConfig> = {
  name: 'review',
  peers: [],
  configure: (env: EnvReader) => ({
    slaCheckIntervalMs: env.int('REVIEW_SLA_CHECK_INTERVAL_MS', 30_000, { min: 100, max: 3_600_000 }),
    watchMaxMs: env.int('REVIEW_WATCH_MAX_SECONDS', 1_800, { min: 1, max: 86_400 }) * 1000,
    watchPollMs: env.int('REVIEW_WATCH_POLL_MS', 1_000, { min: 50, max: 60_000 }),
  }),
  async start(rt) {
    const cases = new CaseRepository(rt.store);
    await cases.init();
    const policies = new PolicyRepository(rt.store);
    const metrics = new ReviewMetrics(rt.metrics.registry);
    rt.consume(analysisConsumer({ cases, policies, metrics, log: rt.log }));
    const reminders = new SlaReminders({
      cases,
      policies,
      transaction: rt.transaction,
      metrics,
      log: rt.log,
      intervalMs: rt.config.slaCheckIntervalMs,
    });
    const feed = new CaseFeed(cases, { pollMs: rt.config.watchPollMs, log: rt.log });
    const handlers = reviewHandlers({ cases, policies, transaction: rt.transaction, metrics, watch: { feed, maxMs: rt.config.watchMaxMs } });
    return {
      routes: (router) => router.service(ReviewService, handlers),
      start: () => reminders.start(),
      stop: () => reminders.stop(),
    };
  },
};
