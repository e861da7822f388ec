// Firebase Cloud Messaging HTTP v1 to a phone app: projects.messages.send with the device's registration token,
// authorised by an OAuth access token for the service account. The token comes from Google's documented
// service-account flow, done with node:crypto: a JWT assertion signed RS256 with the account's key (scope
// firebase.messaging, audience the token URI) exchanged at the token URI; it is kept until shortly before it
// expires and dropped when FCM answers 401. FCM answers with the message's name once it accepted it (SENT). A 404
// with the error code UNREGISTERED means the app was uninstalled or the token expired: the device is gone.
import { createSign } from 'node:crypto';
import { fromExchangeFailure, kindForStatus, parseRetryAfter } from './http-failure.js';
import { ExchangeFailure, type ExchangeLimits, type HttpExchange, type HttpRequest, type HttpResponse } from './http-exchange.js';
import { ProviderError } from './provider.js';
import type { ServiceAccount } from './push-config.js';
import type { PushMessage } from './push-message.js';
import { DeviceGone } from './web-push.js';

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const TOKEN_LIFETIME_S = 3600;
/** A token this close to its expiry is renewed first. */
const RENEW_BEFORE_MS = 60_000;

interface AccessToken {
  value: string;
  expiresAt: number;
}

/** FCM's error body: google.rpc.Status with FcmError details. */
interface FcmErrorBody {
  error?: { status?: string; details?: Array<{ '@type'?: string; errorCode?: string }> };
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function signedAssertion(account: ServiceAccount, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const claims = { iss: account.clientEmail, scope: FCM_SCOPE, aud: account.tokenUri, iat, exp: iat + TOKEN_LIFETIME_S };
  const unsigned = `${base64url({ alg: 'RS256', typ: 'JWT' })}.${base64url(claims)}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(account.privateKey).toString('base64url');
  return `${unsigned}.${signature}`;
}

function errorCodeOf(response: HttpResponse): string {
  try {
    const body = JSON.parse(response.body) as FcmErrorBody;
    return body.error?.details?.find((d) => d.errorCode)?.errorCode ?? body.error?.status ?? '';
  } catch {
    return '';
  }
}

const FCM_PRIORITY: Record<PushMessage['urgency'], 'HIGH' | 'NORMAL'> = { 'very-low': 'NORMAL', low: 'NORMAL', normal: 'NORMAL', high: 'HIGH' };

export class FcmSender {
  private token: AccessToken | undefined;
  private pendingToken: Promise<AccessToken> | undefined;

  constructor(
    private readonly account: ServiceAccount,
    private readonly apiUrl: string,
    private readonly exchange: HttpExchange,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The message's name (projects/.../messages/...), once FCM accepted it. */
  async send(registrationToken: string, message: PushMessage, limits: ExchangeLimits): Promise<string> {
    const access = await this.accessToken(limits);
    const body = {
      message: {
        token: registrationToken,
        notification: { title: message.title, body: message.body },
        data: message.data,
        android: { priority: FCM_PRIORITY[message.urgency], ttl: `${this.ttlSeconds}s` },
        apns: { headers: { 'apns-priority': message.urgency === 'high' ? '10' : '5' } },
      },
    };
    const url = `${this.apiUrl}/v1/projects/${encodeURIComponent(this.account.projectId)}/messages:send`;
    const response = await this.call(
      { method: 'POST', url, headers: { authorization: `Bearer ${access.value}`, 'content-type': 'application/json' }, body: JSON.stringify(body) },
      limits,
      'fcm',
    );
    if (response.status === 200) return (JSON.parse(response.body) as { name?: string }).name ?? '';
    const code = errorCodeOf(response);
    if (code === 'UNREGISTERED') throw new DeviceGone('fcm UNREGISTERED: registration token gone');
    if (response.status === 401) {
      this.token = undefined; // expired or revoked: the next attempt gets a new one
      throw new ProviderError('retryable', 'fcm 401: access token refused');
    }
    const retryAfterMs = response.status === 429 ? parseRetryAfter(response.headers['retry-after']) : undefined;
    // SENDER_ID_MISMATCH, INVALID_ARGUMENT (a malformed token) and THIRD_PARTY_AUTH_ERROR will not change on retry.
    throw new ProviderError(kindForStatus(response.status), `fcm ${response.status}${code ? ` ${code}` : ''}`, retryAfterMs);
  }

  private async accessToken(limits: ExchangeLimits): Promise<AccessToken> {
    if (this.token && this.token.expiresAt - RENEW_BEFORE_MS > this.now()) return this.token;
    // Concurrent sends share one exchange of the assertion.
    this.pendingToken ??= this.fetchToken(limits).finally(() => {
      this.pendingToken = undefined;
    });
    this.token = await this.pendingToken;
    return this.token;
  }

  private async fetchToken(limits: ExchangeLimits): Promise<AccessToken> {
    const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: signedAssertion(this.account, this.now()) });
    const response = await this.call(
      { method: 'POST', url: this.account.tokenUri, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() },
      limits,
      'fcm token',
    );
    if (response.status !== 200) {
      // 400/401: the key was revoked or the account lacks the role; 5xx: Google's side.
      throw new ProviderError(kindForStatus(response.status), `fcm token ${response.status}`);
    }
    const granted = JSON.parse(response.body) as { access_token?: string; expires_in?: number };
    if (!granted.access_token) throw new ProviderError('retryable', 'fcm token: no access_token in the answer');
    return { value: granted.access_token, expiresAt: this.now() + (granted.expires_in ?? TOKEN_LIFETIME_S) * 1000 };
  }

  /** A token request is safe to repeat; a send is not (FCM takes no idempotency key), hence fromExchangeFailure. */
  private async call(request: HttpRequest, limits: ExchangeLimits, what: string): Promise<HttpResponse> {
    try {
      return await this.exchange.send(request, limits);
    } catch (err) {
      if (err instanceof ExchangeFailure) {
        throw what === 'fcm token' ? new ProviderError('retryable', `${what} ${err.reason}`) : fromExchangeFailure(what, err);
      }
      throw err;
    }
  }
}
