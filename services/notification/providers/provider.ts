// What a channel provider is: one send per delivery, with failures classified so the delivery worker knows what
// to do next. Providers do I/O only; retry policy, breakers and state live in the worker.
import type { Channel, Priority } from '../../../gen/pulse/common/v1/delivery_pb.js';
import type { Rendered } from '../template-parts.js';

export interface OutgoingMessage {
  deliveryId: string;
  notificationId: string;
  channel: Channel;
  /** Email address, Slack channel or user id, E.164 phone, or user id (in-app). Personal data: never log it. */
  address: string;
  title: string;
  /** Personal data: never log it. */
  body: string;
  data: Record<string, string>;
  priority: Priority;
  notificationType: string;
  /** 1 for the first attempt. Providers that support it use deliveryId as an idempotency key across attempts. */
  attempt: number;
  /** Set when a template wrote the message (template-cache.ts): the provider uses it instead of its fixed layout. */
  rendered?: Rendered;
}

export interface SendResult {
  /** DELIVERED when the provider confirms it reached the recipient (Slack posted); SENT when only accepted. */
  outcome: 'sent' | 'delivered';
  /** The provider's id for the message (SMTP Message-ID, Slack ts, Twilio SID). Not personal data. */
  providerMessageId?: string;
}

export type FailureKind =
  /** Worth trying again: timeouts before sending, 5xx, 429, connection errors. */
  | 'retryable'
  /** Will never work: invalid address, unknown channel, rejected recipient, bad credentials. */
  | 'permanent'
  /** The request may have been sent (timeout after writing it): not resent blindly. */
  | 'unknown_outcome';

export class ProviderError extends Error {
  constructor(
    readonly kind: FailureKind,
    /** Short reason, safe to store and show: never an address or message text. */
    message: string,
    /** From a 429's Retry-After, when the provider said when to come back. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

export interface ChannelProvider {
  /** "smtp", "slack", "twilio", "console", ... — recorded on every status change. */
  readonly name: string;
  readonly channel: Channel;
  /** Sends one message. Throws ProviderError; anything else is treated as retryable. */
  send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult>;
  close?(): Promise<void>;
}
