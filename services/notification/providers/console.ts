// The console sink: what email, Slack and SMS use when no provider is configured (the embedded `npm start`). It
// writes one clearly marked line per message to stdout, naming the channel and ids but never the address or text,
// and reports "sent" under the provider name "console" so statuses say where the message really went.
import { Channel } from '../../../gen/pulse/common/v1/delivery_pb.js';
import type { ChannelProvider, OutgoingMessage, SendResult } from './provider.js';

export class ConsoleProvider implements ChannelProvider {
  readonly name = 'console';

  constructor(
    readonly channel: Channel,
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {}

  async send(message: OutgoingMessage): Promise<SendResult> {
    this.write(
      JSON.stringify({
        sink: 'console',
        channel: Channel[message.channel],
        notification_id: message.notificationId,
        delivery_id: message.deliveryId,
        notification_type: message.notificationType,
        attempt: message.attempt,
        msg: `[console sink] ${Channel[message.channel].toLowerCase()} delivery (no provider configured)`,
      }),
    );
    return { outcome: 'sent', providerMessageId: `console-${message.deliveryId}` };
  }
}
