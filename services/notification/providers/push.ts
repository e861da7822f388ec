// Push to the user's devices: one delivery per registered device, its address the device id. The device's
// registration is read from preference (GetDevice) at send time, so a device removed meanwhile is not pushed to;
// a browser goes through Web Push, a phone through FCM. A registration the push service reports gone (404/410,
// UNREGISTERED) is pruned from preference and the delivery fails permanently: retrying cannot reach it.
// Breakers, retries, quiet hours, priorities and templates are the worker's and preference's, as on every channel.
import { Code, ConnectError, type Client } from '@connectrpc/connect';
import { Channel } from '../../../gen/pulse/common/v1/delivery_pb.js';
import type { PreferenceService } from '../../../gen/pulse/preference/v1/preference_service_pb.js';
import type { Logger } from '../../platform/log.js';
import { FcmSender } from './fcm.js';
import { HttpExchange } from './http-exchange.js';
import { type ChannelProvider, type OutgoingMessage, ProviderError, type SendResult } from './provider.js';
import type { PushConfig } from './push-config.js';
import { pushMessage } from './push-message.js';
import { DeviceGone, type WebPushSubscription, WebPushSender } from './web-push.js';

export type PushTarget = { kind: 'web_push'; subscription: WebPushSubscription } | { kind: 'fcm'; token: string };

/** Where the devices live (preference): read one, forget one its push service no longer knows. */
export interface PushDevices {
  /** null when the device was removed. */
  get(deviceId: string, signal: AbortSignal): Promise<PushTarget | null>;
  prune(deviceId: string, reason: string): Promise<void>;
}

/** PushDevices over PreferenceService (GetDevice, PruneDevice). */
export function preferenceDevices(preference: Client<typeof PreferenceService>): PushDevices {
  return {
    async get(deviceId, signal) {
      try {
        const { device } = await preference.getDevice({ deviceId }, { signal });
        const registration = device?.registration;
        if (registration?.case === 'webPush') return { kind: 'web_push', subscription: registration.value };
        if (registration?.case === 'fcmToken') return { kind: 'fcm', token: registration.value };
        return null;
      } catch (err) {
        if (err instanceof ConnectError && err.code === Code.NotFound) return null;
        throw new ProviderError('retryable', `preference unavailable to read the device (${err instanceof ConnectError ? Code[err.code] : 'error'})`);
      }
    },
    async prune(deviceId, reason) {
      await preference.pruneDevice({ deviceId, reason });
    },
  };
}

export class PushProvider implements ChannelProvider {
  readonly name = 'push';
  readonly channel = Channel.PUSH;
  private readonly exchange = new HttpExchange();
  private readonly webPush: WebPushSender | undefined;
  private readonly fcm: FcmSender | undefined;

  constructor(
    private readonly config: PushConfig,
    private readonly devices: PushDevices,
    private readonly log: Logger,
  ) {
    this.webPush = config.webPush && new WebPushSender(config.webPush, this.exchange, config.ttlSeconds);
    this.fcm = config.fcm && new FcmSender(config.fcm, config.fcmApiUrl, this.exchange, config.ttlSeconds);
  }

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const target = await this.devices.get(message.address, signal);
    if (!target) throw new ProviderError('permanent', 'device no longer registered');
    const limits = { signal, timeoutMs: this.config.timeoutMs };
    const content = pushMessage(message);
    try {
      if (target.kind === 'web_push') {
        if (!this.webPush) throw new ProviderError('permanent', 'web push is not configured (VAPID_* settings)');
        return { outcome: 'sent', providerMessageId: await this.webPush.send(target.subscription, content, limits) };
      }
      if (!this.fcm) throw new ProviderError('permanent', 'FCM is not configured (FCM_CREDENTIALS_* settings)');
      return { outcome: 'sent', providerMessageId: await this.fcm.send(target.token, content, limits) };
    } catch (err) {
      if (!(err instanceof DeviceGone)) throw err;
      await this.devices.prune(message.address, err.reason).catch((pruneErr: unknown) => {
        // The next send to it finds it gone again and retries the pruning.
        this.log.warn({ err: pruneErr, device_id: message.address }, 'could not prune a push device reported gone');
      });
      throw new ProviderError('permanent', err.reason);
    }
  }

  async close(): Promise<void> {
    this.exchange.close();
  }
}
