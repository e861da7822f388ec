// notification.status.changed events, built from the stored records they report on; only the delivery engine
// (delivery-engine.ts) emits them. Reasons never carry addresses or message text; the in-app content rides only on
// the SENT change that hands it to the inbox.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import {
  type DeliveryStatusChange,
  DeliveryStatusChangeSchema,
  type InboxContent,
  InboxContentSchema,
  type NotificationStatusChanged,
  NotificationStatusChangedSchema,
} from '../../gen/pulse/events/v1/events_pb.js';
import { newId } from '../platform/ids.js';
import type { DeliveryDoc } from './deliveries.js';
import { type NotificationDoc, toRecipient } from './notifications.js';

/** A delivery as one of the changes reported together, with the inbox content it hands over, if any. */
export interface ReportedChange {
  delivery: DeliveryDoc;
  inbox?: InboxContent;
}

/** What the inbox stores for an in-app delivery of the notification. */
export function inboxContent(notification: NotificationDoc): InboxContent {
  return create(InboxContentSchema, { ...notification.content });
}

/** The notification was accepted, with the changes of its deliveries made in the same unit of work, in order. */
export function notificationAccepted(doc: NotificationDoc, changes: readonly ReportedChange[]): NotificationStatusChanged {
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
    deliveryChanges: changes.map(({ delivery, inbox }) => deliveryStatusChange(delivery, inbox)),
  });
}

function deliveryStatusChange(doc: DeliveryDoc, inbox?: InboxContent): DeliveryStatusChange {
  return create(DeliveryStatusChangeSchema, {
    deliveryId: doc._id,
    userId: doc.userId,
    channel: doc.channel,
    state: doc.state,
    attempt: doc.attempt,
    provider: doc.provider,
    reason: doc.reason,
    inbox,
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
