// Which provider serves each channel: the real one when its settings are given, the console sink otherwise.
// In-app is not a provider: the delivery worker hands in-app messages to the status service's inbox.
//
// Settings (see the README): email SMTP_URL or SMTP_HOST/SMTP_PORT/SMTP_USER/SMTP_PASSWORD/SMTP_SECURE, EMAIL_FROM,
// SMTP_TIMEOUT_MS, EMAIL_MESSAGE_ID_DOMAIN; Slack SLACK_BOT_TOKEN, SLACK_API_URL, SLACK_TIMEOUT_MS; SMS
// TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM, TWILIO_API_URL, TWILIO_TIMEOUT_MS.
import { Channel } from '../../../gen/pulse/common/v1/delivery_pb.js';
import type { EnvReader } from '../../platform/config.js';
import type { Logger } from '../../platform/log.js';
import { ConsoleProvider } from './console.js';
import { EmailProvider } from './email.js';
import { type EmailConfig, readEmailConfig } from './email-config.js';
import type { ChannelProvider } from './provider.js';
import { SlackProvider } from './slack.js';
import { readSlackConfig, type SlackConfig } from './slack-config.js';
import { SmsProvider } from './sms.js';
import { readSmsConfig, type SmsConfig } from './sms-config.js';

/** Absent settings mean the console sink for that channel. */
export interface ProviderConfig {
  email?: EmailConfig;
  slack?: SlackConfig;
  sms?: SmsConfig;
}

/** Reads provider settings from the environment; problems are reported with the rest of the config. */
export function readProviderConfig(env: EnvReader): ProviderConfig {
  return { email: readEmailConfig(env), slack: readSlackConfig(env), sms: readSmsConfig(env) };
}

/** One provider per outside channel (email, Slack, SMS). */
export function createProviders(config: ProviderConfig, { log }: { log: Logger }): Map<Channel, ChannelProvider> {
  return new Map<Channel, ChannelProvider>([
    [Channel.EMAIL, config.email ? new EmailProvider(config.email) : new ConsoleProvider(Channel.EMAIL)],
    [Channel.SLACK, config.slack ? new SlackProvider(config.slack, log) : new ConsoleProvider(Channel.SLACK)],
    [Channel.SMS, config.sms ? new SmsProvider(config.sms) : new ConsoleProvider(Channel.SMS)],
  ]);
}
