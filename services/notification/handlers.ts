// NotificationService: validate at the edge, then accept (accept.ts), look up, cancel, list and replay.
import { create } from '@bufbuild/protobuf';
import { ConnectError, type ServiceImpl } from '@connectrpc/connect';
import {
  NotificationService,
  type SendNotificationRequest,
  SendNotificationResponseSchema,
  SendNotificationResultSchema,
  SendNotificationsResponseSchema,
} from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { RouteKind } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { callerName } from '../platform/access.js';
import { asConnectError, codeName, failedPrecondition, notFound } from '../platform/errors.js';
import type { Logger } from '../platform/log.js';
import { pageSize, Validator } from '../platform/validate.js';
import type { Accept, AcceptMany, AcceptRequest } from './accept.js';
import type { DeadLetterRepository } from './dead-letters.js';
import type { DeliveryRepository } from './deliveries.js';
import type { DeliveryEngine } from './delivery-engine.js';
import { toDeadLetter, toNotification } from './messages.js';
import { channelLabel, type NotificationMetrics } from './metrics.js';
import type { NotificationRepository } from './notifications.js';
import { replayDeadLetters } from './replay.js';
import type { TemplateHandlers } from './template-handlers.js';
import { checkCancel, checkGetNotification, checkSendNotification, deadLetterQuery, MAX_BATCH, normalizeSend } from './validate.js';

export interface HandlerDeps {
  accept: Accept;
  /** A batch in one unit of work (SendNotifications). */
  acceptMany: AcceptMany;
  notifications: NotificationRepository;
  deliveries: DeliveryRepository;
  deadLetters: DeadLetterRepository;
  engine: DeliveryEngine;
  metrics: NotificationMetrics;
  /** The template RPCs (template-handlers.ts). */
  templates: TemplateHandlers;
  log: Logger;
  now?: () => Date;
}

export function notificationHandlers(deps: HandlerDeps): ServiceImpl<typeof NotificationService> {
  const now = deps.now ?? (() => new Date());

  /** The request to accept, once valid (else invalid_argument naming each field under v's prefix). */
  function toAccept(req: SendNotificationRequest, v: Validator, caller: string): AcceptRequest {
    checkSendNotification(v, req, now());
    v.check();
    return {
      idempotencyKey: req.idempotencyKey,
      notificationType: req.notificationType,
      routeKind: RouteKind.PRIMARY,
      ...normalizeSend(req),
      source: caller,
      causeId: '',
    };
  }

  function failed(err: unknown, index: number) {
    if (!(err instanceof ConnectError)) deps.log.error({ err, index }, 'unexpected error accepting a batch item');
    const error = asConnectError(err);
    return create(SendNotificationResultSchema, { index, errorCode: codeName(error.code), errorMessage: error.rawMessage });
  }

  return {
    ...deps.templates,
    async sendNotification(req, ctx) {
      const caller = callerName(ctx.values);
      const { notification, deliveries, duplicate } = await deps.accept(toAccept(req, new Validator(), caller), { caller });
      return create(SendNotificationResponseSchema, { notification: toNotification(notification, deliveries), duplicate });
    },

    async sendNotifications(req, ctx) {
      const v = new Validator();
      v.count('notifications', req.notifications, { min: 1, max: MAX_BATCH });
      v.check();
      const caller = callerName(ctx.values);
      // Invalid items are answered at once; the valid ones are accepted together.
      const results = new Array<ReturnType<typeof failed>>(req.notifications.length);
      const valid: { index: number; request: AcceptRequest }[] = [];
      req.notifications.forEach((item, index) => {
        try {
          valid.push({ index, request: toAccept(item, new Validator(`notifications[${index}]`), caller) });
        } catch (err) {
          results[index] = failed(err, index);
        }
      });
      const accepted = await deps.acceptMany(
        valid.map((v) => v.request),
        { caller },
      );
      accepted.forEach((outcome, i) => {
        const { index } = valid[i];
        results[index] =
          'error' in outcome
            ? failed(outcome.error, index)
            : create(SendNotificationResultSchema, { index, notification: toNotification(outcome.notification, outcome.deliveries), duplicate: outcome.duplicate });
      });
      return create(SendNotificationsResponseSchema, {
        results,
        acceptedCount: results.filter((r) => r.notification && !r.duplicate).length,
        duplicateCount: results.filter((r) => r.duplicate).length,
        rejectedCount: results.filter((r) => r.errorCode !== '').length,
      });
    },

    async getNotification(req) {
      const v = new Validator();
      checkGetNotification(v, req);
      v.check();
      const { lookup } = req;
      const doc =
        lookup.case === 'notificationId' ? await deps.notifications.get(lookup.value) : await deps.notifications.byKey(lookup.value ?? '');
      if (!doc) {
        throw notFound(`no notification with ${lookup.case === 'notificationId' ? 'notification_id' : 'idempotency_key'} "${lookup.value}"`);
      }
      return { notification: toNotification(doc, await deps.deliveries.byNotification(doc._id)) };
    },

    async cancelNotification(req) {
      const v = new Validator();
      checkCancel(v, req);
      v.check();
      const doc = await deps.notifications.get(req.notificationId);
      if (!doc) throw notFound(`no notification with notification_id "${req.notificationId}"`);
      const pending = await deps.deliveries.pending(doc._id);
      const at = now();
      const reason = req.reason || 'cancelled';
      // Each delivery moves only from the state it was seen in: one already picked up by a worker stays with it.
      const cancelled = await deps.engine.moveEach(pending, { kind: 'cancel', reason }, at);
      if (cancelled.length === 0) {
        throw failedPrecondition(`notification ${doc._id} has no delivery left to cancel: each one is being sent, was sent, or has ended`);
      }
      for (const d of cancelled) deps.metrics.cancelled.inc({ channel: channelLabel(d.channel) });
      return {
        notification: toNotification(doc, await deps.deliveries.byNotification(doc._id)),
        cancelledCount: cancelled.length,
      };
    },

    async listDeadLetters(req) {
      const v = new Validator();
      const query = deadLetterQuery(v, req.filter, req.includeReplayed);
      const size = pageSize(v, req.pageSize, { fallback: 100, max: 500 });
      v.check();
      const { items, nextPageToken } = await deps.deadLetters.page(query, size, req.pageToken);
      return { deadLetters: items.map(toDeadLetter), nextPageToken };
    },

    async replayDeadLetters(req) {
      const v = new Validator();
      const query = deadLetterQuery(v, req.filter, false);
      const limit = req.limit === 0 ? 100 : req.limit;
      const rate = req.ratePerSecond === 0 ? 50 : req.ratePerSecond;
      v.range('limit', limit, 1, 1_000).range('rate_per_second', rate, 1, 500);
      v.check();
      const deliveryIds = await replayDeadLetters(deps, query, limit, rate, now());
      if (deliveryIds.length > 0) deps.log.info({ replayed: deliveryIds.length, rate_per_second: rate }, 'dead letters replayed');
      return { replayedCount: deliveryIds.length, deliveryIds };
    },
  };
}
