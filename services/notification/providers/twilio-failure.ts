// Twilio failures by kind, from the HTTP status and Twilio's error code. Twilio's error message is never repeated:
// it quotes the phone number ("The 'To' number +1555... is not a valid phone number").
import { ExchangeFailure } from './http-exchange.js';
import { fromExchangeFailure, kindForStatus } from './http-failure.js';
import { ProviderError } from './provider.js';

/** Codes worth naming in the reason; the kind follows from the HTTP status. */
const KNOWN_CODES: Record<number, string> = {
  20003: 'authentication failed (check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)',
  20429: 'too many requests',
  21211: "invalid 'To' number",
  21408: 'sending to this region is not enabled',
  21606: "'From' number cannot send this message",
  21610: "'To' number unsubscribed (replied STOP)",
  21612: "'To' number cannot be reached from this sender",
  21614: "'To' number is not a mobile number",
  21617: 'body too long',
};

export function classifyTwilioError(err: unknown, retryAfterMs: number | undefined): ProviderError {
  if (err instanceof ExchangeFailure) return fromExchangeFailure('twilio', err);
  // RestException and TwilioServiceException both carry the HTTP status and Twilio's numeric code.
  const { status, code } = (err ?? {}) as { status?: unknown; code?: unknown };
  if (typeof status !== 'number') return new ProviderError('retryable', 'twilio request failed');
  const twilioCode = typeof code === 'number' ? code : undefined;
  const what = (twilioCode !== undefined && KNOWN_CODES[twilioCode]) || (status >= 500 ? 'server error' : 'request rejected');
  const reason = `twilio ${twilioCode ?? status} ${what}`;
  if (status === 429) return new ProviderError('retryable', reason, retryAfterMs);
  return new ProviderError(kindForStatus(status), reason);
}
