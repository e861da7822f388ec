// SMS (Twilio) settings. SMS is configured when any of TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM or
// TWILIO_API_URL is present; the account, token and sender are then required. Secrets are never echoed. With
// PULSE_PUBLIC_URL (where Twilio can reach the notification service) each send asks for status callbacks.
import type { EnvReader } from '../../platform/config.js';

export const E164 = /^\+[1-9]\d{1,14}$/;

/** Where notification receives Twilio's status callbacks (sms-receipts.ts). */
export const SMS_STATUS_PATH = '/webhooks/twilio/status';

export interface SmsConfig {
  accountSid: string;
  authToken: string;
  /** The sender: a Twilio number, or a Messaging Service that picks one from its pool. */
  sender: { from: string } | { messagingServiceSid: string };
  /** Another base URL for the API (a stand-in); undefined means Twilio's own. */
  apiUrl?: string;
  timeoutMs: number;
  /** The StatusCallback URL given on each send; undefined: no callbacks, SMS end at SENT. */
  statusCallbackUrl?: string;
}

const CORE = ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM', 'TWILIO_API_URL'];

export function readSmsConfig(env: EnvReader): SmsConfig | undefined {
  if (!CORE.some((name) => env.string(name) !== undefined)) return undefined;
  const accountSid = env.required('TWILIO_ACCOUNT_SID', 'the Twilio Account SID (AC...) SMS are sent from');
  if (accountSid !== '' && !/^AC[0-9a-fA-F]{32}$/.test(accountSid)) {
    env.invalid('TWILIO_ACCOUNT_SID', 'must be a Twilio Account SID ("AC" and 32 hex digits)');
  }
  const authToken = env.required('TWILIO_AUTH_TOKEN', "the Twilio account's auth token");
  const from = env.required('TWILIO_FROM', 'the SMS sender: an E.164 number (+15551234567) or a Messaging Service SID (MG...)');
  const sender = /^MG[0-9a-fA-F]{32}$/.test(from) ? { messagingServiceSid: from } : { from };
  if (from !== '' && !('messagingServiceSid' in sender) && !E164.test(from)) {
    env.invalid('TWILIO_FROM', 'must be an E.164 number (+15551234567) or a Messaging Service SID ("MG" and 32 hex digits)');
  }
  const apiUrl = env.url('TWILIO_API_URL', undefined, ['https', 'http']);
  const timeoutMs = env.int('TWILIO_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 });
  const publicUrl = env.url('PULSE_PUBLIC_URL', undefined, ['https', 'http']);
  const statusCallbackUrl = publicUrl ? `${publicUrl.replace(/\/+$/, '')}${SMS_STATUS_PATH}` : undefined;
  return { accountSid, authToken, sender, apiUrl, timeoutMs, statusCallbackUrl };
}
