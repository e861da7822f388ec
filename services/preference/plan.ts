// ResolveDelivery's rules, the one place they live: which channels a notification uses, the address on each, and
// when to deliver it or why not. A plain function of the preferences (or routes) and the notification; no I/O.
//
// For a user, per channel of the type (or the default channels), first match wins:
//   global opt-out -> SUPPRESS OPTED_OUT (CRITICAL too); type opt-out -> SUPPRESS OPTED_OUT_TYPE;
//   no address for the channel -> SUPPRESS NO_CONTACT (in-app needs none: the address is the user id; push has one
//   per registered device, each planned alike);
//   inside quiet hours -> DEFER to the end of the window in the user's zone, unless the notification is CRITICAL and
//   the user lets CRITICAL break quiet hours (the default); otherwise DELIVER_NOW.
// Quiet hours: a per-channel window replaces the general one for its channel. In-app is exempt from the general
// window, because an inbox item wakes nobody; an in-app window the user set explicitly is honoured.
// For a topic, the routes of the requested kind (ESCALATION falls back to PRIMARY when the topic has no escalation
// route): an address route is delivered now as it is; a route naming a user, or a group (each member), is planned
// for that person by the user rules, so their channels, opt-outs and quiet hours apply to alerts too. A person
// reached by several routes is planned once. A request naming channels (an escalation step) plans those instead
// of the user's channels for the type, and only a topic's address routes on them.
import { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { DeliveryDecision, RouteKind, RouteTargetKind, SuppressionReason } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { type QuietWindow, quietUntil } from './quiet-hours.js';
import { DEFAULT_PREFERENCES, type UserPreferences } from './user-preferences.js';

export interface PlanRequest {
  notificationType: string;
  priority: Priority;
  at: Date;
  /** Topic recipients only. */
  routeKind: RouteKind;
  /** When not empty, the channels to plan instead of the user's for the type (a topic: only its routes on them). */
  channels?: readonly Channel[];
}

export interface Route {
  channel: Channel;
  target: string;
  kind: RouteKind;
  /** Unset (stored before routes could name people) means ADDRESS. */
  targetKind?: RouteTargetKind;
}

/** The people a topic's routes name: each user's stored preferences (absent: the defaults), each group's members. */
export interface RoutedPeople {
  preferences: ReadonlyMap<string, UserPreferences>;
  groups: ReadonlyMap<string, readonly string[]>;
}

export type PlanAudience =
  | { kind: 'user'; userId: string; preferences: UserPreferences }
  | { kind: 'topic'; topic: string; routes: readonly Route[]; people: RoutedPeople };

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
  /** The user's locale, for templates; absent for address routes. */
  locale?: string;
}

export function planDelivery(audience: PlanAudience, request: PlanRequest): Plan[] {
  return audience.kind === 'user'
    ? planForUser(audience.userId, audience.preferences, request)
    : planForTopic(audience.routes, audience.people, request);
}

function planForUser(userId: string, prefs: UserPreferences, request: PlanRequest): Plan[] {
  const typed = prefs.typeChannels.find((entry) => entry.notificationType === request.notificationType);
  const channels = request.channels?.length ? request.channels : typed ? typed.channels : prefs.defaultChannels;
  const withLocale = prefs.locale ? { locale: prefs.locale } : {};
  // Push has an address per registered device; every other channel one (or none).
  const addressed = channels.flatMap((channel) =>
    channel === Channel.PUSH && (prefs.pushDevices?.length ?? 0) > 0
      ? (prefs.pushDevices ?? []).map((device) => ({ channel, address: device }))
      : [{ channel, address: addressOf(channel, userId, prefs) }],
  );
  return addressed.map(({ channel, address }) => {
    const suppress = (reason: SuppressionReason, address = ''): Plan => ({
      channel,
      address,
      userId,
      decision: DeliveryDecision.SUPPRESS,
      suppressionReason: reason,
      ...withLocale,
    });
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
      ...withLocale,
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

/** The routes a notification of this kind uses. */
export function routesOfKind<R extends Route>(routes: readonly R[], routeKind: RouteKind): R[] {
  const ofKind = (kind: RouteKind) => routes.filter((route) => (route.kind || RouteKind.PRIMARY) === kind);
  const wanted = routeKind || RouteKind.PRIMARY;
  const chosen = ofKind(wanted);
  return chosen.length === 0 && wanted === RouteKind.ESCALATION ? ofKind(RouteKind.PRIMARY) : chosen;
}

/** The users a route reaches: its user, its group's members (none for an unknown group), none for an address. */
export function usersOf(route: Route, groups: RoutedPeople['groups']): readonly string[] {
  if (route.targetKind === RouteTargetKind.USER) return [route.target];
  if (route.targetKind === RouteTargetKind.GROUP) return groups.get(route.target) ?? [];
  return [];
}

function planForTopic(routes: readonly Route[], people: RoutedPeople, request: PlanRequest): Plan[] {
  const chosen = routesOfKind(routes, request.routeKind);
  const addresses = chosen
    .filter((route) => (route.targetKind || RouteTargetKind.ADDRESS) === RouteTargetKind.ADDRESS)
    .filter((route) => !request.channels?.length || request.channels.includes(route.channel))
    .sort((a, b) => a.channel - b.channel || (a.target < b.target ? -1 : a.target > b.target ? 1 : 0))
    .map(
      (route): Plan => ({
        channel: route.channel,
        address: route.target,
        userId: route.channel === Channel.IN_APP ? route.target : '',
        decision: DeliveryDecision.DELIVER_NOW,
        deliverAt: request.at,
        suppressionReason: SuppressionReason.UNSPECIFIED,
      }),
    );
  const users = [...new Set(chosen.flatMap((route) => usersOf(route, people.groups)))].sort();
  const personal = users.flatMap((userId) => planForUser(userId, people.preferences.get(userId) ?? DEFAULT_PREFERENCES, request));
  // An address route to a person's own address (their inbox, say) and their personal plan meet once: the
  // personal plan wins, since it carries their quiet hours and opt-outs.
  const reached = new Set(personal.map((plan) => `${plan.channel}\u0000${plan.address}`));
  return [...addresses.filter((plan) => !reached.has(`${plan.channel}\u0000${plan.address}`)), ...personal];
}
