// Turns the state changes status applies into webhook messages, in the same unit of work: one message per change
// per endpoint whose filters match it.
import { newId } from '../../platform/ids.js';
import type { TxScope } from '../../platform/store/collection.js';
import type { Applied } from '../statuses.js';
import type { EndpointsRepository } from './endpoints.js';
import { MessagesRepository } from './messages.js';
import { matches, messageBody, type StateChange } from './payload.js';

export class WebhookRecorder {
  constructor(
    private readonly endpoints: EndpointsRepository,
    private readonly messages: MessagesRepository,
    /** Tells the sender there is news; callers call it once the unit of work has committed. */
    readonly wake: () => void = () => {},
  ) {}

  /** Records the steps a delivery took; how many messages were written. */
  async record(tx: TxScope, notificationType: string, moved: Applied, now: Date): Promise<number> {
    const endpoints = await this.endpoints.all();
    if (endpoints.length === 0) return 0;
    const { after } = moved;
    const messages = moved.applied.flatMap((step) => {
      const change: StateChange = {
        notificationId: after.notificationId,
        notificationType,
        deliveryId: after._id,
        channel: after.channel,
        priority: after.priority,
        userId: after.userId,
        step,
      };
      const matching = endpoints.filter((endpoint) => matches(endpoint, change));
      if (matching.length === 0) return [];
      const body = messageBody(change); // the same for every endpoint
      return matching.map((endpoint) =>
        MessagesRepository.pending({ _id: newId('msg'), endpointId: endpoint._id, notificationId: change.notificationId, state: step.state, body }, now),
      );
    });
    await this.messages.add(tx, messages);
    return messages.length;
  }
}
