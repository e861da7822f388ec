// What a well-formed notification request is. Plain functions over request messages; problems go to the
// Validator under the field's proto path. Messages never repeat content (titles, bodies, data values).
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { Channel, ChannelSchema, Priority, PrioritySchema } from '../../gen/pulse/common/v1/delivery_pb.js';
import type {
  CancelNotificationRequest,
  DeadLetterFilter,
  GetNotificationRequest,
  SendNotificationRequest,
} from '../../gen/pulse/notification/v1/notification_service_pb.js';
import type { Validator } from '../platform/validate.js';
import type { DeadLetterQuery } from './dead-letters.js';
import { checkEscalation, type LadderStep, ladderOf } from './ladder.js';
import type { ContentDoc, RecipientRef } from './notifications.js';

export const MAX_BATCH = 500;
export const MAX_TITLE = 200;
export const MAX_BODY = 10_000;
const MAX_KEY = 256;
const MAX_DATA_ENTRIES = 32;
const MAX_DATA_KEY = 64;
const MAX_DATA_VALUE = 1_024;
const MAX_REASON = 500;
const MAX_IDS = 1_000;

export function checkRecipient(v: Validator, recipient: SendNotificationRequest['recipient']): void {
  const target = recipient?.target;
  if (!target || target.case === undefined) {
    v.add('recipient', 'is required: set recipient.user_id or recipient.topic');
  } else if (target.case === 'userId') {
    v.id('recipient.user_id', target.value);
  } else {
    v.name('recipient.topic', target.value);
  }
}

export function checkContent(v: Validator, content: SendNotificationRequest['content']): void {
  if (!content) {
    v.add('content', 'is required (content.title at least)');
    return;
  }
  v.text('content.title', content.title, { max: MAX_TITLE });
  v.text('content.body', content.body, { max: MAX_BODY, optional: true });
  const entries = Object.entries(content.data);
  if (entries.length > MAX_DATA_ENTRIES) v.add('content.data', `must have at most ${MAX_DATA_ENTRIES} entries (got ${entries.length})`);
  for (const [key, value] of entries) {
    // Keys are field names, safe to quote (shortened); values are content and never quoted.
    const field = `content.data[${JSON.stringify(key.slice(0, MAX_DATA_KEY))}]`;
    if (key === '' || key.length > MAX_DATA_KEY) v.add('content.data', `keys must be 1-${MAX_DATA_KEY} characters`);
    else if (value.length > MAX_DATA_VALUE) v.add(field, `must be at most ${MAX_DATA_VALUE} characters (got ${value.length})`);
  }
}

export function checkSendNotification(v: Validator, req: SendNotificationRequest, now: Date): void {
  v.id('idempotency_key', req.idempotencyKey, { max: MAX_KEY });
  checkRecipient(v, req.recipient);
  v.name('notification_type', req.notificationType);
  v.enumValue('priority', req.priority, PrioritySchema, { optional: true });
  checkContent(v, req.content);
  v.timestamp('expires_at', req.expiresAt, (at) => (at.getTime() <= now.getTime() ? 'must be in the future' : undefined));
  checkEscalation(v, 'escalation', req.escalation);
}

/** The parts of a checked request that accept() works with, defaults applied. */
export function normalizeSend(req: SendNotificationRequest): {
  recipient: RecipientRef;
  priority: Priority;
  content: ContentDoc;
  expiresAt: Date | null;
  escalation: LadderStep[];
} {
  const target = req.recipient?.target;
  return {
    recipient: target?.case === 'userId' ? { userId: target.value } : { topic: target?.value ?? '' },
    priority: req.priority || Priority.MEDIUM,
    content: { title: req.content?.title ?? '', body: req.content?.body ?? '', data: { ...req.content?.data } },
    expiresAt: req.expiresAt ? timestampDate(req.expiresAt) : null,
    escalation: ladderOf(req.escalation),
  };
}

export function checkGetNotification(v: Validator, req: GetNotificationRequest): void {
  const lookup = req.lookup;
  if (lookup.case === undefined) v.add('lookup', 'is required: set notification_id or idempotency_key');
  else if (lookup.case === 'notificationId') v.id('notification_id', lookup.value);
  else v.id('idempotency_key', lookup.value, { max: MAX_KEY });
}

export function checkCancel(v: Validator, req: CancelNotificationRequest): void {
  v.id('notification_id', req.notificationId);
  v.text('reason', req.reason, { max: MAX_REASON, optional: true });
}

/** Checks a dead-letter filter and returns it as a store query. */
export function deadLetterQuery(v: Validator, filter: DeadLetterFilter | undefined, includeReplayed: boolean): DeadLetterQuery {
  const f = v.nested('filter');
  if (!filter) return { includeReplayed };
  f.enumValue('channel', filter.channel, ChannelSchema, { optional: true });
  f.text('reason', filter.reason, { max: 200, optional: true });
  f.timestamp('since', filter.since);
  f.timestamp('until', filter.until);
  if (filter.since && filter.until && timestampDate(filter.since) >= timestampDate(filter.until)) f.add('until', 'must be after since');
  f.count('dead_letter_ids', filter.deadLetterIds, { max: MAX_IDS });
  filter.deadLetterIds.forEach((id, i) => f.id(`dead_letter_ids[${i}]`, id));
  return {
    channel: filter.channel === Channel.UNSPECIFIED ? undefined : filter.channel,
    reason: filter.reason || undefined,
    since: filter.since ? timestampDate(filter.since) : undefined,
    until: filter.until ? timestampDate(filter.until) : undefined,
    ids: filter.deadLetterIds.length > 0 ? filter.deadLetterIds : undefined,
    includeReplayed,
  };
}
