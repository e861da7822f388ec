// Business ids on the active span (the RPC's server span, or the consumer's process span), so an SRE can find a
// trace in Jaeger by the id they have: `pulse.interaction_id=<message_id>`, `pulse.review_id=...`.
//
// Ids only. The keys are a closed list: a customer id, user id, address, phone number, text, title or body has no
// key here and so cannot be recorded by accident (customer and agent ids can be whatever a client system uses, an
// email address included).
import { trace } from '@opentelemetry/api';

export interface SpanIds {
  /** The chat message's message_id (ingestion stores each interaction under it). */
  'pulse.interaction_id'?: string;
  'pulse.conversation_id'?: string;
  /** A bot's assistance request_id. */
  'pulse.request_id'?: string;
  'pulse.review_id'?: string;
  'pulse.notification_id'?: string;
  'pulse.delivery_id'?: string;
  /** A delivery job's job_id. */
  'pulse.job_id'?: string;
  /** A delivery state name (SENT, DELIVERED, ...), on status changes. */
  'pulse.delivery_state'?: string;
}

/** Sets the given ids (empty ones are skipped) on the active span; a no-op outside a trace. */
export function annotate(ids: SpanIds): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  for (const [key, value] of Object.entries(ids)) if (value) span.setAttribute(key, value);
}
