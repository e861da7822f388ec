// The three outside providers on loopback for the hardening tests (two real SMTP servers, the second as the failover
// relay, the Slack and Twilio
// stand-ins, which check every request against the providers' OpenAPI descriptions, each behind a recording tap
// that can inject the provider's faults), and the environment that points notification's real providers
// (nodemailer, @slack/web-api, twilio) at them.
import { type SlackStandIn, startSlackStandIn } from '../../support/slack-standin.js';
import { type SmtpStandIn, startSmtpServer } from '../../support/smtp-server.js';
import { startTwilioStandIn, type TwilioStandIn } from '../../support/twilio-standin.js';
import { startTap, type Tap } from '../../support/tap.js';

export const TWILIO_FROM = '+15005550006';

export interface Providers {
  smtp: SmtpStandIn;
  /** The failover relay (SMTP_SECONDARY_URL). */
  smtpSecondary: SmtpStandIn;
  slack: SlackStandIn;
  twilio: TwilioStandIn;
  /** Recording proxies between Pulse and the HTTP stand-ins, which can also inject the provider's faults. */
  slackTap: Tap;
  twilioTap: Tap;
  /** Provider settings for the notification service. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startProviders(timeoutMs = 5_000): Promise<Providers> {
  const smtp = await startSmtpServer();
  const smtpSecondary = await startSmtpServer();
  const slack = await startSlackStandIn();
  const twilio = await startTwilioStandIn();
  const slackTap = await startTap(slack.origin);
  const twilioTap = await startTap(twilio.apiUrl);
  return {
    smtp,
    smtpSecondary,
    slack,
    twilio,
    slackTap,
    twilioTap,
    env: {
      SMTP_HOST: smtp.host,
      SMTP_PORT: String(smtp.port),
      SMTP_SECURE: 'false',
      SMTP_TIMEOUT_MS: String(timeoutMs),
      SMTP_SECONDARY_URL: `smtp://${smtpSecondary.host}:${smtpSecondary.port}`,
      EMAIL_FROM: 'Pulse <pulse@example.com>',
      EMAIL_MESSAGE_ID_DOMAIN: 'pulse.test',
      SLACK_BOT_TOKEN: 'xoxb-1111-2222-pulsehardeningtest',
      SLACK_API_URL: `${slackTap.origin}/api/`,
      SLACK_TIMEOUT_MS: String(timeoutMs),
      TWILIO_ACCOUNT_SID: `AC${'0123456789abcdef'.repeat(2)}`,
      TWILIO_AUTH_TOKEN: 'pulse-hardening-test-token',
      TWILIO_FROM,
      TWILIO_API_URL: twilioTap.origin,
      TWILIO_TIMEOUT_MS: String(timeoutMs),
    },
    async close() {
      await Promise.all([slackTap.close(), twilioTap.close()]);
      await Promise.all([slack.close(), twilio.close(), smtp.close(), smtpSecondary.close()]);
    },
  };
}
