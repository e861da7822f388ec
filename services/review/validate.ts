// What a well-formed review request is. Plain functions over the request messages.
import { ReviewState, ReviewStateSchema, SeveritySchema } from '../../gen/pulse/common/v1/review_pb.js';
import type {
  ClaimReviewRequest,
  GetReviewRequest,
  ListReviewsRequest,
  ResolveReviewRequest,
  WatchReviewCasesRequest,
} from '../../gen/pulse/review/v1/review_service_pb.js';
import { pageSize, Validator } from '../platform/validate.js';
import { OUTCOMES } from './lifecycle.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
export const MAX_NOTE = 2_000;

/** The page size. The page token is checked where the page is read (it is bound to the filters). */
export function checkList(req: ListReviewsRequest): number {
  const v = new Validator();
  v.enumValue('state', req.state, ReviewStateSchema, { optional: true })
    .enumValue('severity', req.severity, SeveritySchema, { optional: true })
    .id('assignee', req.assignee, { optional: true });
  const size = pageSize(v, req.pageSize, { fallback: DEFAULT_PAGE_SIZE, max: MAX_PAGE_SIZE });
  v.check();
  return size;
}

export function checkWatch(req: WatchReviewCasesRequest): void {
  new Validator().enumValue('state', req.state, ReviewStateSchema, { optional: true }).id('assignee', req.assignee, { optional: true }).check();
}

export function checkGet(req: GetReviewRequest): void {
  new Validator().id('review_id', req.reviewId).check();
}

export function checkClaim(req: ClaimReviewRequest): void {
  new Validator().id('review_id', req.reviewId).id('reviewer', req.reviewer).check();
}

export function checkResolve(req: ResolveReviewRequest): void {
  const v = new Validator();
  v.id('review_id', req.reviewId).id('reviewer', req.reviewer).text('note', req.note, { max: MAX_NOTE, optional: true });
  if (req.outcome === ReviewState.UNSPECIFIED) v.add('outcome', 'is required (one of REVIEW_STATE_RESOLVED, REVIEW_STATE_DISMISSED, REVIEW_STATE_ESCALATED)');
  else if (!OUTCOMES.includes(req.outcome)) v.add('outcome', 'must be REVIEW_STATE_RESOLVED, REVIEW_STATE_DISMISSED or REVIEW_STATE_ESCALATED');
  v.check();
}
