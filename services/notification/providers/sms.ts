// SMS via twilio's messages.create. One send is one request (the library's auto-retry is off by default and stays
// off): the delivery worker owns retries. Twilio's Messages API takes no idempotency key, so a request that may have
// been received (timeout after it was written) is reported as unknown_outcome rather than risk a second SMS.
// Outcome "sent": Twilio queued the message. With a StatusCallback URL (PULSE_PUBLIC_URL), Twilio then reports
// delivery to notification, which moves the delivery on to DELIVERED or FAILED (sms-receipts.ts).
import twilio from 'twilio';
import { Channel } from '../../../gen/pulse/common/v1/delivery_pb.js';
import { HttpExchange } from './http-exchange.js';
import { type ChannelProvider, type OutgoingMessage, ProviderError, type SendResult } from './provider.js';
import { E164, type SmsConfig } from './sms-config.js';
import { smsText } from './sms-text.js';
import { classifyTwilioError } from './twilio-failure.js';
import { TwilioTransport } from './twilio-transport.js';

export class SmsProvider implements ChannelProvider {
  readonly channel = Channel.SMS;
  private readonly exchange = new HttpExchange();

  constructor(
    private readonly config: SmsConfig,
    /** "twilio", or "twilio-secondary" for the failover sender. */
    readonly name = 'twilio',
  ) {}

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    if (!E164.test(message.address)) throw new ProviderError('permanent', 'invalid phone number (not E.164)');
    // A client per send binds the transport to this send's signal and deadline; connections live in the exchange.
    const transport = new TwilioTransport(this.exchange, { signal, timeoutMs: this.config.timeoutMs }, this.config.apiUrl);
    const client = twilio(this.config.accountSid, this.config.authToken, { httpClient: transport });
    try {
      const created = await client.messages.create({
        to: message.address,
        body: message.rendered ? smsText('', message.rendered.body) : smsText(message.title, message.body),
        ...this.config.sender,
        ...(this.config.statusCallbackUrl ? { statusCallback: this.config.statusCallbackUrl } : {}),
      });
      return { outcome: 'sent', providerMessageId: created.sid };
    } catch (err) {
      throw classifyTwilioError(err, transport.retryAfterMs);
    }
  }

  async close(): Promise<void> {
    this.exchange.close();
  }
}
