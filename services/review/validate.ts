// What a well-formed review request is. Plain functions over the request messages.
import { ReviewState, ReviewStateSchema, SeveritySchema } from '../../gen/pulse/common/v1/review_pb.js';
import type {
  ClaimReviewRequest,
  GetReviewRequest,
  ListReviewsRequest,
  ResolveReviewRequest,
} from '../../gen/pulse/review/v1/review_service_pb.js';
import { pageSize, Validator } from '../platform/validate.js';
import { OUTCOMES } from './lifecycle.js';
import { decodePageToken } from './page-token.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
export const MAX_NOTE = 2_000;

/** The page size and the review_id to continue after. */
export function checkList(req: ListReviewsRequest): { size: number; afterId: string } {
  const v = new Validator();
  v.enumValue('state', req.state, ReviewStateSchema, { optional: true })
    .enumValue('severity', req.severity, SeveritySchema, { optional: true })
    .id('assignee', req.assignee, { optional: true });
  const size = pageSize(v, req.pageSize, { fallback: DEFAULT_PAGE_SIZE, max: MAX_PAGE_SIZE });
  let afterId = '';
  if (req.pageToken !== '') {
    const decoded = decodePageToken(req.pageToken, req);
    if ('problem' in decoded) v.add('page_token', decoded.problem);
    else afterId = decoded.afterId;
  }
  v.check();
  return { size, afterId };
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
