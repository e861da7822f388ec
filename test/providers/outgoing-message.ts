// One outgoing message as the delivery worker hands it to a provider, with overridable fields.
import { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { OutgoingMessage } from '../../services/notification/providers/provider.js';

export function outgoingMessage(channel: Channel, overrides: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return {
    deliveryId: 'dlv_01HZX3',
    notificationId: 'ntf_01HZX3',
    channel,
    address: channel === Channel.EMAIL ? 'dana@example.com' : channel === Channel.SMS ? '+14155550123' : 'C0123456789',
    title: 'Conversation needs review',
    body: 'Customer threatened to cancel.\nSentiment dropped to -0.8.',
    data: { conversation_id: 'conv_42', score: '-0.8' },
    priority: Priority.HIGH,
    notificationType: 'review.required',
    attempt: 1,
    ...overrides,
  };
}
