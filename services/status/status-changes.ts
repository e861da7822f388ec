// The consumer of notification.status.changed: applies each change an event carries (the notification's own, one
// delivery's, and those in delivery_changes, in order) to the notification's status, forward only, in the unit of
// work that also records the event as handled. An in-app delivery handed over as SENT with its inbox content is
// stored in the user's inbox and moved to DELIVERED (provider "inbox") in that same unit of work: that is what
// "delivered to the in-app inbox" means. The steps of one delivery are stored in one write.
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { InboxContent, NotificationStatusChanged } from '../../gen/pulse/events/v1/events_pb.js';
import { INBOX_PROVIDER } from '../common/delivery-state.js';
import { PermanentError } from '../platform/bus/bus.js';
import type { Logger } from '../platform/log.js';
import { annotate } from '../platform/span-ids.js';
import type { UnitOfWork } from '../platform/unit-of-work.js';
import type { InboxRepository } from './inbox.js';
import type { DeliveryMetrics } from './metrics.js';
import { type Advanced, changesRest, type NotificationHeader, type StatusRepository } from './statuses.js';
import type { Step } from './timeline.js';
import type { StatusFeed } from './watch.js';
import type { WebhookRecorder } from './webhooks/recorder.js';

export interface StatusChangeDeps {
  statuses: StatusRepository;
  inbox: InboxRepository;
  feed: StatusFeed;
  metrics: DeliveryMetrics;
  webhooks: WebhookRecorder;
  log: Logger;
  now?: () => Date;
}

/** One change of one delivery, as an event carries it. */
interface DeliveryChange {
  deliveryId: string;
  channel: Channel;
  userId: string;
  step: Step;
  inbox?: InboxContent;
}

function checkState(state: DeliveryState): void {
  if (state === DeliveryState.UNSPECIFIED || DeliveryState[state] === undefined) {
    throw new PermanentError(`notification.status.changed with state ${state}, which is no delivery state`);
  }
}

/** The delivery changes an event carries, in the order they happened; a change without its user is the recipient's. */
function deliveryChangesOf(event: NotificationStatusChanged, at: Date, recipientUserId: string): DeliveryChange[] {
  const changes: DeliveryChange[] = [];
  const own = event.deliveryId === '' ? [] : [event];
  for (const c of [...own, ...event.deliveryChanges]) {
    if (!c.deliveryId) throw new PermanentError('notification.status.changed with a delivery change without a delivery_id');
    checkState(c.state);
    changes.push({
      deliveryId: c.deliveryId,
      channel: c.channel,
      userId: c.userId || recipientUserId,
      step: { state: c.state, at, attempt: c.attempt, provider: c.provider, reason: c.reason },
      inbox: c.inbox,
    });
  }
  return changes;
}

/** Whether a change hands an in-app delivery to the inbox: SENT with the content to store. */
function handsOver(change: DeliveryChange): change is DeliveryChange & { inbox: InboxContent } {
  return change.channel === Channel.IN_APP && change.step.state === DeliveryState.SENT && change.inbox !== undefined;
}

/** The changes of each delivery, deliveries in the order first named, changes in the order they happened. */
function byDelivery(changes: readonly DeliveryChange[]): DeliveryChange[][] {
  const groups = new Map<string, DeliveryChange[]>();
  for (const change of changes) groups.set(change.deliveryId, [...(groups.get(change.deliveryId) ?? []), change]);
  return [...groups.values()];
}

export function statusChangeHandler(deps: StatusChangeDeps): (event: NotificationStatusChanged, tx: UnitOfWork) => Promise<void> {
  const now = deps.now ?? (() => new Date());

  /**
   * The steps of one delivery's changes: a hand-over to the inbox is followed by DELIVERED (provider "inbox") at
   * deliveredAt, stored with it; one without a user to put it in stays SENT.
   */
  function stepsOf(group: readonly DeliveryChange[], notificationId: string, deliveredAt: Date): Step[] {
    return group.flatMap((change) => {
      if (!handsOver(change)) return [change.step];
      if (!change.userId) {
        deps.log.warn({ notification_id: notificationId, delivery_id: change.deliveryId }, 'in-app delivery without a user id; no inbox to put it in');
        return [change.step];
      }
      return [change.step, { state: DeliveryState.DELIVERED, at: deliveredAt, attempt: change.step.attempt, provider: INBOX_PROVIDER, reason: '' }];
    });
  }

  /** Stores the inbox item of the hand-over whose DELIVERED step was applied, if any. */
  async function fillInbox(tx: UnitOfWork, event: NotificationStatusChanged, group: readonly DeliveryChange[], applied: readonly Step[]): Promise<void> {
    const delivered = applied.find((step) => step.state === DeliveryState.DELIVERED && step.provider === INBOX_PROVIDER);
    const change = delivered && group.find(handsOver);
    if (!delivered || !change) return;
    await deps.inbox.add(tx, {
      _id: change.deliveryId,
      userId: change.userId,
      notificationId: event.notificationId,
      title: change.inbox.title,
      body: change.inbox.body,
      data: Object.entries(change.inbox.data).map(([key, value]) => ({ key, value })),
      priority: event.priority,
      notificationType: event.notificationType,
      deliveredAt: delivered.at,
      readAt: null,
    });
  }

  return async (event, tx) => {
    annotate({ 'pulse.notification_id': event.notificationId, 'pulse.delivery_state': DeliveryState[event.state] });
    if (!event.notificationId) throw new PermanentError('notification.status.changed without a notification_id');
    checkState(event.state);
    const stamp = now();
    const at = event.occurredAt ? timestampDate(event.occurredAt) : stamp;
    const recipient = event.recipient?.target;
    const recipientUserId = recipient?.case === 'userId' ? recipient.value : '';
    const changes = deliveryChangesOf(event, at, event.userId || recipientUserId);
    annotate({ 'pulse.delivery_id': [...new Set(changes.map((c) => c.deliveryId))].join(',') });
    const header: NotificationHeader = {
      notificationId: event.notificationId,
      recipientUserId,
      recipientTopic: recipient?.case === 'topic' ? recipient.value : '',
      priority: event.priority,
      notificationType: event.notificationType,
      acceptedAt: event.acceptedAt ? timestampDate(event.acceptedAt) : null,
      userIds: [...new Set([recipientUserId, event.userId, ...changes.map((c) => c.userId)].filter((id) => id !== ''))],
    };
    await deps.statuses.ensure(tx, header, at, stamp);

    const ownChange = event.deliveryId === '';
    let applied = ownChange && (await deps.statuses.advanceNotification(tx, event.notificationId, { state: event.state, attempt: event.attempt }));
    // Never before the hand-over itself, whatever the clocks say.
    const deliveredAt = new Date(Math.max(at.getTime(), stamp.getTime()));
    const advanced: Advanced[] = [];
    let webhookMessages = 0;
    for (const group of byDelivery(changes)) {
      const [first] = group;
      const init = {
        notificationId: event.notificationId,
        channel: first.channel,
        priority: event.priority,
        userId: first.userId,
        acceptedAt: header.acceptedAt ?? at,
      };
      const moved = await deps.statuses.advanceDelivery(tx, first.deliveryId, stepsOf(group, event.notificationId, deliveredAt), init);
      if (!moved) continue;
      advanced.push(moved);
      await fillInbox(tx, event, group, moved.applied);
      webhookMessages += await deps.webhooks.record(tx, event.notificationType, moved, stamp);
    }
    applied ||= advanced.length > 0;
    if (!applied) return;
    // A change of the notification's own state may be its only news (no deliveries): decide its retention then too.
    const restChanged = ownChange || advanced.some(changesRest);
    const note = await deps.statuses.bump(tx, event.notificationId, at, stamp, restChanged);
    // Only once committed: a watcher must read the new revision, and a retried event must not count twice.
    tx.afterCommit(() => {
      for (const change of advanced) deps.metrics.observe(change);
      if (note) deps.feed.publish(note);
      if (webhookMessages > 0) deps.webhooks.wake();
    });
  };
}
