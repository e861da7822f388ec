// Email (SMTP) settings. Email is configured when any of its core settings is present; then the server and the
// sender are required, and every problem names its variable. Credentials are never echoed.
import type { EnvReader } from '../../platform/config.js';
import { senderAddress } from './email-address.js';

export interface EmailConfig {
  host: string;
  port: number;
  /** Implicit TLS (smtps, usually port 465); otherwise STARTTLS is used when the server offers it. */
  secure: boolean;
  auth?: { user: string; pass: string };
  from: string;
  /** Whole-send deadline, also used for connecting, the greeting and socket inactivity. */
  timeoutMs: number;
  /** Right-hand side of the Message-ID we set, `<delivery id@domain>`. */
  messageIdDomain: string;
}

const SERVER_PARTS = ['SMTP_HOST', 'SMTP_PORT', 'SMTP_USER', 'SMTP_PASSWORD', 'SMTP_SECURE'] as const;
const CORE = ['SMTP_URL', ...SERVER_PARTS, 'EMAIL_FROM'] as const;
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;

type Server = Pick<EmailConfig, 'host' | 'port' | 'secure' | 'auth'>;

export function readEmailConfig(env: EnvReader): EmailConfig | undefined {
  const present = (name: string) => env.string(name) !== undefined;
  if (!CORE.some(present)) return undefined;

  const server = present('SMTP_URL') ? serverFromUrl(env, present) : serverFromParts(env);
  const from = env.required('EMAIL_FROM', 'the sender of email notifications, e.g. "Pulse <pulse@example.com>"');
  if (from !== '' && senderAddress(from) === undefined) {
    env.invalid('EMAIL_FROM', 'must be an email address, optionally with a display name: "Pulse <pulse@example.com>"');
  }
  const timeoutMs = env.int('SMTP_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 });
  const messageIdDomain = env.string('EMAIL_MESSAGE_ID_DOMAIN', 'pulse.local');
  if (!HOSTNAME.test(messageIdDomain)) env.invalid('EMAIL_MESSAGE_ID_DOMAIN', 'must be a domain name such as pulse.example.com');
  return server && { ...server, from, timeoutMs, messageIdDomain };
}

function serverFromUrl(env: EnvReader, present: (name: string) => boolean): Server | undefined {
  for (const name of SERVER_PARTS) {
    if (present(name)) env.invalid(name, 'must not be set together with SMTP_URL (use one or the other)');
  }
  return smtpServerFromUrl(env, 'SMTP_URL');
}

/** An SMTP server from a smtp:// or smtps:// URL in the variable `name` (also the failover relay's). */
export function smtpServerFromUrl(env: EnvReader, name: string): Server | undefined {
  const value = env.url(name, undefined, ['smtp', 'smtps']);
  if (value === undefined) return undefined;
  const url = new URL(value);
  if (url.hostname === '') {
    env.invalid(name, 'must name a host, e.g. smtp://user:password@mail.example.com:587');
    return undefined;
  }
  const secure = url.protocol === 'smtps:';
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
    secure,
    ...(user !== '' && { auth: { user, pass } }),
  };
}

function serverFromParts(env: EnvReader): Server {
  const host = env.required('SMTP_HOST', 'the SMTP server for email (or set SMTP_URL), since other email settings are given');
  // Port 465 means implicit TLS unless said otherwise; 587 and 25 upgrade with STARTTLS.
  const secure = env.bool('SMTP_SECURE', env.string('SMTP_PORT') === '465');
  const port = env.int('SMTP_PORT', secure ? 465 : 587, { min: 1, max: 65_535 });
  const user = env.string('SMTP_USER');
  const pass = env.string('SMTP_PASSWORD');
  if (user !== undefined && pass === undefined) env.required('SMTP_PASSWORD', 'SMTP_USER is set, so the SMTP server needs its password');
  if (pass !== undefined && user === undefined) env.required('SMTP_USER', 'SMTP_PASSWORD is set, so the SMTP server needs its user');
  return { host, port, secure, ...(user !== undefined && pass !== undefined && { auth: { user, pass } }) };
}
