import { create } from '@bufbuild/protobuf';
import { FieldMaskSchema, timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { type Client, Code, ConnectError, createClient, createRouterTransport } from '@connectrpc/connect';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import {
  DeliveryDecision,
  PreferenceService,
  RouteKind,
  RouteTargetKind,
  SuppressionReason,
} from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { type TestPlatform, testPlatform } from '../../test/support/platform.js';
import { failureOf } from '../../test/support/rejection.js';
import { asCaller } from '../platform/access.js';
import { fullAccessCaller } from '../platform/auth.js';
import { GroupsRepository } from './groups.js';
import { preferenceHandlers } from './handlers.js';
import { PreferencesRepository } from './preferences.js';
import { RoutesRepository } from './routes.js';
import { DevicesRepository } from './devices.js';

let platform: TestPlatform;
let routes: RoutesRepository;
let api: Client<typeof PreferenceService>;

beforeEach(async () => {
  platform = await testPlatform('preference');
  routes = new RoutesRepository(platform.store);
  await routes.init();
  await routes.seedDefaults(new Date());
  const handlers = preferenceHandlers({
    preferences: new PreferencesRepository(platform.store),
    routes,
    groups: new GroupsRepository(platform.store),
    devices: new DevicesRepository(platform.store),
    transaction: platform.transaction,
  });
  // Per-user access is tested in test/access; here the caller may use anyone's preferences.
  const router = { interceptors: [asCaller(fullAccessCaller('tester'))] };
  api = createClient(PreferenceService, createRouterTransport((r) => r.service(PreferenceService, handlers), { router }));
});

afterEach(() => platform.close());

const mask = (...paths: string[]) => create(FieldMaskSchema, { paths });
type UpdateInit = Parameters<Client<typeof PreferenceService>['updatePreferences']>[0];
const update = (init: UpdateInit) => api.updatePreferences(init);

describe('preferences', () => {
  it('returns the defaults for a user who never set any', async () => {
    const { preferences } = await api.getPreferences({ userId: 'nobody' });
    expect(preferences).toMatchObject({ userId: 'nobody', timeZone: 'UTC', defaultChannels: [Channel.IN_APP], version: 0n, optedOut: false });
    expect(preferences!.criticalOverridesQuietHours).toBeUndefined();
  });

  it('changes only the masked fields, bumps the version and announces the change', async () => {
    const first = await update({
      preferences: { userId: 'ann', timeZone: 'europe/paris', contacts: { email: 'ann@example.com', phone: '+33612345678' }, optedOut: true },
      updateMask: mask('time_zone', 'contacts.email'),
    });
    expect(first.preferences).toMatchObject({ timeZone: 'Europe/Paris', version: 1n, optedOut: false });
    expect(first.preferences!.contacts).toMatchObject({ email: 'ann@example.com', phone: '' }); // phone was not masked

    const second = await update({
      preferences: { userId: 'ann', quietHours: { start: '22:00', end: '07:00' }, defaultChannels: [Channel.EMAIL, Channel.IN_APP] },
      updateMask: mask('quiet_hours', 'default_channels'),
      expectedVersion: 1n,
    });
    expect(second.preferences).toMatchObject({
      timeZone: 'Europe/Paris',
      quietHours: { start: '22:00', end: '07:00' },
      defaultChannels: [Channel.EMAIL, Channel.IN_APP],
      version: 2n,
    });
    expect(second.preferences!.contacts!.email).toBe('ann@example.com');
    const { preferences } = await api.getPreferences({ userId: 'ann' });
    expect(preferences).toEqual(second.preferences);
    expect(timestampDate(preferences!.updatedAt!).getTime()).toBeGreaterThan(0);

    const events = await platform.emitted('preference.changed');
    expect(events.map((e) => e.subject)).toEqual([
      { case: 'userId', value: 'ann' },
      { case: 'userId', value: 'ann' },
    ]);
  });

  it('resets a masked field left empty to its default', async () => {
    await update({
      preferences: { userId: 'ann', timeZone: 'Asia/Tokyo', quietHours: { start: '22:00', end: '07:00' }, defaultChannels: [Channel.SMS] },
      updateMask: mask('time_zone', 'quiet_hours', 'default_channels'),
    });
    const { preferences } = await update({ preferences: { userId: 'ann' }, updateMask: mask('time_zone', 'quiet_hours', 'default_channels') });
    expect(preferences).toMatchObject({ timeZone: 'UTC', defaultChannels: [Channel.IN_APP], version: 2n });
    expect(preferences!.quietHours).toBeUndefined();

    // A parent path covers its children: "contacts" sets all three, so the email named as well is not set twice.
    await update({ preferences: { userId: 'ann', contacts: { email: 'ann@example.com', slackUserId: 'U0123ABCD' } }, updateMask: mask('contacts') });
    const contacts = await update({ preferences: { userId: 'ann', contacts: { phone: '+14155550100' } }, updateMask: mask('contacts.email', 'contacts') });
    expect(contacts.preferences!.contacts).toMatchObject({ email: '', phone: '+14155550100', slackUserId: '' });
  });

  it('names every invalid field and writes nothing', async () => {
    const message = await failureOf(
      update({
        preferences: {
          userId: 'ann',
          timeZone: 'Mars/Olympus',
          contacts: { email: 'not-an-email', phone: '0612345678', slackUserId: 'bob' },
          quietHours: { start: '25:00', end: '7:00' },
          defaultChannels: [Channel.UNSPECIFIED, Channel.EMAIL, Channel.EMAIL],
          channelQuietHours: [{ channel: Channel.SMS }],
          typeChannels: [{ notificationType: 'Bad Type', channels: [99 as Channel] }],
          optedOutTypes: ['ok', 'ok'],
        },
        updateMask: mask('time_zone', 'contacts', 'quiet_hours', 'default_channels', 'channel_quiet_hours', 'type_channels', 'opted_out_types'),
      }),
    );
    expect(message).toMatch(/^InvalidArgument: /);
    for (const field of [
      'preferences.time_zone',
      'preferences.contacts.email',
      'preferences.contacts.phone',
      'preferences.contacts.slack_user_id',
      'preferences.quiet_hours.start',
      'preferences.quiet_hours.end',
      'preferences.default_channels[0]',
      'preferences.default_channels[2]: is listed twice',
      'preferences.channel_quiet_hours[0].quiet_hours: is required',
      'preferences.type_channels[0].notification_type',
      'preferences.type_channels[0].channels[0]',
      'preferences.opted_out_types[1]: is listed twice',
    ]) {
      expect(message).toContain(field);
    }
    expect(message).not.toContain('0612345678'); // personal data stays out of errors
    expect((await api.getPreferences({ userId: 'ann' })).preferences!.version).toBe(0n);
    expect(await platform.emitted('preference.changed')).toEqual([]);
  });

  it('requires a mask of known, writable fields', async () => {
    const base = { preferences: { userId: 'ann' } };
    expect(await failureOf(update(base))).toMatch(/^InvalidArgument: update_mask: is required/);
    expect(await failureOf(update({ ...base, updateMask: mask('version') }))).toBe('InvalidArgument: update_mask: "version" is output only');
    expect(await failureOf(update({ ...base, updateMask: mask('nickname') }))).toMatch(/^InvalidArgument: update_mask: unknown field "nickname"/);
    expect(await failureOf(update({ ...base, updateMask: mask('constructor') }))).toMatch(/update_mask: unknown field "constructor"/);
    expect(await failureOf(update({ updateMask: mask('time_zone') }))).toBe('InvalidArgument: preferences: is required');
    expect(await failureOf(update({ preferences: { userId: '' }, updateMask: mask('time_zone') }))).toMatch(/preferences\.user_id: is required/);
  });

  it('honours expected_version and lets exactly one of two concurrent updates win', async () => {
    await update({ preferences: { userId: 'ann', timeZone: 'UTC' }, updateMask: mask('time_zone') });
    const zones = ['Europe/Paris', 'America/New_York'];
    const results = await Promise.allSettled(
      zones.map((timeZone) => update({ preferences: { userId: 'ann', timeZone }, updateMask: mask('time_zone'), expectedVersion: 1n })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(ConnectError.from(lost[0].reason).code).toBe(Code.Aborted);
    expect(ConnectError.from(lost[0].reason).rawMessage).toMatch(/at version 2, not 1/);
    const { preferences } = await api.getPreferences({ userId: 'ann' });
    expect(preferences!.version).toBe(2n);
    expect(preferences!.timeZone).toBe((won[0] as PromiseFulfilledResult<{ preferences: { timeZone: string } }>).value.preferences.timeZone);
    expect(await failureOf(update({ preferences: { userId: 'new' }, updateMask: mask('opted_out'), expectedVersion: 3n }))).toMatch(
      /^Aborted: .*at version 0, not 3/,
    );
  });

  it('counts every concurrent update without an expected version', async () => {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        update({ preferences: { userId: 'eve', optedOutTypes: [`type-${i}`] }, updateMask: mask('opted_out_types') }),
      ),
    );
    expect((await api.getPreferences({ userId: 'eve' })).preferences!.version).toBe(10n);
  });
});

describe('topic routes', () => {
  it('starts with the default routes, seeded only once', async () => {
    const { routes: listed, topics } = await api.listTopicRoutes({});
    expect(topics).toEqual(['pricing', 'review', 'sales']);
    expect(listed.map((r) => [r.topic, Channel[r.channel], r.target, RouteKind[r.kind]])).toEqual([
      ['pricing', 'EMAIL', 'pricing@example.com', 'PRIMARY'],
      ['review', 'IN_APP', 'reviewers', 'PRIMARY'],
      ['review', 'IN_APP', 'team-leads', 'ESCALATION'],
      ['sales', 'SLACK', '#sales', 'PRIMARY'],
    ]);
    await api.deleteTopicRoute({ route: { topic: 'sales', channel: Channel.SLACK, target: '#sales' } });
    expect(await routes.seedDefaults(new Date())).toBe(false);
    expect((await api.listTopicRoutes({})).topics).toEqual(['pricing', 'review']);
  });

  it('upserts by topic, channel, target and kind, and announces new routes', async () => {
    const route = { topic: 'legal', channel: Channel.EMAIL, target: 'legal@example.com' };
    const first = await api.upsertTopicRoute({ route });
    expect(first.created).toBe(true);
    expect(first.route).toMatchObject({ ...route, kind: RouteKind.PRIMARY });
    expect((await api.upsertTopicRoute({ route: { ...route, kind: RouteKind.PRIMARY } })).created).toBe(false);
    expect((await api.upsertTopicRoute({ route: { ...route, kind: RouteKind.ESCALATION } })).created).toBe(true);
    const { routes: legal, topics } = await api.listTopicRoutes({ topic: 'legal' });
    expect(legal).toHaveLength(2);
    expect(topics).toContain('legal');
    expect((await platform.emitted('preference.changed')).map((e) => e.subject)).toEqual([
      { case: 'topic', value: 'legal' },
      { case: 'topic', value: 'legal' },
    ]);
  });

  it('deletes a route and answers not_found for one that does not exist', async () => {
    const route = { topic: 'review', channel: Channel.IN_APP, target: 'team-leads', kind: RouteKind.ESCALATION };
    expect((await api.deleteTopicRoute({ route })).remainingRoutes).toBe(1);
    expect(await failureOf(api.deleteTopicRoute({ route }))).toMatch(/^NotFound: topic "review" has no escalation route/);
    expect((await platform.emitted('preference.changed')).map((e) => e.subject)).toEqual([{ case: 'topic', value: 'review' }]);
  });

  it('checks each target against its channel', async () => {
    const bad = [
      [Channel.EMAIL, '#sales', /route\.target: must be an email address/],
      [Channel.SMS, 'pricing@example.com', /route\.target: must be a phone number in E\.164/],
      [Channel.SLACK, 'sales', /route\.target: must be a Slack channel/],
      [Channel.IN_APP, 'two words', /route\.target: must be a user id/],
      [Channel.UNSPECIFIED, 'x', /route\.channel: is required/],
    ] as const;
    for (const [channel, target, error] of bad) {
      expect(await failureOf(api.upsertTopicRoute({ route: { topic: 'x', channel, target } }))).toMatch(error);
    }
    for (const [channel, target] of [
      [Channel.SLACK, '#sales'],
      [Channel.SLACK, 'C0123ABCD'],
      [Channel.SLACK, 'U0123ABCD'],
      [Channel.SMS, '+14155550100'],
    ] as const) {
      expect((await api.upsertTopicRoute({ route: { topic: 'ok', channel, target } })).created).toBe(true);
    }
    expect(await failureOf(api.upsertTopicRoute({}))).toBe('InvalidArgument: route: is required');
    expect(await failureOf(api.upsertTopicRoute({ route: { topic: 'Bad Topic', channel: Channel.IN_APP, target: 'u' } }))).toMatch(/route\.topic/);
  });
});

describe('ResolveDelivery', () => {
  it('plans a user by their preferences, deferring to the end of quiet hours', async () => {
    await update({
      preferences: {
        userId: 'ann',
        timeZone: 'Europe/Paris',
        quietHours: { start: '22:00', end: '07:00' },
        contacts: { email: 'ann@example.com' },
        defaultChannels: [Channel.EMAIL, Channel.SMS],
      },
      updateMask: mask('time_zone', 'quiet_hours', 'contacts', 'default_channels'),
    });
    const at = timestampFromDate(new Date('2026-03-28T23:30:00Z'));
    const { plans } = await api.resolveDelivery({ recipient: { target: { case: 'userId', value: 'ann' } }, notificationType: 'digest', at });
    expect(plans.map((p) => [Channel[p.channel], DeliveryDecision[p.decision], p.deliverAt && timestampDate(p.deliverAt).toISOString()])).toEqual([
      ['EMAIL', 'DEFER', '2026-03-29T05:00:00.000Z'],
      ['SMS', 'SUPPRESS', undefined],
    ]);
    const critical = await api.resolveDelivery({ recipient: { target: { case: 'userId', value: 'ann' } }, notificationType: 'digest', priority: Priority.CRITICAL, at });
    expect(critical.plans[0].decision).toBe(DeliveryDecision.DELIVER_NOW);
  });

  it('plans an unknown user with the defaults, now', async () => {
    const before = Date.now();
    const { plans } = await api.resolveDelivery({ recipient: { target: { case: 'userId', value: 'zed' } }, notificationType: 'digest' });
    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatchObject({ channel: Channel.IN_APP, address: 'zed', userId: 'zed', decision: DeliveryDecision.DELIVER_NOW });
    expect(timestampDate(plans[0].deliverAt!).getTime()).toBeGreaterThanOrEqual(before - 1);
  });

  it('plans a topic by its routes, escalations falling back to primary routes', async () => {
    const topic = (value: string) => ({ target: { case: 'topic' as const, value } });
    const primary = await api.resolveDelivery({ recipient: topic('review'), notificationType: 'review.required' });
    expect(primary.plans.map((p) => [p.address, p.userId])).toEqual([['reviewers', 'reviewers']]);
    const escalation = await api.resolveDelivery({ recipient: topic('review'), notificationType: 'review.required', routeKind: RouteKind.ESCALATION });
    expect(escalation.plans.map((p) => p.address)).toEqual(['team-leads']);
    const fallback = await api.resolveDelivery({ recipient: topic('sales'), notificationType: 'x', routeKind: RouteKind.ESCALATION });
    expect(fallback.plans.map((p) => p.address)).toEqual(['#sales']);
  });

  it('plans only the channels a request names (an escalation step): none is an empty plan, not an error', async () => {
    const topic = { target: { case: 'topic' as const, value: 'sales' } };
    expect((await api.resolveDelivery({ recipient: topic, notificationType: 'x', channels: [Channel.SLACK] })).plans.map((p) => p.address)).toEqual(['#sales']);
    expect((await api.resolveDelivery({ recipient: topic, notificationType: 'x', channels: [Channel.SMS] })).plans).toEqual([]);
    expect(await failureOf(api.resolveDelivery({ recipient: topic, notificationType: 'x', channels: [Channel.SMS, Channel.SMS] }))).toContain(
      'channels[1]: is listed twice',
    );
  });

  it('answers not_found for a topic without routes, naming it and the known topics', async () => {
    expect(await failureOf(api.resolveDelivery({ recipient: { target: { case: 'topic', value: 'legal' } }, notificationType: 'x' }))).toBe(
      'NotFound: topic "legal" has no route; known topics: pricing, review, sales (add one with PreferenceService.UpsertTopicRoute)',
    );
  });

  it('names each invalid field', async () => {
    const message = await failureOf(api.resolveDelivery({ notificationType: '', priority: 42 as Priority, routeKind: 9 as RouteKind }));
    for (const field of ['recipient: is required', 'notification_type: is required', 'priority: must be one of', 'route_kind: must be one of']) {
      expect(message).toContain(field);
    }
    expect(await failureOf(api.resolveDelivery({ recipient: { target: { case: 'userId', value: 'a b' } }, notificationType: 'x' }))).toMatch(
      /recipient\.user_id/,
    );
  });
});

describe('groups and routes to people', () => {
  const topic = { target: { case: 'topic' as const, value: 'outage' } };
  const toGroup = { topic: 'outage', targetKind: RouteTargetKind.GROUP, target: 'on-call' };

  it('delivers an alert routed to a group to each member through their own preferences', async () => {
    const { created, group } = await api.upsertGroup({ group: { name: 'on-call', userIds: ['zoe', 'ann', 'zoe2'] } });
    expect(created).toBe(true);
    expect(group!.userIds).toEqual(['ann', 'zoe', 'zoe2']);
    expect((await api.upsertTopicRoute({ route: toGroup })).route).toMatchObject({ targetKind: RouteTargetKind.GROUP, channel: Channel.UNSPECIFIED });
    await api.upsertTopicRoute({ route: { topic: 'outage', targetKind: RouteTargetKind.USER, target: 'ann' } }); // reached twice
    await update({ preferences: { userId: 'zoe2', optedOut: true }, updateMask: mask('opted_out') });
    await update({
      preferences: { userId: 'ann', contacts: { email: 'ann@example.com' }, defaultChannels: [Channel.EMAIL] },
      updateMask: mask('contacts.email', 'default_channels'),
    });

    const { plans } = await api.resolveDelivery({ recipient: topic, notificationType: 'outage' });
    expect(plans.map((p) => [p.userId, Channel[p.channel], DeliveryDecision[p.decision], SuppressionReason[p.suppressionReason]])).toEqual([
      ['ann', 'EMAIL', 'DELIVER_NOW', 'UNSPECIFIED'],
      ['zoe', 'IN_APP', 'DELIVER_NOW', 'UNSPECIFIED'],
      ['zoe2', 'IN_APP', 'SUPPRESS', 'OPTED_OUT'],
    ]);
    expect((await api.listGroups({})).groups.map((g) => g.name)).toEqual(['on-call']);
  });

  it('refuses a route to a group that does not exist, and a channel on a route to people', async () => {
    expect(await failureOf(api.upsertTopicRoute({ route: toGroup }))).toBe(
      'FailedPrecondition: there is no group "on-call"; create it first with PreferenceService.UpsertGroup',
    );
    expect(await failureOf(api.upsertTopicRoute({ route: { ...toGroup, targetKind: RouteTargetKind.USER, target: 'ann', channel: Channel.SMS } }))).toContain(
      'route.channel: must be unset for a route to a user',
    );
  });

  it('answers failed_precondition when the routes reach nobody, and keeps a routed group from deletion', async () => {
    await api.upsertGroup({ group: { name: 'on-call', userIds: [] } });
    await api.upsertTopicRoute({ route: toGroup });
    expect(await failureOf(api.resolveDelivery({ recipient: topic, notificationType: 'outage' }))).toMatch(/^FailedPrecondition: topic "outage"'s routes reach nobody/);
    expect(await failureOf(api.deleteGroup({ name: 'on-call' }))).toBe(
      'FailedPrecondition: group "on-call" is named by routes of "outage"; delete those routes first',
    );
    await api.deleteTopicRoute({ route: toGroup });
    await api.deleteGroup({ name: 'on-call' });
    expect(await failureOf(api.deleteGroup({ name: 'on-call' }))).toBe('NotFound: there is no group "on-call"');
  });

  it('names each invalid member', async () => {
    const message = await failureOf(api.upsertGroup({ group: { name: 'On Call', userIds: ['ann', 'a b', 'ann'] } }));
    for (const field of ['group.name: must be 1-64 lower-case', 'group.user_ids[1]: must be printable ASCII', 'group.user_ids[2]: repeats user id "ann"']) {
      expect(message).toContain(field);
    }
  });
});

describe('topic subscriptions', () => {
  it("subscribes a person to alert topics, whose alerts then reach them through their own preferences", async () => {
    expect(await api.listTopicSubscriptions({ userId: 'sue' })).toMatchObject({ subscribedTopics: [], availableTopics: ['pricing', 'review', 'sales'] });
    const { subscribedTopics } = await api.updateTopicSubscriptions({ userId: 'sue', subscribe: ['sales', 'pricing', 'sales'] });
    expect(subscribedTopics).toEqual(['pricing', 'sales']);
    const { plans } = await api.resolveDelivery({ recipient: { target: { case: 'topic', value: 'sales' } }, notificationType: 'lead' });
    expect(plans.map((p) => [Channel[p.channel], p.address, p.userId])).toEqual([
      ['SLACK', '#sales', ''],
      ['IN_APP', 'sue', 'sue'], // the defaults: in-app
    ]);
    expect((await api.updateTopicSubscriptions({ userId: 'sue', unsubscribe: ['sales', 'review'] })).subscribedTopics).toEqual(['pricing']);
    // The topic's own routes stay; only the one naming her went.
    expect((await api.listTopicRoutes({ topic: 'sales' })).routes.map((r) => r.target)).toEqual(['#sales']);
  });

  it('refuses unknown topics and a topic in both lists, naming them', async () => {
    expect(await failureOf(api.updateTopicSubscriptions({ userId: 'sue', subscribe: ['legal', 'sales', 'hr'] }))).toBe(
      'FailedPrecondition: no topic "legal", "hr" to subscribe to; topics with a route: pricing, review, sales',
    );
    expect(await failureOf(api.updateTopicSubscriptions({ userId: 'sue', subscribe: ['sales'], unsubscribe: ['sales', 'Bad Name'] }))).toBe(
      'InvalidArgument: unsubscribe[0]: "sales" is also in subscribe; unsubscribe[1]: must be 1-64 lower-case letters, digits, \'.\', \'_\' or \'-\' (got "Bad Name")',
    );
    expect((await api.listTopicSubscriptions({ userId: 'sue' })).subscribedTopics).toEqual([]);
  });
});
