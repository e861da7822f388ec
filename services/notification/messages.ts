// Stored records as API messages.
import { create } from '@bufbuild/protobuf';
import { durationFromMs, timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  type DeadLetter,
  DeadLetterSchema,
  type Delivery,
  DeliverySchema,
  type Notification,
  NotificationSchema,
} from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { overallState } from '../common/delivery-state.js';
import type { DeadLetterDoc } from './dead-letters.js';
import type { DeliveryDoc } from './deliveries.js';
import { type NotificationDoc, toRecipient } from './notifications.js';

export function toDelivery(doc: DeliveryDoc): Delivery {
  return create(DeliverySchema, {
    deliveryId: doc._id,
    channel: doc.channel,
    address: doc.address,
    userId: doc.userId,
    state: doc.state,
    attempts: doc.attemptsMade,
    provider: doc.provider,
    reason: doc.reason,
    deliverAt: doc.dueAt ? timestampFromDate(doc.dueAt) : undefined,
    updatedAt: timestampFromDate(doc.updatedAt),
    providerMessageId: doc.providerMessageId,
    digestSize: doc.digestSize,
    escalationStep: doc.escalationStep ?? 0,
  });
}

export function toNotification(doc: NotificationDoc, deliveries: readonly DeliveryDoc[]): Notification {
  return create(NotificationSchema, {
    notificationId: doc._id,
    idempotencyKey: doc.idempotencyKey,
    recipient: toRecipient(doc.recipient),
    notificationType: doc.notificationType,
    priority: doc.priority,
    content: { title: doc.content.title, body: doc.content.body, data: doc.content.data },
    state: overallState(deliveries.map((d) => d.state)),
    deliveries: deliveries.map(toDelivery),
    source: doc.source,
    causeId: doc.causeId,
    createdAt: timestampFromDate(doc.createdAt),
    expiresAt: doc.expiresAt ? timestampFromDate(doc.expiresAt) : undefined,
    escalation: (doc.escalation ?? []).map((step) => ({ channel: step.channel, after: durationFromMs(step.afterMs) })),
  });
}

export function toDeadLetter(doc: DeadLetterDoc): DeadLetter {
  return create(DeadLetterSchema, {
    deadLetterId: doc._id,
    notificationId: doc.notificationId,
    deliveryId: doc.deliveryId,
    channel: doc.channel,
    priority: doc.priority,
    reason: doc.reason,
    attempts: doc.attempts,
    failedAt: timestampFromDate(doc.failedAt),
    replayedAt: doc.replayedAt ? timestampFromDate(doc.replayedAt) : undefined,
    provider: doc.provider,
  });
}
