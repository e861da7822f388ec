// What a webhook message says and who gets it: plain functions, no I/O. The body names the delivery and its new
// state, never an address or message text.
import { Channel, DeliveryState, Priority } from '../../../gen/pulse/common/v1/delivery_pb.js';
import type { Step } from '../timeline.js';
import type { EndpointDoc } from './endpoints.js';

/** One delivery's move into a new state, as status applied it. */
export interface StateChange {
  notificationId: string;
  notificationType: string;
  deliveryId: string;
  channel: Channel;
  priority: Priority;
  userId: string;
  step: Step;
}

export const EVENT_TYPE = 'delivery.state_changed';

export function matches(endpoint: Pick<EndpointDoc, 'notificationTypes' | 'states'>, change: StateChange): boolean {
  return (
    (endpoint.notificationTypes.length === 0 || endpoint.notificationTypes.includes(change.notificationType)) &&
    (endpoint.states.length === 0 || endpoint.states.includes(change.step.state))
  );
}

/** The JSON body (snake_case keys, enum names without prefix, times in RFC 3339). */
export function messageBody(change: StateChange): string {
  return JSON.stringify({
    type: EVENT_TYPE,
    timestamp: change.step.at.toISOString(),
    data: {
      notification_id: change.notificationId,
      notification_type: change.notificationType,
      delivery_id: change.deliveryId,
      channel: Channel[change.channel],
      priority: Priority[change.priority],
      user_id: change.userId,
      state: DeliveryState[change.step.state],
      attempt: change.step.attempt,
      provider: change.step.provider,
      reason: change.step.reason,
    },
  });
}
