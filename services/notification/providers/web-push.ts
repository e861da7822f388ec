// Web Push to a browser (RFC 8030), through the web-push package: it encrypts the payload for the subscription
// (RFC 8291, aes128gcm) and signs the VAPID JWT (RFC 8292); the request goes out through our HttpExchange, which
// bounds it by the send's deadline and says how far a failed one got. A push service answers 201 once it holds the
// message for the browser: Pulse records SENT (push services report no delivery). 404 and 410 mean the
// subscription is gone for good.
import webpush from 'web-push';
import { fromExchangeFailure, kindForStatus, parseRetryAfter } from './http-failure.js';
import { ExchangeFailure, type ExchangeLimits, type HttpExchange } from './http-exchange.js';
import { ProviderError } from './provider.js';
import type { WebPushConfig } from './push-config.js';
import type { PushMessage } from './push-message.js';

export interface WebPushSubscription {
  endpoint: string;
  p256dh: string;
  auth: string;
}

/** The push service says the subscription no longer exists: the device must be forgotten. */
export class DeviceGone extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'DeviceGone';
  }
}

export class WebPushSender {
  constructor(
    private readonly config: WebPushConfig,
    private readonly exchange: HttpExchange,
    private readonly ttlSeconds: number,
  ) {}

  /** The push service's id for the message (its Location), once it accepted it. */
  async send(subscription: WebPushSubscription, message: PushMessage, limits: ExchangeLimits): Promise<string> {
    let details: ReturnType<typeof webpush.generateRequestDetails>;
    try {
      details = webpush.generateRequestDetails(
        { endpoint: subscription.endpoint, keys: { p256dh: subscription.p256dh, auth: subscription.auth } },
        JSON.stringify({ title: message.title, body: message.body, data: message.data }),
        {
          vapidDetails: { subject: this.config.subject, publicKey: this.config.publicKey, privateKey: this.config.privateKey },
          TTL: this.ttlSeconds,
          urgency: message.urgency,
          contentEncoding: 'aes128gcm',
        },
      );
    } catch {
      throw new ProviderError('permanent', 'web push subscription cannot be encrypted for (bad keys or endpoint)');
    }
    const headers = Object.fromEntries(Object.entries(details.headers).map(([name, value]) => [name, String(value)]));
    let response;
    try {
      response = await this.exchange.send({ method: details.method, url: details.endpoint, headers, body: details.body ?? undefined }, limits);
    } catch (err) {
      if (err instanceof ExchangeFailure) throw fromExchangeFailure('web push', err);
      throw err;
    }
    const { status } = response;
    if (status >= 200 && status < 300) return response.headers.location ?? '';
    if (status === 404 || status === 410) throw new DeviceGone(`web push ${status}: subscription gone`);
    if (status === 413) throw new ProviderError('permanent', 'web push 413: payload too large');
    throw new ProviderError(kindForStatus(status), `web push ${status}`, status === 429 ? parseRetryAfter(response.headers['retry-after']) : undefined);
  }
}
