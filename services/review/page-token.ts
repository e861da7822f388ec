// ListReviews page tokens. A token is the id of the last case on the page (keyset paging on review_id, which sorts
// by creation: a case opened while someone pages lands after the ids already seen, so nothing repeats or is
// skipped) plus a fingerprint of the filters, so a token cannot be replayed under other filters. Opaque to callers.
import { createHash } from 'node:crypto';
import type { ReviewState, Severity } from '../../gen/pulse/common/v1/review_pb.js';

export interface PageFilters {
  state: ReviewState;
  severity: Severity;
  assignee: string;
}

interface TokenBody {
  v: 1;
  /** review_id of the last case returned. */
  after: string;
  /** Fingerprint of the filters the token was issued under. */
  f: string;
}

function fingerprint(filters: PageFilters): string {
  return createHash('sha256')
    .update(JSON.stringify([filters.state, filters.severity, filters.assignee]))
    .digest('base64url')
    .slice(0, 16);
}

export function encodePageToken(afterId: string, filters: PageFilters): string {
  const body: TokenBody = { v: 1, after: afterId, f: fingerprint(filters) };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

/** The review_id to continue after, or a problem with the token. */
export function decodePageToken(token: string, filters: PageFilters): { afterId: string } | { problem: string } {
  let body: Partial<TokenBody>;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<TokenBody>;
  } catch {
    return { problem: 'is not a token ListReviews returned' };
  }
  if (body === null || typeof body !== 'object' || body.v !== 1 || typeof body.after !== 'string' || body.after === '' || typeof body.f !== 'string') {
    return { problem: 'is not a token ListReviews returned' };
  }
  if (body.f !== fingerprint(filters)) {
    return { problem: 'was issued for other filters; keep state, severity and assignee the same while paging' };
  }
  return { afterId: body.after };
}
