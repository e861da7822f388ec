// Idempotency keys of the notifications Pulse sends on its own behalf. Ingestion tells bots the key of the
// notification their request becomes; notification uses the same key, so GetNotification finds it.

export function assistanceNotificationKey(requestId: string): string {
  return `assistance/${requestId}`;
}

/** One notification per case opening, and one per SLA reminder or escalation. */
export function reviewNotificationKey(reviewId: string, notice: string, reminder: number): string {
  return `review/${reviewId}/${notice}/${reminder}`;
}
