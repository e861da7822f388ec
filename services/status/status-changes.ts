// The consumer of notification.status.changed: applies each change to the notification's status, forward only, in
// the unit of work that also records the event as handled. An in-app delivery handed over as SENT with its inbox
// content is stored in the user's inbox and moved to DELIVERED (provider "inbox") in that same unit of work: that is
// what "delivered to the in-app inbox" means.
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { NotificationStatusChanged } from '../../gen/pulse/events/v1/events_pb.js';
import { PermanentError } from '../platform/bus/bus.js';
import type { Logger } from '../platform/log.js';
import { annotate } from '../platform/span-ids.js';
import type { UnitOfWork } from '../platform/unit-of-work.js';
import type { InboxRepository } from './inbox.js';
import type { DeliveryMetrics } from './metrics.js';
import { type Advanced, changesRest, type DeliveryDoc, type NotificationHeader, type StatusRepository } from './statuses.js';
import type { Step } from './timeline.js';
import type { StatusFeed } from './watch.js';

export interface StatusChangeDeps {
  statuses: StatusRepository;
  inbox: InboxRepository;
  feed: StatusFeed;
  metrics: DeliveryMetrics;
  log: Logger;
  now?: () => Date;
}

export const INBOX_PROVIDER = 'inbox';

export function statusChangeHandler(deps: StatusChangeDeps): (event: NotificationStatusChanged, tx: UnitOfWork) => Promise<void> {
  const now = deps.now ?? (() => new Date());

  /** Stores an in-app hand-over in the inbox and moves the delivery to DELIVERED; null when it is not one. */
  async function handToInbox(tx: UnitOfWork, event: NotificationStatusChanged, delivery: DeliveryDoc, at: Date): Promise<Advanced | null> {
    if (delivery.channel !== Channel.IN_APP || event.state !== DeliveryState.SENT || !event.inbox) return null;
    if (!delivery.userId) {
      deps.log.warn({ notification_id: event.notificationId, delivery_id: delivery._id }, 'in-app delivery without a user id; no inbox to put it in');
      return null;
    }
    await deps.inbox.add(tx, {
      _id: delivery._id,
      userId: delivery.userId,
      notificationId: event.notificationId,
      title: event.inbox.title,
      body: event.inbox.body,
      data: Object.entries(event.inbox.data).map(([key, value]) => ({ key, value })),
      priority: event.priority,
      notificationType: event.notificationType,
      deliveredAt: at,
      readAt: null,
    });
    return deps.statuses.advanceDelivery(tx, delivery._id, {
      state: DeliveryState.DELIVERED,
      at,
      attempt: delivery.attempt,
      provider: INBOX_PROVIDER,
      reason: '',
    });
  }

  return async (event, tx) => {
    annotate({ 'pulse.notification_id': event.notificationId, 'pulse.delivery_id': event.deliveryId, 'pulse.delivery_state': DeliveryState[event.state] });
    if (!event.notificationId) throw new PermanentError('notification.status.changed without a notification_id');
    if (event.state === DeliveryState.UNSPECIFIED || DeliveryState[event.state] === undefined) {
      throw new PermanentError(`notification.status.changed with state ${event.state}, which is no delivery state`);
    }
    const stamp = now();
    const at = event.occurredAt ? timestampDate(event.occurredAt) : stamp;
    const recipient = event.recipient?.target;
    const recipientUserId = recipient?.case === 'userId' ? recipient.value : '';
    const userId = event.userId || recipientUserId;
    const header: NotificationHeader = {
      notificationId: event.notificationId,
      recipientUserId,
      recipientTopic: recipient?.case === 'topic' ? recipient.value : '',
      priority: event.priority,
      notificationType: event.notificationType,
      acceptedAt: event.acceptedAt ? timestampDate(event.acceptedAt) : null,
      userIds: [...new Set([recipientUserId, userId].filter((id) => id !== ''))],
    };
    await deps.statuses.ensure(tx, header, at, stamp);

    const step: Step = { state: event.state, at, attempt: event.attempt, provider: event.provider, reason: event.reason };
    const advanced: Advanced[] = [];
    let applied: boolean;
    if (event.deliveryId === '') {
      applied = await deps.statuses.advanceNotification(tx, event.notificationId, step);
    } else {
      const init = {
        notificationId: event.notificationId,
        channel: event.channel,
        priority: event.priority,
        userId,
        acceptedAt: header.acceptedAt ?? at,
      };
      const moved = await deps.statuses.advanceDelivery(tx, event.deliveryId, step, init);
      if (moved) {
        advanced.push(moved);
        // Never before the hand-over itself, whatever the clocks say.
        const delivered = await handToInbox(tx, event, moved.after, new Date(Math.max(at.getTime(), stamp.getTime())));
        if (delivered) advanced.push(delivered);
      }
      applied = advanced.length > 0;
    }
    if (!applied) return;
    // A change of the notification's own state may be its only news (no deliveries): decide its retention then too.
    const restChanged = event.deliveryId === '' || advanced.some(changesRest);
    const note = await deps.statuses.bump(tx, event.notificationId, at, stamp, restChanged);
    // Only once committed: a watcher must read the new revision, and a retried event must not count twice.
    tx.afterCommit(() => {
      for (const change of advanced) deps.metrics.observe(change);
      if (note) deps.feed.publish(note);
    });
  };
}
