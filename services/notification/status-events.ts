// notification.status.changed events, built from the stored records they report on; only the delivery engine
// (delivery-engine.ts) emits them. Reasons never carry addresses or message text; the in-app content rides only on
// the SENT change that hands it to the inbox.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import {
  type InboxContent,
  type NotificationStatusChanged,
  NotificationStatusChangedSchema,
} from '../../gen/pulse/events/v1/events_pb.js';
import { newId } from '../platform/ids.js';
import type { DeliveryDoc } from './deliveries.js';
import { type NotificationDoc, toRecipient } from './notifications.js';

/** The notification as a whole was accepted (before its deliveries are reported). */
export function notificationAccepted(doc: NotificationDoc): NotificationStatusChanged {
  return create(NotificationStatusChangedSchema, {
    eventId: newId('evt'),
    occurredAt: timestampFromDate(doc.createdAt),
    notificationId: doc._id,
    recipient: toRecipient(doc.recipient),
    userId: doc.recipient.userId ?? '',
    priority: doc.priority,
    notificationType: doc.notificationType,
    state: DeliveryState.ACCEPTED,
    attempt: 0,
    acceptedAt: timestampFromDate(doc.createdAt),
    causeId: doc.causeId,
  });
}

/** A delivery entered the state it now holds. */
export function deliveryChanged(doc: DeliveryDoc, at: Date, inbox?: InboxContent): NotificationStatusChanged {
  return create(NotificationStatusChangedSchema, {
    eventId: newId('evt'),
    occurredAt: timestampFromDate(at),
    notificationId: doc.notificationId,
    deliveryId: doc._id,
    recipient: toRecipient(doc.recipient),
    userId: doc.userId,
    channel: doc.channel,
    priority: doc.priority,
    notificationType: doc.notificationType,
    state: doc.state,
    attempt: doc.attempt,
    provider: doc.provider,
    reason: doc.reason,
    acceptedAt: timestampFromDate(doc.acceptedAt),
    inbox,
    causeId: doc.causeId,
  });
}
