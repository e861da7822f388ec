import { describe, expect, it } from 'vitest';
import { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { DeliveryDecision as D, RouteKind, RouteTargetKind, SuppressionReason as R } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { type Plan, type PlanRequest, planDelivery, type Route, type RoutedPeople } from './plan.js';
import { DEFAULT_PREFERENCES, type UserPreferences } from './user-preferences.js';

// 23:30 in Paris (UTC+2 in June).
const NIGHT = new Date('2026-06-10T21:30:00Z');
const NOON = new Date('2026-06-10T10:00:00Z');
const MORNING_PARIS = new Date('2026-06-11T05:00:00Z'); // 07:00 local

const request = (overrides: Partial<PlanRequest> = {}): PlanRequest => ({
  notificationType: 'review.required',
  priority: Priority.MEDIUM,
  at: NOON,
  routeKind: RouteKind.PRIMARY,
  ...overrides,
});

const prefs = (overrides: Partial<UserPreferences> = {}): UserPreferences => ({
  ...structuredClone(DEFAULT_PREFERENCES),
  contacts: { email: 'ann@example.com', phone: '+33612345678', slackUserId: 'U0123ABCD' },
  timeZone: 'Europe/Paris',
  defaultChannels: [Channel.EMAIL, Channel.SMS, Channel.SLACK, Channel.IN_APP],
  ...overrides,
});

const forUser = (p: UserPreferences, r: Partial<PlanRequest> = {}) => planDelivery({ kind: 'user', userId: 'ann', preferences: p }, request(r));
const decisions = (plans: Plan[]) => plans.map((p) => [Channel[p.channel], D[p.decision], R[p.suppressionReason], p.deliverAt?.toISOString()]);

describe('planDelivery for a user', () => {
  it('delivers in-app only, now, for a user with the defaults', () => {
    const plans = planDelivery({ kind: 'user', userId: 'bob', preferences: DEFAULT_PREFERENCES }, request());
    expect(plans).toEqual([
      { channel: Channel.IN_APP, address: 'bob', userId: 'bob', decision: D.DELIVER_NOW, deliverAt: NOON, suppressionReason: R.UNSPECIFIED },
    ]);
  });

  it('uses the channels of the type, else the default channels, with the address of each', () => {
    const p = prefs({ typeChannels: [{ notificationType: 'review.required', channels: [Channel.SMS, Channel.EMAIL] }] });
    expect(forUser(p).map((plan) => [plan.channel, plan.address, plan.userId])).toEqual([
      [Channel.SMS, '+33612345678', 'ann'],
      [Channel.EMAIL, 'ann@example.com', 'ann'],
    ]);
    expect(forUser(p, { notificationType: 'other' }).map((plan) => plan.address)).toEqual(['ann@example.com', '+33612345678', 'U0123ABCD', 'ann']);
    // A type with an empty channel list is muted.
    expect(forUser(prefs({ typeChannels: [{ notificationType: 'review.required', channels: [] }] }))).toEqual([]);
  });

  it('suppresses every channel of a user who opted out of everything, CRITICAL included', () => {
    expect(decisions(forUser(prefs({ optedOut: true }), { priority: Priority.CRITICAL })).map((d) => d.slice(1, 3))).toEqual([
      ['SUPPRESS', 'OPTED_OUT'],
      ['SUPPRESS', 'OPTED_OUT'],
      ['SUPPRESS', 'OPTED_OUT'],
      ['SUPPRESS', 'OPTED_OUT'],
    ]);
  });

  it('suppresses a type the user opted out of, and only that type', () => {
    const p = prefs({ optedOutTypes: ['review.required'], defaultChannels: [Channel.EMAIL] });
    expect(decisions(forUser(p))).toEqual([['EMAIL', 'SUPPRESS', 'OPTED_OUT_TYPE', undefined]]);
    expect(decisions(forUser(p, { notificationType: 'digest' }))).toEqual([['EMAIL', 'DELIVER_NOW', 'UNSPECIFIED', NOON.toISOString()]]);
  });

  it('suppresses a channel without a contact; in-app needs none', () => {
    const p = prefs({ contacts: { email: '', phone: '+33612345678', slackUserId: '' } });
    expect(decisions(forUser(p))).toEqual([
      ['EMAIL', 'SUPPRESS', 'NO_CONTACT', undefined],
      ['SMS', 'DELIVER_NOW', 'UNSPECIFIED', NOON.toISOString()],
      ['SLACK', 'SUPPRESS', 'NO_CONTACT', undefined],
      ['IN_APP', 'DELIVER_NOW', 'UNSPECIFIED', NOON.toISOString()],
    ]);
    expect(forUser(p)[0].address).toBe('');
  });

  it('defers to the end of quiet hours in the user zone, but never in-app for the general window', () => {
    const p = prefs({ quietHours: { start: '22:00', end: '07:00' } });
    expect(decisions(forUser(p, { at: NIGHT }))).toEqual([
      ['EMAIL', 'DEFER', 'UNSPECIFIED', MORNING_PARIS.toISOString()],
      ['SMS', 'DEFER', 'UNSPECIFIED', MORNING_PARIS.toISOString()],
      ['SLACK', 'DEFER', 'UNSPECIFIED', MORNING_PARIS.toISOString()],
      ['IN_APP', 'DELIVER_NOW', 'UNSPECIFIED', NIGHT.toISOString()],
    ]);
    expect(forUser(p, { at: NOON }).every((plan) => plan.decision === D.DELIVER_NOW)).toBe(true);
  });

  it('lets a per-channel window replace the general one for its channel', () => {
    const p = prefs({
      quietHours: { start: '22:00', end: '07:00' },
      channelQuietHours: [
        { channel: Channel.SMS, quietHours: { start: '20:00', end: '09:00' } }, // longer for SMS
        { channel: Channel.SLACK, quietHours: { start: '00:00', end: '00:00' } }, // none for Slack
        { channel: Channel.IN_APP, quietHours: { start: '23:00', end: '06:00' } }, // asked for explicitly
      ],
    });
    expect(decisions(forUser(p, { at: NIGHT }))).toEqual([
      ['EMAIL', 'DEFER', 'UNSPECIFIED', '2026-06-11T05:00:00.000Z'],
      ['SMS', 'DEFER', 'UNSPECIFIED', '2026-06-11T07:00:00.000Z'],
      ['SLACK', 'DELIVER_NOW', 'UNSPECIFIED', NIGHT.toISOString()],
      ['IN_APP', 'DEFER', 'UNSPECIFIED', '2026-06-11T04:00:00.000Z'],
    ]);
  });

  it('lets CRITICAL break quiet hours unless the user turned that off', () => {
    const quiet = { quietHours: { start: '22:00', end: '07:00' }, defaultChannels: [Channel.SMS] };
    const critical = { at: NIGHT, priority: Priority.CRITICAL };
    expect(decisions(forUser(prefs(quiet), critical))[0][1]).toBe('DELIVER_NOW'); // unset means yes
    expect(decisions(forUser(prefs({ ...quiet, criticalOverridesQuietHours: true }), critical))[0][1]).toBe('DELIVER_NOW');
    expect(decisions(forUser(prefs({ ...quiet, criticalOverridesQuietHours: false }), critical))[0]).toEqual([
      'SMS',
      'DEFER',
      'UNSPECIFIED',
      MORNING_PARIS.toISOString(),
    ]);
    expect(decisions(forUser(prefs(quiet), { at: NIGHT, priority: Priority.HIGH }))[0][1]).toBe('DEFER');
  });
});

describe('planDelivery for a topic', () => {
  const routes: Route[] = [
    { channel: Channel.SLACK, target: '#sales', kind: RouteKind.PRIMARY },
    { channel: Channel.IN_APP, target: 'sales-team', kind: RouteKind.PRIMARY },
    { channel: Channel.EMAIL, target: 'boss@example.com', kind: RouteKind.ESCALATION },
  ];
  const nobody: RoutedPeople = { preferences: new Map(), groups: new Map() };
  const forTopic = (rs: Route[], routeKind: RouteKind) =>
    planDelivery({ kind: 'topic', topic: 'sales', routes: rs, people: nobody }, request({ routeKind, at: NIGHT }));

  it('delivers every primary route now, with the user id of in-app targets', () => {
    expect(forTopic(routes, RouteKind.PRIMARY)).toEqual([
      { channel: Channel.SLACK, address: '#sales', userId: '', decision: D.DELIVER_NOW, deliverAt: NIGHT, suppressionReason: R.UNSPECIFIED },
      { channel: Channel.IN_APP, address: 'sales-team', userId: 'sales-team', decision: D.DELIVER_NOW, deliverAt: NIGHT, suppressionReason: R.UNSPECIFIED },
    ]);
  });

  it('uses the escalation routes for an escalation, else falls back to the primary ones', () => {
    expect(forTopic(routes, RouteKind.ESCALATION).map((p) => p.address)).toEqual(['boss@example.com']);
    expect(forTopic(routes.slice(0, 2), RouteKind.ESCALATION).map((p) => p.address)).toEqual(['#sales', 'sales-team']);
  });

  it('plans nothing when the topic has no route of the kind (the handler answers not_found)', () => {
    expect(forTopic([], RouteKind.PRIMARY)).toEqual([]);
    expect(forTopic(routes.slice(2), RouteKind.PRIMARY)).toEqual([]);
  });
});

describe('planDelivery for a topic whose routes name people', () => {
  const quietAnn = prefs({ quietHours: { start: '22:00', end: '07:00' }, defaultChannels: [Channel.EMAIL, Channel.IN_APP] });
  const people: RoutedPeople = {
    preferences: new Map([
      ['ann', quietAnn],
      ['cy', { ...prefs(), optedOut: true }],
    ]),
    groups: new Map([['reviewers', ['ann', 'bob', 'cy']]]),
  };
  const group: Route = { channel: Channel.UNSPECIFIED, target: 'reviewers', kind: RouteKind.PRIMARY, targetKind: RouteTargetKind.GROUP };
  const plan = (routes: Route[], r: Partial<PlanRequest> = {}) =>
    planDelivery({ kind: 'topic', topic: 'review', routes, people }, request({ at: NIGHT, ...r }));
  const rows = (plans: Plan[]) => plans.map((p) => [p.userId, Channel[p.channel], D[p.decision], R[p.suppressionReason]]);

  it("plans each member of a group by their own preferences: channels, quiet hours, opt-outs", () => {
    expect(rows(plan([group]))).toEqual([
      ['ann', 'EMAIL', 'DEFER', 'UNSPECIFIED'], // 23:30 in Paris: inside her quiet hours
      ['ann', 'IN_APP', 'DELIVER_NOW', 'UNSPECIFIED'], // the general window spares the inbox
      ['bob', 'IN_APP', 'DELIVER_NOW', 'UNSPECIFIED'], // no preferences stored: the defaults
      ['cy', 'EMAIL', 'SUPPRESS', 'OPTED_OUT'],
      ['cy', 'SMS', 'SUPPRESS', 'OPTED_OUT'],
      ['cy', 'SLACK', 'SUPPRESS', 'OPTED_OUT'],
      ['cy', 'IN_APP', 'SUPPRESS', 'OPTED_OUT'],
    ]);
    expect(plan([group])[0].deliverAt).toEqual(MORNING_PARIS);
  });

  it('lets CRITICAL through quiet hours unless the person said it may not', () => {
    expect(rows(plan([group], { priority: Priority.CRITICAL }))[0]).toEqual(['ann', 'EMAIL', 'DELIVER_NOW', 'UNSPECIFIED']);
    const strict: RoutedPeople = { ...people, preferences: new Map([['ann', { ...quietAnn, criticalOverridesQuietHours: false }]]) };
    const plans = planDelivery(
      { kind: 'topic', topic: 'review', routes: [{ ...group, targetKind: RouteTargetKind.USER, target: 'ann' }], people: strict },
      request({ at: NIGHT, priority: Priority.CRITICAL }),
    );
    expect(rows(plans)[0]).toEqual(['ann', 'EMAIL', 'DEFER', 'UNSPECIFIED']);
  });

  it('plans a person reached by several routes once, and keeps address routes beside them', () => {
    const routes: Route[] = [
      group,
      { channel: Channel.UNSPECIFIED, target: 'bob', kind: RouteKind.PRIMARY, targetKind: RouteTargetKind.USER },
      { channel: Channel.IN_APP, target: 'bob', kind: RouteKind.PRIMARY }, // bob's own inbox as a raw address
      { channel: Channel.SLACK, target: '#reviews', kind: RouteKind.PRIMARY },
    ];
    const plans = plan(routes);
    expect(plans.filter((p) => p.userId === 'bob')).toHaveLength(1);
    expect(plans[0]).toMatchObject({ channel: Channel.SLACK, address: '#reviews', decision: D.DELIVER_NOW });
    expect(plans).toHaveLength(8);
  });

  it('plans nothing for a group without members or an unknown group', () => {
    expect(plan([{ ...group, target: 'nobody-here' }])).toEqual([]);
  });
});

describe('planDelivery for the channels a request names (an escalation step)', () => {
  const ann = prefs({ quietHours: { start: '22:00', end: '07:00' }, typeChannels: [{ notificationType: 'review.required', channels: [Channel.IN_APP] }] });

  it('plans those channels instead of the type\'s, with the same rules: quiet hours at the step\'s time, CRITICAL through', () => {
    expect(decisions(forUser(ann, { channels: [Channel.EMAIL] }))).toEqual([['EMAIL', 'DELIVER_NOW', 'UNSPECIFIED', NOON.toISOString()]]);
    expect(decisions(forUser(ann, { channels: [Channel.SMS], at: NIGHT }))).toEqual([['SMS', 'DEFER', 'UNSPECIFIED', MORNING_PARIS.toISOString()]]);
    expect(decisions(forUser(ann, { channels: [Channel.SMS], at: NIGHT, priority: Priority.CRITICAL }))).toEqual([
      ['SMS', 'DELIVER_NOW', 'UNSPECIFIED', NIGHT.toISOString()],
    ]);
    expect(decisions(forUser({ ...ann, contacts: { ...ann.contacts, phone: '' } }, { channels: [Channel.SMS] }))).toEqual([
      ['SMS', 'SUPPRESS', 'NO_CONTACT', undefined],
    ]);
    expect(decisions(forUser({ ...ann, optedOutTypes: ['review.required'] }, { channels: [Channel.EMAIL] }))[0].slice(1, 3)).toEqual(['SUPPRESS', 'OPTED_OUT_TYPE']);
  });

  it('keeps only a topic\'s address routes on those channels, and plans the people it names on them', () => {
    const routes: Route[] = [
      { channel: Channel.SLACK, target: '#sales', kind: RouteKind.PRIMARY },
      { channel: Channel.EMAIL, target: 'team@example.com', kind: RouteKind.PRIMARY },
      { channel: Channel.UNSPECIFIED, target: 'ann', kind: RouteKind.PRIMARY, targetKind: RouteTargetKind.USER },
    ];
    const people: RoutedPeople = { preferences: new Map([['ann', ann]]), groups: new Map() };
    const plans = planDelivery({ kind: 'topic', topic: 'sales', routes, people }, request({ channels: [Channel.EMAIL] }));
    expect(plans.map((p) => [Channel[p.channel], p.address])).toEqual([
      ['EMAIL', 'team@example.com'],
      ['EMAIL', 'ann@example.com'],
    ]);
    expect(planDelivery({ kind: 'topic', topic: 'sales', routes: routes.slice(0, 1), people }, request({ channels: [Channel.SMS] }))).toEqual([]);
  });
});
