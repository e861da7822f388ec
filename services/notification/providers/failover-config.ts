// Failover providers: a second SMTP relay (SMTP_SECONDARY_URL), a second Slack token (SLACK_SECONDARY_BOT_TOKEN), a
// second Twilio sender (TWILIO_SECONDARY_FROM). Each takes the rest of its settings from the channel's primary, so
// it needs the primary configured; a secrets-free problem names the variable.
import type { EnvReader } from '../../platform/config.js';
import { type EmailConfig, smtpServerFromUrl } from './email-config.js';
import type { ProviderConfig } from './index.js';
import type { SlackConfig } from './slack-config.js';
import { E164, type SmsConfig } from './sms-config.js';

export interface FailoverConfig {
  email?: EmailConfig;
  slack?: SlackConfig;
  sms?: SmsConfig;
}

export function readFailoverConfig(env: EnvReader, primary: ProviderConfig): FailoverConfig {
  const needs = (name: string, channel: string, configured: boolean) => {
    if (!configured) env.invalid(name, `is a failover for ${channel}, which has no primary provider configured`);
    return configured;
  };
  const config: FailoverConfig = {};
  if (env.string('SMTP_SECONDARY_URL') !== undefined && needs('SMTP_SECONDARY_URL', 'email', primary.email !== undefined)) {
    const server = smtpServerFromUrl(env, 'SMTP_SECONDARY_URL');
    if (server && primary.email) config.email = { ...primary.email, auth: undefined, ...server };
  }
  const token = env.string('SLACK_SECONDARY_BOT_TOKEN');
  if (token !== undefined && needs('SLACK_SECONDARY_BOT_TOKEN', 'Slack', primary.slack !== undefined)) {
    if (!/^xoxb-[A-Za-z0-9-]+$/.test(token)) env.invalid('SLACK_SECONDARY_BOT_TOKEN', 'must be a Slack bot token (starting with "xoxb-")');
    else if (primary.slack) config.slack = { ...primary.slack, token };
  }
  const from = env.string('TWILIO_SECONDARY_FROM');
  if (from !== undefined && needs('TWILIO_SECONDARY_FROM', 'SMS', primary.sms !== undefined)) {
    const sender = /^MG[0-9a-fA-F]{32}$/.test(from) ? { messagingServiceSid: from } : E164.test(from) ? { from } : undefined;
    if (!sender) env.invalid('TWILIO_SECONDARY_FROM', 'must be an E.164 number (+15551234567) or a Messaging Service SID ("MG" and 32 hex digits)');
    else if (primary.sms) config.sms = { ...primary.sms, sender };
  }
  return config;
}
