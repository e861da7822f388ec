import { describe, expect, it } from 'vitest';
import { Channel } from '../../../gen/pulse/common/v1/delivery_pb.js';
import { EnvReader } from '../../platform/config.js';
import { readFailoverConfig } from './failover-config.js';
import { chooseProvider } from './failover.js';
import { readProviderConfig } from './index.js';
import type { ChannelProvider } from './provider.js';

const provider = (name: string): ChannelProvider => ({ name, channel: Channel.EMAIL, send: async () => ({ outcome: 'sent' }) });
const primary = provider('smtp');
const secondary = provider('smtp-secondary');
const pair = { primary, secondary };
const open = (...names: string[]) => (p: ChannelProvider) => names.includes(p.name);

describe('chooseProvider', () => {
  it('sends a first attempt through the primary, and without a failover provider always the primary', () => {
    expect(chooseProvider(pair, undefined, open())).toEqual({ provider: primary });
    expect(chooseProvider({ primary }, 'smtp', open('smtp'))).toEqual({ provider: primary });
  });

  it('sends the attempt after a failure on one provider through the other', () => {
    expect(chooseProvider(pair, 'smtp', open())).toEqual({ provider: secondary, failover: 'retryable_failure' });
    expect(chooseProvider(pair, 'smtp-secondary', open())).toEqual({ provider: primary });
  });

  it("passes over a provider whose breaker is open, unless the other's is open too", () => {
    expect(chooseProvider(pair, undefined, open('smtp'))).toEqual({ provider: secondary, failover: 'breaker_open' });
    expect(chooseProvider(pair, 'smtp', open('smtp-secondary'))).toEqual({ provider: primary });
    expect(chooseProvider(pair, undefined, open('smtp', 'smtp-secondary'))).toEqual({ provider: primary });
    expect(chooseProvider(pair, 'smtp', open('smtp', 'smtp-secondary'))).toEqual({ provider: secondary, failover: 'retryable_failure' });
  });
});

describe('readFailoverConfig', () => {
  const read = (env: Record<string, string>) => {
    const reader = new EnvReader(env);
    const config = readFailoverConfig(reader, readProviderConfig(reader));
    return { config, check: () => reader.check() };
  };
  const smtp = { SMTP_HOST: 'mail.example.com', SMTP_PORT: '587', SMTP_USER: 'u', SMTP_PASSWORD: 'p', EMAIL_FROM: 'pulse@example.com' };

  it('takes the rest of each failover provider from its primary', () => {
    const { config, check } = read({
      ...smtp,
      SMTP_SECONDARY_URL: 'smtps://relay2.example.com',
      SLACK_BOT_TOKEN: 'xoxb-1-primary',
      SLACK_SECONDARY_BOT_TOKEN: 'xoxb-2-secondary',
    });
    check();
    expect(config.email).toMatchObject({ host: 'relay2.example.com', port: 465, secure: true, from: 'pulse@example.com', auth: undefined });
    expect(config.slack).toMatchObject({ token: 'xoxb-2-secondary', apiUrl: 'https://slack.com/api/' });
    expect(config.sms).toBeUndefined();
  });

  it('names each variable that is wrong, without echoing secrets', () => {
    const { check } = read({ SMTP_SECONDARY_URL: 'smtp://relay2.example.com', TWILIO_SECONDARY_FROM: 'nope', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SECONDARY_BOT_TOKEN: 'secret-token' });
    expect(check).toThrow(/SMTP_SECONDARY_URL is a failover for email, which has no primary provider configured/);
    expect(check).toThrow(/TWILIO_SECONDARY_FROM is a failover for SMS/);
    expect(check).toThrow(/SLACK_SECONDARY_BOT_TOKEN must be a Slack bot token/);
    expect(check).not.toThrow(/secret-token/);
  });
});
