// The fingerprint of a notification request: what makes two sends with one idempotency key "the same request".
// A SHA-256 over a canonical form, so data map order, an unset priority (MEDIUM) and the like do not count as
// differences, and the stored value reveals nothing of the content.
import { createHash } from 'node:crypto';
import type { Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { RouteKind } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import type { LadderStep } from './ladder.js';
import type { RecipientRef } from './notifications.js';

export interface FingerprintInput {
  recipient: RecipientRef;
  notificationType: string;
  /** Already defaulted (unset -> MEDIUM). */
  priority: Priority;
  content: { title: string; body: string; data: Record<string, string> };
  expiresAt: Date | null;
  routeKind: RouteKind;
  /** The request's own escalation ladder (a type's default is not part of the request). */
  escalation?: readonly LadderStep[];
}

export function fingerprint(input: FingerprintInput): string {
  const canonical = JSON.stringify([
    1, // version of this layout
    input.recipient.userId ?? null,
    input.recipient.topic ?? null,
    input.notificationType,
    input.priority,
    input.routeKind,
    input.content.title,
    input.content.body,
    Object.entries(input.content.data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    input.expiresAt ? input.expiresAt.getTime() : null,
    // Appended only when there is one, so the fingerprints of requests without a ladder stay as they were.
    ...(input.escalation?.length ? [input.escalation.map((step) => [step.channel, step.afterMs])] : []),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}
