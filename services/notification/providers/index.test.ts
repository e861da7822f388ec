import { pino } from 'pino';
import webpush from 'web-push';
import { afterEach, describe, expect, it } from 'vitest';
import { Channel } from '../../../gen/pulse/common/v1/delivery_pb.js';
import { ConfigError, EnvReader } from '../../platform/config.js';
import { createProviders, type ProviderConfig, readProviderConfig } from './index.js';
import type { ChannelProvider } from './provider.js';
import { createClient, createRouterTransport } from '@connectrpc/connect';
import { PreferenceService } from '../../../gen/pulse/preference/v1/preference_service_pb.js';

const SID = `AC${'0123456789abcdef'.repeat(2)}`;
const VAPID = webpush.generateVAPIDKeys();
const FULL = {
  SMTP_URL: 'smtps://mailer:p%40ss@mail.example.com',
  EMAIL_FROM: 'Pulse <pulse@example.com>',
  SLACK_BOT_TOKEN: 'xoxb-123-456-abc',
  TWILIO_ACCOUNT_SID: SID,
  TWILIO_AUTH_TOKEN: 'tok3n-secret',
  TWILIO_FROM: '+14155550100',
  VAPID_PUBLIC_KEY: VAPID.publicKey,
  VAPID_PRIVATE_KEY: VAPID.privateKey,
  VAPID_SUBJECT: 'mailto:ops@example.com',
};

const log = pino({ level: 'silent' });
const created: ChannelProvider[] = [];

function read(env: Record<string, string>): ProviderConfig {
  const reader = new EnvReader(env);
  const config = readProviderConfig(reader);
  reader.check();
  return config;
}

function problems(env: Record<string, string>): string[] {
  try {
    read(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

function names(config: ProviderConfig): Record<string, string> {
  // Never called here: building a provider asks no peer.
  const preference = createClient(PreferenceService, createRouterTransport(() => {}));
  const providers = createProviders(config, { log, preference });
  created.push(...providers.values());
  return Object.fromEntries([...providers].map(([channel, provider]) => [Channel[channel], provider.name]));
}

afterEach(async () => {
  await Promise.all(created.splice(0).map((provider) => provider.close?.()));
});

describe('provider settings', () => {
  it('uses the console sink for every channel when nothing is configured', () => {
    expect(names(read({}))).toEqual({ EMAIL: 'console', SLACK: 'console', SMS: 'console', PUSH: 'console' });
  });

  it('uses the real provider for each channel whose settings are complete', () => {
    expect(names(read(FULL))).toEqual({ EMAIL: 'smtp', SLACK: 'slack', SMS: 'twilio', PUSH: 'push' });
    expect(names(read({ SLACK_BOT_TOKEN: FULL.SLACK_BOT_TOKEN }))).toEqual({ EMAIL: 'console', SLACK: 'slack', SMS: 'console', PUSH: 'console' });
  });

  it('reads SMTP_URL with its credentials, and implicit TLS for smtps', () => {
    expect(read(FULL).email).toMatchObject({ host: 'mail.example.com', port: 465, secure: true, auth: { user: 'mailer', pass: 'p@ss' } });
    expect(read({ SMTP_URL: 'smtp://127.0.0.1:2525', EMAIL_FROM: 'pulse@example.com' }).email).toMatchObject({
      host: '127.0.0.1',
      port: 2525,
      secure: false,
      messageIdDomain: 'pulse.local',
      timeoutMs: 10_000,
    });
  });

  it('reads SMTP_HOST and friends, with port 465 meaning implicit TLS', () => {
    const env = { SMTP_HOST: 'mail.example.com', SMTP_PORT: '465', SMTP_USER: 'u', SMTP_PASSWORD: 'p', EMAIL_FROM: 'pulse@example.com' };
    expect(read(env).email).toMatchObject({ host: 'mail.example.com', port: 465, secure: true, auth: { user: 'u', pass: 'p' } });
    expect(read({ SMTP_HOST: 'mail.example.com', EMAIL_FROM: 'pulse@example.com' }).email).toMatchObject({ port: 587, secure: false });
  });

  it('takes a Messaging Service SID as the SMS sender', () => {
    const service = `MG${'a'.repeat(32)}`;
    expect(read({ ...FULL, TWILIO_FROM: service }).sms?.sender).toEqual({ messagingServiceSid: service });
    expect(read(FULL).sms?.sender).toEqual({ from: '+14155550100' });
  });

  it.each([
    [{ EMAIL_FROM: 'pulse@example.com' }, 'SMTP_HOST is required'],
    [{ SMTP_HOST: 'mail.example.com' }, 'EMAIL_FROM is required'],
    [{ SMTP_HOST: 'mail.example.com', EMAIL_FROM: 'pulse@example.com', SMTP_USER: 'u' }, 'SMTP_PASSWORD is required'],
    [{ SMTP_HOST: 'mail.example.com', EMAIL_FROM: 'pulse@example.com', SMTP_PORT: '99999' }, 'SMTP_PORT must be an integer'],
    [{ SMTP_URL: 'smtp://mail.example.com', SMTP_HOST: 'other', EMAIL_FROM: 'pulse@example.com' }, 'SMTP_HOST must not be set together with SMTP_URL'],
    [{ SMTP_URL: 'http://mail.example.com', EMAIL_FROM: 'pulse@example.com' }, 'SMTP_URL must be'],
    [{ SMTP_URL: 'smtp://mail.example.com', EMAIL_FROM: 'not an address' }, 'EMAIL_FROM must be an email address'],
    [{ SMTP_URL: 'smtp://mail.example.com', EMAIL_FROM: 'pulse@example.com', SMTP_TIMEOUT_MS: '5' }, 'SMTP_TIMEOUT_MS must be an integer'],
    [{ SLACK_API_URL: 'http://127.0.0.1:1/api/' }, 'SLACK_BOT_TOKEN is required'],
    [{ SLACK_BOT_TOKEN: 'xoxp-user-token' }, 'SLACK_BOT_TOKEN must be a Slack bot token'],
    [{ TWILIO_ACCOUNT_SID: SID }, 'TWILIO_AUTH_TOKEN is required'],
    [{ TWILIO_ACCOUNT_SID: SID }, 'TWILIO_FROM is required'],
    [{ ...FULL, TWILIO_ACCOUNT_SID: 'SK123' }, 'TWILIO_ACCOUNT_SID must be a Twilio Account SID'],
    [{ ...FULL, TWILIO_FROM: '4155550100' }, 'TWILIO_FROM must be an E.164 number'],
    [{ ...FULL, TWILIO_API_URL: 'ftp://twilio' }, 'TWILIO_API_URL must be'],
    [{ ...FULL, VAPID_PRIVATE_KEY: '' }, 'VAPID_PRIVATE_KEY'],
    [{ ...FULL, VAPID_SUBJECT: 'ops@example.com' }, 'VAPID_SUBJECT must start with'],
    [{ FCM_CREDENTIALS_JSON: '{"type":"service_account","project_id":"p"}' }, 'FCM_CREDENTIALS_JSON must be a Google service account key'],
    [{ FCM_CREDENTIALS_FILE: '/nonexistent/key.json' }, 'FCM_CREDENTIALS_FILE must hold a Google service account key'],
    [{ PULSE_PUBLIC_URL: 'ftp://pulse', ...FULL }, 'PULSE_PUBLIC_URL must be'],
  ])('reports incomplete or wrong settings by variable name: %o', (env, problem) => {
    expect(problems(env).some((p) => p.startsWith(problem))).toBe(true);
  });

  it('never repeats a secret in a problem', () => {
    const found = problems({
      SMTP_URL: 'http://mailer:hunter2@mail.example.com',
      EMAIL_FROM: 'pulse@example.com',
      SLACK_BOT_TOKEN: 'xoxp-secret-user-token',
      TWILIO_ACCOUNT_SID: 'ACnot-a-sid-secret',
      TWILIO_AUTH_TOKEN: 'twilio-secret',
      TWILIO_FROM: '+14155550100',
      FCM_CREDENTIALS_JSON: '{"type":"service_account","private_key":"secret-key"',
      VAPID_PUBLIC_KEY: 'secret',
      VAPID_PRIVATE_KEY: 'secret-vapid',
      VAPID_SUBJECT: 'secret',
    });
    expect(found.length).toBeGreaterThanOrEqual(6);
    expect(found.join('\n')).not.toMatch(/hunter2|secret/);
  });
});
