// Push settings: Web Push (browsers) with the VAPID key pair that identifies Pulse to push services, and FCM HTTP v1
// (phone apps) with a Google service account. Push is configured when either is; a device of a kind whose settings
// are absent fails permanently ("not configured"). The private key and the service account are secrets: read from
// the environment or a file outside the repository, never echoed.
import { readFileSync } from 'node:fs';
import type { EnvReader } from '../../platform/config.js';

export interface WebPushConfig {
  /** VAPID keys, base64url (`npx web-push generate-vapid-keys`). */
  publicKey: string;
  privateKey: string;
  /** A contact for the push services: "mailto:ops@example.com" or an https URL. */
  subject: string;
}

export interface ServiceAccount {
  projectId: string;
  clientEmail: string;
  /** PEM, PKCS#8. */
  privateKey: string;
  /** Where the signed assertion is exchanged for an access token. */
  tokenUri: string;
}

export interface PushConfig {
  webPush?: WebPushConfig;
  fcm?: ServiceAccount;
  /** FCM's base URL; another one for a stand-in. */
  fcmApiUrl: string;
  /** How long a push service keeps an undelivered message (Web Push TTL, FCM android.ttl). */
  ttlSeconds: number;
  timeoutMs: number;
}

function readServiceAccount(env: EnvReader): ServiceAccount | undefined {
  const file = env.string('FCM_CREDENTIALS_FILE');
  const inline = env.string('FCM_CREDENTIALS_JSON');
  if (file === undefined && inline === undefined) return undefined;
  const variable = inline !== undefined ? 'FCM_CREDENTIALS_JSON' : 'FCM_CREDENTIALS_FILE';
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(inline ?? readFileSync(file as string, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    const why = err instanceof SyntaxError ? 'is not JSON' : `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
    env.invalid(variable, `must hold a Google service account key (JSON); it ${why}`);
    return undefined;
  }
  const field = (name: string) => (typeof parsed[name] === 'string' ? (parsed[name] as string) : '');
  const missing = ['project_id', 'client_email', 'private_key', 'token_uri'].filter((name) => field(name) === '');
  if (field('type') !== 'service_account' || missing.length > 0) {
    const detail = missing.length > 0 ? `; missing ${missing.join(', ')}` : '';
    env.invalid(variable, `must be a Google service account key ("type": "service_account"${detail})`);
    return undefined;
  }
  return { projectId: field('project_id'), clientEmail: field('client_email'), privateKey: field('private_key'), tokenUri: field('token_uri') };
}

function readWebPush(env: EnvReader): WebPushConfig | undefined {
  if (!['VAPID_PUBLIC_KEY', 'VAPID_PRIVATE_KEY', 'VAPID_SUBJECT'].some((name) => env.string(name) !== undefined)) return undefined;
  const publicKey = env.required('VAPID_PUBLIC_KEY', 'the VAPID public key, base64url (npx web-push generate-vapid-keys)');
  const privateKey = env.required('VAPID_PRIVATE_KEY', 'the VAPID private key, base64url');
  const subject = env.required('VAPID_SUBJECT', 'a contact for push services: mailto:... or https://...');
  const bytes = (value: string) => Buffer.from(value, 'base64url').length;
  if (publicKey !== '' && bytes(publicKey) !== 65) env.invalid('VAPID_PUBLIC_KEY', 'must be a P-256 public key (65 bytes), base64url');
  if (privateKey !== '' && bytes(privateKey) !== 32) env.invalid('VAPID_PRIVATE_KEY', 'must be a P-256 private key (32 bytes), base64url');
  if (subject !== '' && !/^(mailto:|https:\/\/)/.test(subject)) env.invalid('VAPID_SUBJECT', 'must start with "mailto:" or "https://"');
  return { publicKey, privateKey, subject };
}

export function readPushConfig(env: EnvReader): PushConfig | undefined {
  const webPush = readWebPush(env);
  const fcm = readServiceAccount(env);
  const fcmApiUrl = env.url('FCM_API_URL', 'https://fcm.googleapis.com', ['https', 'http']).replace(/\/+$/, '');
  const ttlSeconds = env.int('PUSH_TTL_SECONDS', 86_400, { min: 0, max: 2_419_200 });
  const timeoutMs = env.int('PUSH_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 });
  return webPush || fcm ? { webPush, fcm, fcmApiUrl, ttlSeconds, timeoutMs } : undefined;
}
