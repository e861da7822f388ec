// SMTP failures by kind. The reason never quotes the server's reply text or nodemailer's message: both can contain
// the recipient's address.
//
// The unknown outcome: a server takes responsibility for a message when it answers 250 to the final "." after DATA.
// A connection that dies or times out before the message data has been handed over cannot have delivered it
// (retryable); one that dies after it, with no reply seen, may have (unknown_outcome). We tell the two apart by
// watching the message stream itself (see email.ts): nodemailer reads it only after the server accepted DATA with
// 354, and its 'end' means the connection consumed the whole body. Erring on the side of "sent": a body consumed
// but still in a socket buffer when the connection died counts as possibly delivered.
import type { NodemailerError } from 'nodemailer';
import { ProviderError } from './provider.js';

export interface SendProgress {
  /** The whole message body was handed to the SMTP connection (after DATA was accepted). */
  messageSent: boolean;
}

/** Failures that end or lose the connection rather than carry an SMTP reply. */
const CONNECTION_CODES = new Set(['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EABORT', 'EDNS']);

/** Reply codes of an authentication refused for good: a configuration problem, retrying will not fix it. */
const AUTH_REFUSED = new Set([530, 534, 535, 538]);

const TEMPORARY_PHRASES: Record<number, string> = {
  421: 'service not available',
  450: 'mailbox unavailable',
  451: 'local error in processing',
  452: 'insufficient storage',
  454: 'temporary authentication failure',
};

const REJECTED_BY_COMMAND: Record<string, string> = {
  'MAIL FROM': 'sender rejected',
  'RCPT TO': 'recipient rejected',
  DATA: 'message rejected',
};

/** @param interruption how a deadline or abort should be described, e.g. "timeout after 10000 ms". */
export function classifySmtpFailure(err: unknown, progress: SendProgress, interruption: string): ProviderError {
  const error = (err ?? {}) as NodemailerError;
  const { responseCode, command } = error;
  const code = error.code ?? 'unknown';

  if (responseCode !== undefined) {
    if (AUTH_REFUSED.has(responseCode)) {
      return new ProviderError('permanent', `smtp ${responseCode} authentication failed (check the SMTP credentials)`);
    }
    // RFC 5321 4.5.3.1.10: a 552 to RCPT TO (too many recipients / storage) is to be treated as the temporary 452.
    if (responseCode === 552 && command === 'RCPT TO') {
      return new ProviderError('retryable', 'smtp 552 insufficient storage (treated as 452)');
    }
    // 5xx is a permanent refusal, except 503 (bad sequence): the session was confused, not the message refused.
    if (responseCode >= 500 && responseCode !== 503) {
      return new ProviderError('permanent', `smtp ${responseCode} ${REJECTED_BY_COMMAND[command ?? ''] ?? 'rejected'}`);
    }
    return new ProviderError('retryable', `smtp ${responseCode} ${TEMPORARY_PHRASES[responseCode] ?? 'temporary failure'}`);
  }

  if (CONNECTION_CODES.has(code)) {
    const what =
      code === 'EABORT' ? interruption
      : code === 'ETIMEDOUT' ? `timeout (${error.timeoutType?.toLowerCase() ?? 'socket_timeout'})`
      : code === 'EDNS' ? 'dns lookup failed'
      : `connection failed (${error.originalCode ?? code})`;
    return progress.messageSent
      ? new ProviderError('unknown_outcome', `smtp ${what} (message data sent, no reply: may have been accepted)`)
      : new ProviderError('retryable', `smtp ${what} (before the message was sent)`);
  }
  if (code === 'EAUTH' || code === 'ENOAUTH') {
    return new ProviderError('permanent', 'smtp authentication failed (check the SMTP credentials)');
  }
  if (code === 'ETLS' || code === 'EREQUIRETLS') {
    // A certificate or TLS setup the client refuses will be refused again: a configuration problem.
    return new ProviderError('permanent', `smtp tls failed (${code}: check SMTP_SECURE and the server certificate)`);
  }
  if (code === 'EENVELOPE' || code === 'EMESSAGE' || code === 'ECONFIG' || code === 'EMAXRECIPIENTS') {
    return new ProviderError('permanent', `smtp message refused before sending (${code})`);
  }
  return new ProviderError('retryable', `smtp error (${code})`);
}
