// Which provider serves each channel: the real one when its settings are given, the console sink otherwise.
// In-app is not a provider: the delivery worker hands in-app messages to the status service's inbox.
//
// Settings (see the README): email SMTP_URL or SMTP_HOST/SMTP_PORT/SMTP_USER/SMTP_PASSWORD/SMTP_SECURE, EMAIL_FROM,
// SMTP_TIMEOUT_MS, EMAIL_MESSAGE_ID_DOMAIN; Slack SLACK_BOT_TOKEN, SLACK_API_URL, SLACK_TIMEOUT_MS; SMS
// TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM, TWILIO_API_URL, TWILIO_TIMEOUT_MS, PULSE_PUBLIC_URL; push
// VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, VAPID_SUBJECT, FCM_CREDENTIALS_FILE or FCM_CREDENTIALS_JSON, FCM_API_URL,
// PUSH_TTL_SECONDS, PUSH_TIMEOUT_MS.
import type { Client } from '@connectrpc/connect';
import { Channel } from '../../../gen/pulse/common/v1/delivery_pb.js';
import type { PreferenceService } from '../../../gen/pulse/preference/v1/preference_service_pb.js';
import type { EnvReader } from '../../platform/config.js';
import type { Logger } from '../../platform/log.js';
import { ConsoleProvider } from './console.js';
import { EmailProvider } from './email.js';
import { type EmailConfig, readEmailConfig } from './email-config.js';
import type { FailoverConfig } from './failover-config.js';
import type { ChannelProvider } from './provider.js';
import { preferenceDevices, PushProvider } from './push.js';
import { type PushConfig, readPushConfig } from './push-config.js';
import { SlackProvider } from './slack.js';
import { readSlackConfig, type SlackConfig } from './slack-config.js';
import { SmsProvider } from './sms.js';
import { readSmsConfig, type SmsConfig } from './sms-config.js';

/** Absent settings mean the console sink for that channel. */
export interface ProviderConfig {
  email?: EmailConfig;
  slack?: SlackConfig;
  sms?: SmsConfig;
  push?: PushConfig;
}

/** Reads provider settings from the environment; problems are reported with the rest of the config. */
export function readProviderConfig(env: EnvReader): ProviderConfig {
  return { email: readEmailConfig(env), slack: readSlackConfig(env), sms: readSmsConfig(env), push: readPushConfig(env) };
}

/** What a provider may need beyond its settings: the log, and the preference service (push reads devices there). */
export interface ProviderPeers {
  log: Logger;
  preference: Client<typeof PreferenceService>;
}

/** One provider per outside channel (email, Slack, SMS, push): the registry a new channel adds its line to. */
export function createProviders(config: ProviderConfig, { log, preference }: ProviderPeers): Map<Channel, ChannelProvider> {
  return new Map<Channel, ChannelProvider>([
    [Channel.EMAIL, config.email ? new EmailProvider(config.email) : new ConsoleProvider(Channel.EMAIL)],
    [Channel.SLACK, config.slack ? new SlackProvider(config.slack, log) : new ConsoleProvider(Channel.SLACK)],
    [Channel.SMS, config.sms ? new SmsProvider(config.sms) : new ConsoleProvider(Channel.SMS)],
    [Channel.PUSH, config.push ? new PushProvider(config.push, preferenceDevices(preference), log) : new ConsoleProvider(Channel.PUSH)],
  ]);
}

/** The failover provider of each channel that has one (failover-config.ts, failover.ts). */
export function createFailoverProviders(config: FailoverConfig, { log }: { log: Logger }): Map<Channel, ChannelProvider> {
  const providers = new Map<Channel, ChannelProvider>();
  if (config.email) providers.set(Channel.EMAIL, new EmailProvider(config.email, 'smtp-secondary'));
  if (config.slack) providers.set(Channel.SLACK, new SlackProvider(config.slack, log, 'slack-secondary'));
  if (config.sms) providers.set(Channel.SMS, new SmsProvider(config.sms, 'twilio-secondary'));
  return providers;
}
