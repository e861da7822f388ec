// What well-formed preferences, routes and delivery questions are. Plain functions over request messages; problems
// go to the Validator under the field's proto path. Messages never repeat an address or phone number.
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { Channel, ChannelSchema, Priority, PrioritySchema } from '../../gen/pulse/common/v1/delivery_pb.js';
import {
  type ChannelQuietHours,
  type Group,
  type QuietHours,
  type ResolveDeliveryRequest,
  RouteKind,
  RouteKindSchema,
  RouteTargetKind,
  RouteTargetKindSchema,
  type TopicRoute,
  type TypeChannels,
} from '../../gen/pulse/preference/v1/preference_service_pb.js';
import type { Validator } from '../platform/validate.js';
import type { PlanRequest } from './plan.js';
import { canonicalTimeZone, parseClock, type QuietWindow } from './quiet-hours.js';
import type { RouteKey } from './routes.js';
import type { UserPreferences } from './user-preferences.js';

const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const E164 = /^\+[1-9]\d{6,14}$/;
const SLACK_USER = /^[UW][A-Z0-9]{2,20}$/;
const SLACK_CHANNEL_ID = /^[CGD][A-Z0-9]{2,20}$/;
const SLACK_CHANNEL_NAME = /^#[a-z0-9][a-z0-9._-]{0,79}$/;
const USER_ID = /^[\x21-\x7e]{1,128}$/;
const MAX_LIST = 100;
const CHANNEL_COUNT = ChannelSchema.values.length - 1; // without UNSPECIFIED

export const isEmail = (value: string) => value.length <= 254 && EMAIL.test(value);
export const isE164 = (value: string) => E164.test(value);

/** Empty clears the contact; anything else must be an address. */
function contact(v: Validator, field: string, value: string, valid: (value: string) => boolean, what: string): string {
  if (value !== '' && !valid(value)) v.add(field, `must be ${what}`);
  return value;
}

export function email(v: Validator, field: string, value: string): string {
  return contact(v, field, value, isEmail, 'an email address');
}

export function phone(v: Validator, field: string, value: string): string {
  return contact(v, field, value, isE164, 'a phone number in E.164 form, e.g. +14155550100');
}

export function slackUserId(v: Validator, field: string, value: string): string {
  return contact(v, field, value, (s) => SLACK_USER.test(s), 'a Slack member id, e.g. U0123ABCD');
}

/** An IANA zone, canonically spelled; empty resets to UTC. */
export function timeZone(v: Validator, field: string, value: string): string {
  if (value === '') return 'UTC';
  const zone = canonicalTimeZone(value);
  if (!zone) v.add(field, 'must be an IANA time zone such as "Europe/Paris" (UTC offsets are not accepted)');
  return zone ?? value;
}

/** Both ends checked; returned as given. */
function clockWindow(v: Validator, field: string, value: QuietHours): QuietWindow {
  const w = v.nested(field);
  if (parseClock(value.start) === undefined) w.add('start', 'must be a local time "HH:MM" (00:00-23:59)');
  if (parseClock(value.end) === undefined) w.add('end', 'must be a local time "HH:MM" (00:00-23:59)');
  return { start: value.start, end: value.end };
}

/** General quiet hours, or null for none (unset, or start == end). */
export function quietWindow(v: Validator, field: string, value: QuietHours | undefined): QuietWindow | null {
  if (!value) return null;
  const window = clockWindow(v, field, value);
  return window.start === window.end ? null : window;
}

export function channel(v: Validator, field: string, value: Channel): Channel {
  v.enumValue(field, value, ChannelSchema);
  return value;
}

/** Distinct, known channels. */
export function channels(v: Validator, field: string, values: readonly Channel[]): Channel[] {
  v.count(field, values, { max: CHANNEL_COUNT });
  values.forEach((value, i) => {
    channel(v, `${field}[${i}]`, value);
    if (values.indexOf(value) !== i) v.add(`${field}[${i}]`, 'is listed twice');
  });
  return [...values];
}

/** Empty resets to the default, in-app only. */
export function defaultChannels(v: Validator, field: string, values: readonly Channel[]): Channel[] {
  return values.length === 0 ? [Channel.IN_APP] : channels(v, field, values);
}

export function channelQuietHours(v: Validator, field: string, values: readonly ChannelQuietHours[]): UserPreferences['channelQuietHours'] {
  v.count(field, values, { max: CHANNEL_COUNT });
  const result: UserPreferences['channelQuietHours'] = [];
  values.forEach((entry, i) => {
    const item = v.nested(`${field}[${i}]`);
    channel(item, 'channel', entry.channel);
    if (values.findIndex((other) => other.channel === entry.channel) !== i) item.add('channel', 'has quiet hours twice');
    // start == end is kept: it means "no quiet hours on this channel", overriding the general window.
    if (entry.quietHours) result.push({ channel: entry.channel, quietHours: clockWindow(item, 'quiet_hours', entry.quietHours) });
    else item.add('quiet_hours', 'is required');
  });
  return result;
}

export function typeChannels(v: Validator, field: string, values: readonly TypeChannels[]): UserPreferences['typeChannels'] {
  v.count(field, values, { max: MAX_LIST });
  return values.map((entry, i) => {
    const item = v.nested(`${field}[${i}]`);
    item.name('notification_type', entry.notificationType);
    if (values.findIndex((other) => other.notificationType === entry.notificationType) !== i) {
      item.add('notification_type', 'is listed twice');
    }
    return { notificationType: entry.notificationType, channels: channels(item, 'channels', entry.channels) };
  });
}

export function notificationTypes(v: Validator, field: string, values: readonly string[]): string[] {
  v.count(field, values, { max: MAX_LIST });
  values.forEach((value, i) => {
    v.name(`${field}[${i}]`, value);
    if (values.indexOf(value) !== i) v.add(`${field}[${i}]`, 'is listed twice');
  });
  return [...values];
}

/** Whether target is an address on the channel. */
function validTarget(channel: Channel, target: string): boolean {
  switch (channel) {
    case Channel.EMAIL:
      return isEmail(target);
    case Channel.SMS:
      return isE164(target);
    case Channel.SLACK:
      return SLACK_CHANNEL_NAME.test(target) || SLACK_CHANNEL_ID.test(target) || SLACK_USER.test(target);
    case Channel.IN_APP:
      return USER_ID.test(target);
    default:
      return true; // the channel itself is reported
  }
}

const TARGET_FORMS: Partial<Record<Channel, string>> = {
  [Channel.EMAIL]: 'an email address',
  [Channel.SMS]: 'a phone number in E.164 form, e.g. +14155550100',
  [Channel.SLACK]: 'a Slack channel ("#sales"), channel id ("C0123ABCD") or member id ("U0123ABCD")',
  [Channel.IN_APP]: 'a user id (1-128 printable characters, no spaces)',
};

/** The route's identity; kind UNSPECIFIED means PRIMARY, target kind UNSPECIFIED means ADDRESS. */
export function checkRoute(v: Validator, route: TopicRoute | undefined): RouteKey {
  if (!route) {
    v.add('route', 'is required');
    return { topic: '', channel: Channel.UNSPECIFIED, target: '', kind: RouteKind.PRIMARY, targetKind: RouteTargetKind.ADDRESS };
  }
  const r = v.nested('route');
  const targetKind = route.targetKind || RouteTargetKind.ADDRESS;
  r.name('topic', route.topic).enumValue('kind', route.kind, RouteKindSchema, { optional: true });
  r.enumValue('target_kind', route.targetKind, RouteTargetKindSchema, { optional: true });
  if (targetKind === RouteTargetKind.ADDRESS) {
    r.enumValue('channel', route.channel, ChannelSchema);
    if (route.target === '') r.add('target', 'is required');
    else if (route.target.length > 256) r.add('target', 'must be at most 256 characters');
    else if (!validTarget(route.channel, route.target)) r.add('target', `must be ${TARGET_FORMS[route.channel]} for channel ${Channel[route.channel]}`);
  } else {
    if (route.channel !== Channel.UNSPECIFIED) {
      r.add('channel', `must be unset for a route to a ${targetKind === RouteTargetKind.USER ? 'user' : 'group'}: their own preferences choose the channels`);
    }
    if (targetKind === RouteTargetKind.USER) r.id('target', route.target);
    else r.name('target', route.target);
  }
  return { topic: route.topic, channel: route.channel, target: route.target, kind: route.kind || RouteKind.PRIMARY, targetKind };
}

export const MAX_GROUP_MEMBERS = 1_000;

/** Topics to subscribe a user to and unsubscribe them from: names, at most 100 each, none in both lists. */
export function checkSubscriptions(v: Validator, subscribe: readonly string[], unsubscribe: readonly string[]): void {
  v.count('subscribe', subscribe, { max: MAX_LIST }).count('unsubscribe', unsubscribe, { max: MAX_LIST });
  subscribe.forEach((topic, i) => v.name(`subscribe[${i}]`, topic));
  unsubscribe.forEach((topic, i) => {
    v.name(`unsubscribe[${i}]`, topic);
    if (subscribe.includes(topic)) v.add(`unsubscribe[${i}]`, `"${topic}" is also in subscribe`);
  });
}

/** A group to store: its name and members, each a user id, each once. */
export function checkGroup(v: Validator, group: Group | undefined): { name: string; userIds: string[] } {
  if (!group) {
    v.add('group', 'is required');
    return { name: '', userIds: [] };
  }
  const g = v.nested('group');
  g.name('name', group.name);
  if (group.userIds.length > MAX_GROUP_MEMBERS) g.add('user_ids', `must have at most ${MAX_GROUP_MEMBERS} members, not ${group.userIds.length}`);
  const seen = new Set<string>();
  group.userIds.forEach((userId, i) => {
    g.id(`user_ids[${i}]`, userId);
    if (seen.has(userId)) g.add(`user_ids[${i}]`, `repeats user id "${userId}"`);
    seen.add(userId);
  });
  return { name: group.name, userIds: group.userIds };
}

export type Audience = { kind: 'user'; userId: string } | { kind: 'topic'; topic: string };

/** Who the notification is for and what to plan; `at` defaults to now. */
export function checkResolve(v: Validator, req: ResolveDeliveryRequest, now: Date): { audience: Audience; request: PlanRequest } {
  const target = req.recipient?.target;
  let audience: Audience = { kind: 'topic', topic: '' };
  if (target?.case === 'userId') {
    v.id('recipient.user_id', target.value);
    audience = { kind: 'user', userId: target.value };
  } else if (target?.case === 'topic') {
    v.name('recipient.topic', target.value);
    audience = { kind: 'topic', topic: target.value };
  } else {
    v.add('recipient', 'is required: set user_id or topic');
  }
  v.name('notification_type', req.notificationType)
    .enumValue('priority', req.priority, PrioritySchema, { optional: true })
    .timestamp('at', req.at)
    .enumValue('route_kind', req.routeKind, RouteKindSchema, { optional: true });
  const planned = req.channels.length > 0 ? channels(v, 'channels', req.channels) : [];
  return {
    audience,
    request: {
      notificationType: req.notificationType,
      priority: req.priority || Priority.MEDIUM,
      at: req.at ? timestampDate(req.at) : now,
      routeKind: req.routeKind || RouteKind.PRIMARY,
      channels: planned,
    },
  };
}
