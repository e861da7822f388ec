// ResolveDelivery's rules, the one place they live: which channels a notification uses, the address on each, and
// when to deliver it or why not. A plain function of the preferences (or routes) and the notification; no I/O.
//
// For a user, per channel of the type (or the default channels), first match wins:
//   global opt-out -> SUPPRESS OPTED_OUT (CRITICAL too); type opt-out -> SUPPRESS OPTED_OUT_TYPE;
//   no address for the channel -> SUPPRESS NO_CONTACT (in-app needs none: the address is the user id);
//   inside quiet hours -> DEFER to the end of the window in the user's zone, unless the notification is CRITICAL and
//   the user lets CRITICAL break quiet hours (the default); otherwise DELIVER_NOW.
// Quiet hours: a per-channel window replaces the general one for its channel. In-app is exempt from the general
// window, because an inbox item wakes nobody; an in-app window the user set explicitly is honoured.
// For a topic, every route of the requested kind is delivered now; ESCALATION falls back to PRIMARY when the topic
// has no escalation route.
import { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { DeliveryDecision, RouteKind, SuppressionReason } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { type QuietWindow, quietUntil } from './quiet-hours.js';
import type { UserPreferences } from './user-preferences.js';

export interface PlanRequest {
  notificationType: string;
  priority: Priority;
  at: Date;
  /** Topic recipients only. */
  routeKind: RouteKind;
}

export interface Route {
  channel: Channel;
  target: string;
  kind: RouteKind;
}

export type PlanAudience =
  | { kind: 'user'; userId: string; preferences: UserPreferences }
  | { kind: 'topic'; topic: string; routes: readonly Route[] };

export interface Plan {
  channel: Channel;
  /** Empty when suppressed for lack of one. */
  address: string;
  /** The user reached, when known. */
  userId: string;
  decision: DeliveryDecision;
  /** Unset when suppressed. */
  deliverAt?: Date;
  suppressionReason: SuppressionReason;
}

export function planDelivery(audience: PlanAudience, request: PlanRequest): Plan[] {
  return audience.kind === 'user'
    ? planForUser(audience.userId, audience.preferences, request)
    : planForTopic(audience.routes, request);
}

function planForUser(userId: string, prefs: UserPreferences, request: PlanRequest): Plan[] {
  const typed = prefs.typeChannels.find((entry) => entry.notificationType === request.notificationType);
  const channels = typed ? typed.channels : prefs.defaultChannels;
  return channels.map((channel) => {
    const suppress = (reason: SuppressionReason, address = ''): Plan => ({
      channel,
      address,
      userId,
      decision: DeliveryDecision.SUPPRESS,
      suppressionReason: reason,
    });
    const address = addressOf(channel, userId, prefs);
    if (prefs.optedOut) return suppress(SuppressionReason.OPTED_OUT, address);
    if (prefs.optedOutTypes.includes(request.notificationType)) return suppress(SuppressionReason.OPTED_OUT_TYPE, address);
    if (address === '') return suppress(SuppressionReason.NO_CONTACT);
    const until = mayWait(request.priority, prefs) ? quietEnd(channel, prefs, request.at) : undefined;
    return {
      channel,
      address,
      userId,
      decision: until ? DeliveryDecision.DEFER : DeliveryDecision.DELIVER_NOW,
      deliverAt: until ?? request.at,
      suppressionReason: SuppressionReason.UNSPECIFIED,
    };
  });
}

function addressOf(channel: Channel, userId: string, prefs: UserPreferences): string {
  switch (channel) {
    case Channel.EMAIL:
      return prefs.contacts.email;
    case Channel.SMS:
      return prefs.contacts.phone;
    case Channel.SLACK:
      return prefs.contacts.slackUserId;
    case Channel.IN_APP:
      return userId;
    default:
      return '';
  }
}

/** CRITICAL breaks quiet hours unless the user said it may not. */
function mayWait(priority: Priority, prefs: UserPreferences): boolean {
  return priority !== Priority.CRITICAL || prefs.criticalOverridesQuietHours === false;
}

function quietEnd(channel: Channel, prefs: UserPreferences, at: Date): Date | undefined {
  const window = windowFor(channel, prefs);
  return window ? quietUntil(at, window, prefs.timeZone) : undefined;
}

function windowFor(channel: Channel, prefs: UserPreferences): QuietWindow | null {
  const own = prefs.channelQuietHours.find((entry) => entry.channel === channel);
  if (own) return own.quietHours;
  return channel === Channel.IN_APP ? null : prefs.quietHours;
}

function planForTopic(routes: readonly Route[], request: PlanRequest): Plan[] {
  const ofKind = (kind: RouteKind) => routes.filter((route) => (route.kind || RouteKind.PRIMARY) === kind);
  const wanted = request.routeKind || RouteKind.PRIMARY;
  let chosen = ofKind(wanted);
  if (chosen.length === 0 && wanted === RouteKind.ESCALATION) chosen = ofKind(RouteKind.PRIMARY);
  return [...chosen]
    .sort((a, b) => a.channel - b.channel || (a.target < b.target ? -1 : a.target > b.target ? 1 : 0))
    .map((route) => ({
      channel: route.channel,
      address: route.target,
      userId: route.channel === Channel.IN_APP ? route.target : '',
      decision: DeliveryDecision.DELIVER_NOW,
      deliverAt: request.at,
      suppressionReason: SuppressionReason.UNSPECIFIED,
    }));
}
