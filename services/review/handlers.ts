// ReviewService: the reviewers' workflow over review cases, and the policy that opens them.
import type { ServiceImpl } from '@connectrpc/connect';
import { ReviewState } from '../../gen/pulse/common/v1/review_pb.js';
import { ReviewNotice } from '../../gen/pulse/events/v1/events_pb.js';
import { ReviewService } from '../../gen/pulse/review/v1/review_service_pb.js';
import { notFound } from '../platform/errors.js';
import type { Transact } from '../platform/unit-of-work.js';
import { type CaseRepository, toReviewCase } from './cases.js';
import type { ReviewMetrics } from './metrics.js';
import { reviewRequired, reviewResolved } from './notices.js';
import { type PolicyRepository, toReviewPolicy } from './policies.js';
import { applyPolicyUpdate } from './policy-update.js';
import { checkClaim, checkGet, checkList, checkResolve, checkWatch } from './validate.js';
import { type CaseFeed, watchCases } from './watch.js';

export interface ReviewDeps {
  cases: CaseRepository;
  policies: PolicyRepository;
  transaction: Transact;
  metrics: ReviewMetrics;
  /** WatchReviewCases: the feed of changed cases, and the longest a stream stays open. */
  watch: { feed: CaseFeed; maxMs: number };
  now?: () => Date;
}

export function reviewHandlers(deps: ReviewDeps): ServiceImpl<typeof ReviewService> {
  const now = deps.now ?? (() => new Date());

  return {
    async listReviews(req) {
      const pageSize = checkList(req);
      const page = await deps.cases.list(req, { pageSize, pageToken: req.pageToken });
      return { reviews: page.items.map(toReviewCase), nextPageToken: page.nextPageToken };
    },

    async *watchReviewCases(req, ctx) {
      checkWatch(req);
      const filter = { state: req.state, assignee: req.assignee };
      for await (const event of watchCases({ cases: deps.cases, ...deps.watch }, filter, ctx.signal)) {
        yield event.kind === 'case' ? { review: toReviewCase(event.doc), matches: event.matches } : { snapshotComplete: true };
      }
    },

    async getReview(req) {
      checkGet(req);
      const doc = await deps.cases.get(req.reviewId);
      if (!doc) throw notFound(`no review case with review_id "${req.reviewId}"`);
      return { review: toReviewCase(doc) };
    },

    async claimReview(req) {
      checkClaim(req);
      const doc = await deps.cases.claim(req.reviewId, req.reviewer, now());
      deps.watch.feed.publish(doc._id);
      return { review: toReviewCase(doc) };
    },

    async resolveReview(req) {
      checkResolve(req);
      const policy = await deps.policies.get();
      const at = now();
      const doc = await deps.transaction(async (tx) => {
        const resolved = await deps.cases.resolve(tx, {
          reviewId: req.reviewId,
          reviewer: req.reviewer,
          outcome: req.outcome,
          note: req.note,
          now: at,
          policy,
        });
        await tx.emit('review.resolved', reviewResolved(resolved, req.outcome, req.reviewer, at));
        // An escalation is a new call for people: the topic's escalation routes hear it.
        if (req.outcome === ReviewState.ESCALATED) await tx.emit('review.required', reviewRequired(resolved, ReviewNotice.ESCALATED, '', at));
        return resolved;
      });
      deps.metrics.resolved(req.outcome);
      deps.watch.feed.publish(doc._id);
      return { review: toReviewCase(doc) };
    },

    async getReviewPolicy() {
      return { policy: toReviewPolicy(await deps.policies.get()) };
    },

    async updateReviewPolicy(req) {
      const policy = await deps.policies.update((current) => applyPolicyUpdate(current, req), now());
      return { policy: toReviewPolicy(policy) };
    },
  };
}
