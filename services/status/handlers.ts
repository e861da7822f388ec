// StatusService: timelines (also live), the in-app inbox and delivery statistics (webhooks: webhooks/handlers.ts).
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { ServiceImpl } from '@connectrpc/connect';
import { DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import { DeliveryStatsSchema, type StatusService } from '../../gen/pulse/status/v1/status_service_pb.js';
import { INBOX_PROVIDER } from '../common/delivery-state.js';
import { callerOf, requireNotificationOf, requireUser } from '../platform/access.js';
import { notFound } from '../platform/errors.js';
import type { Store } from '../platform/store/collection.js';
import { pageSize, Validator } from '../platform/validate.js';
import { type InboxRepository, toInboxItem } from './inbox.js';
import type { DeliveryMetrics } from './metrics.js';
import { StatsBuilder } from './stats.js';
import { type Advanced, type ChangeNote, changesRest, type StatusRepository, toNotificationStatus } from './statuses.js';
import { MAX_MARK_READ, statsWindow, watchSubject } from './validate.js';
import { type StatusFeed, watchNotification, watchUser, type WatchDeps } from './watch.js';
import type { WebhookMethods } from './webhooks/handlers.js';
import type { WebhookRecorder } from './webhooks/recorder.js';

export interface StatusDeps {
  store: Store;
  statuses: StatusRepository;
  inbox: InboxRepository;
  feed: StatusFeed;
  metrics: DeliveryMetrics;
  webhooks: WebhookRecorder;
  watch: Omit<WatchDeps, 'statuses' | 'feed'>;
  now?: () => Date;
}

export function statusHandlers(deps: StatusDeps): Omit<ServiceImpl<typeof StatusService>, WebhookMethods> {
  const now = deps.now ?? (() => new Date());
  const watch: WatchDeps = { ...deps.watch, statuses: deps.statuses, feed: deps.feed };

  return {
    async getStatus(req, ctx) {
      new Validator().id('notification_id', req.notificationId).check();
      const view = await deps.statuses.get(req.notificationId);
      if (!view) throw notFound(`no status for notification "${req.notificationId}" (yet: status hears of it a moment after it is sent)`);
      requireNotificationOf(ctx.values, req.notificationId, view.notification.userIds);
      return { status: toNotificationStatus(view) };
    },

    async *watchStatus(req, ctx) {
      const v = new Validator();
      const subject = watchSubject(v, req.subject);
      v.check();
      // Own notifications only, unless status:any; one not known yet is nobody's own.
      if (subject.kind === 'user') requireUser(ctx.values, 'status', subject.id);
      else if (!callerOf(ctx.values).scopes.has('status:any')) {
        requireNotificationOf(ctx.values, subject.id, (await deps.statuses.get(subject.id))?.notification.userIds ?? []);
      }
      const views = subject.kind === 'notification' ? watchNotification(watch, subject.id, ctx.signal) : watchUser(watch, subject.id, ctx.signal);
      for await (const view of views) yield { status: toNotificationStatus(view) };
    },

    async listInbox(req, ctx) {
      const v = new Validator();
      v.id('user_id', req.userId);
      const size = pageSize(v, req.pageSize, { fallback: 50, max: 200 });
      v.check();
      requireUser(ctx.values, 'inbox', req.userId);
      const [page, unread] = await Promise.all([
        deps.inbox.page({ userId: req.userId, unreadOnly: req.unreadOnly }, { pageSize: size, pageToken: req.pageToken }),
        deps.inbox.unreadCount(req.userId),
      ]);
      return { items: page.items.map(toInboxItem), unreadCount: unread, nextPageToken: page.nextPageToken };
    },

    async markRead(req, ctx) {
      const v = new Validator();
      v.id('user_id', req.userId).count('notification_ids', req.notificationIds, { min: 1, max: MAX_MARK_READ });
      req.notificationIds.forEach((id, i) => v.id(`notification_ids[${i}]`, id));
      v.check();
      requireUser(ctx.values, 'inbox', req.userId);
      const at = now();
      // No event leaves status, so this needs the store only, not the broker.
      const { marked, advanced, notes, webhookMessages } = await deps.store.transaction(async (tx) => {
        const result = { marked: 0, advanced: [] as Advanced[], notes: [] as ChangeNote[], webhookMessages: 0 };
        for (const item of await deps.inbox.unreadOf(tx, req.userId, req.notificationIds)) {
          if (!(await deps.inbox.markRead(tx, item._id, at))) continue;
          result.marked++;
          const moved = await deps.statuses.advanceDelivery(tx, item._id, (current) => ({
            state: DeliveryState.READ,
            at,
            attempt: current.attempt,
            provider: INBOX_PROVIDER,
            reason: '',
          }));
          if (!moved) continue;
          result.advanced.push(moved);
          result.webhookMessages += await deps.webhooks.record(tx, item.notificationType, moved, at);
          const note = await deps.statuses.bump(tx, item.notificationId, at, at, changesRest(moved));
          if (note) result.notes.push(note);
        }
        return result;
      });
      for (const change of advanced) deps.metrics.observe(change);
      for (const note of notes) deps.feed.publish(note);
      if (webhookMessages > 0) deps.webhooks.wake();
      return { markedCount: marked, unreadCount: await deps.inbox.unreadCount(req.userId) };
    },

    async getDeliveryStats(req) {
      const v = new Validator();
      const windowMs = statsWindow(v, req.window);
      v.check();
      const end = now();
      const start = new Date(end.getTime() - windowMs);
      const builder = new StatsBuilder();
      for await (const page of deps.statuses.acceptedBetween(start, end)) {
        for (const d of page) {
          const latencyMs = d.deliveredAt ? d.deliveredAt.getTime() - d.acceptedAt.getTime() : null;
          builder.add({ channel: d.channel, priority: d.priority, state: d.state, latencyMs });
        }
      }
      return {
        stats: builder.build().map((group) =>
          create(DeliveryStatsSchema, {
            ...group,
            total: BigInt(group.total),
            states: group.states.map(({ state, count }) => ({ state, count: BigInt(count) })),
          }),
        ),
        windowStart: timestampFromDate(start),
        windowEnd: timestampFromDate(end),
      };
    },
  };
}
