// Quiet hours, CRITICAL, opt-outs and expiry with real parts. Exact instants across midnight and both daylight-saving
// changes come from ResolveDelivery with `at` on those nights; "now" is made to fall into quiet hours by giving the
// user a time zone where it is night right now, so SendNotification defers for real.
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { DeliveryDecision, SuppressionReason } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { until } from '../support/poll.js';
import { mailsOf, notificationWhen, type Rig, slackPostsOf, startRig, unique } from './support.js';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig();
});

afterAll(async () => {
  await rig?.stop();
});

const S = DeliveryState;
const TYPE = 'account.notice';

/** Local wall clock of an instant in a zone, "YYYY-MM-DD HH:MM". */
function localClock(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}`;
}

/** An independent oracle: the first whole minute after `at` whose local clock reads hh:mm (walking minute by minute). */
function nextLocal(at: Date, hhmm: string, timeZone: string): Date {
  let t = Math.floor(at.getTime() / 60_000) * 60_000 + 60_000;
  for (let i = 0; i < 2 * 24 * 60; i++, t += 60_000) if (localClock(new Date(t), timeZone).endsWith(` ${hhmm}`)) return new Date(t);
  throw new Error(`no ${hhmm} within two days in ${timeZone}`);
}

/** Well-known zones no more than 3 hours apart, so at any moment one of them reads between 00:00 and 05:00. */
const WELL_KNOWN_ZONES = [
  'Pacific/Honolulu', 'America/Los_Angeles', 'America/New_York', 'America/Sao_Paulo', 'Europe/London', 'Europe/Paris',
  'Asia/Dubai', 'Asia/Kolkata', 'Asia/Shanghai', 'Asia/Tokyo', 'Australia/Sydney', 'Pacific/Auckland',
];

/** A zone where it is now well inside 22:00-07:00 (between 00:00 and 05:00), so the test cannot straddle an edge. */
function zoneAtNight(now = new Date()): string {
  const hour = (z: string) => Number(localClock(now, z).slice(11, 13));
  const zone = [...WELL_KNOWN_ZONES, ...Intl.supportedValuesOf('timeZone')].find((z) => hour(z) >= 0 && hour(z) < 5);
  if (!zone) throw new Error('no IANA zone is at night right now');
  return zone;
}

async function nightOwl(timeZone: string, extra: { criticalOverridesQuietHours?: boolean; optedOutTypes?: string[]; optedOut?: boolean } = {}) {
  const userId = unique('owl');
  await rig.api.preference.updatePreferences({
    preferences: {
      userId,
      timeZone,
      quietHours: { start: '22:00', end: '07:00' },
      contacts: { email: 'owl@example.com', slackUserId: 'U0OWL00001' },
      typeChannels: [{ notificationType: TYPE, channels: [Channel.EMAIL, Channel.SLACK] }],
      ...extra,
    },
    updateMask: {
      paths: ['time_zone', 'quiet_hours', 'contacts', 'type_channels', ...(extra.criticalOverridesQuietHours !== undefined ? ['critical_overrides_quiet_hours'] : []), ...(extra.optedOutTypes ? ['opted_out_types'] : []), ...(extra.optedOut ? ['opted_out'] : [])],
    },
  });
  return userId;
}

async function send(userId: string, priority: Priority, extra: { expiresAt?: Date } = {}) {
  const title = unique(`Notice ${Priority[priority]}`);
  const { notification } = await rig.api.notification.sendNotification({
    idempotencyKey: unique('notice'),
    recipient: { target: { case: 'userId', value: userId } },
    notificationType: TYPE,
    priority,
    content: { title, body: 'Something about your account.' },
    expiresAt: extra.expiresAt ? timestampFromDate(extra.expiresAt) : undefined,
  });
  return { notification: notification!, title };
}

describe('ResolveDelivery: quiet hours 22:00-07:00 across midnight and daylight-saving changes', () => {
  it.each([
    // Europe/Paris, spring forward (2026-03-29 02:00 CET -> 03:00 CEST): 07:00 CEST = 05:00Z.
    ['Europe/Paris', '2026-03-28T21:30:00Z', '2026-03-29T05:00:00Z'], // 22:30 CET, before midnight
    ['Europe/Paris', '2026-03-29T00:30:00Z', '2026-03-29T05:00:00Z'], // 01:30 CET, after midnight, before the jump
    ['Europe/Paris', '2026-03-29T01:30:00Z', '2026-03-29T05:00:00Z'], // 03:30 CEST, after the jump
    ['Europe/Paris', '2026-03-29T04:59:00Z', '2026-03-29T05:00:00Z'], // 06:59 CEST
    // Europe/Paris, fall back (2026-10-25 03:00 CEST -> 02:00 CET): 07:00 CET = 06:00Z.
    ['Europe/Paris', '2026-10-24T21:00:00Z', '2026-10-25T06:00:00Z'], // 23:00 CEST
    ['Europe/Paris', '2026-10-25T00:30:00Z', '2026-10-25T06:00:00Z'], // 02:30 CEST, first pass of the repeated hour
    ['Europe/Paris', '2026-10-25T01:30:00Z', '2026-10-25T06:00:00Z'], // 02:30 CET, second pass
    // America/New_York, spring forward (2026-03-08 02:00 EST -> 03:00 EDT): 07:00 EDT = 11:00Z.
    ['America/New_York', '2026-03-08T04:00:00Z', '2026-03-08T11:00:00Z'], // 23:00 EST
    ['America/New_York', '2026-03-08T07:30:00Z', '2026-03-08T11:00:00Z'], // 03:30 EDT, after the jump
    // America/New_York, fall back (2026-11-01 02:00 EDT -> 01:00 EST): 07:00 EST = 12:00Z.
    ['America/New_York', '2026-11-01T03:00:00Z', '2026-11-01T12:00:00Z'], // 23:00 EDT
    ['America/New_York', '2026-11-01T06:30:00Z', '2026-11-01T12:00:00Z'], // 01:30 EST, second pass of the repeated hour
  ])('%s at %s defers a MEDIUM email to %s (the local 07:00)', async (zone, at, expected) => {
    const userId = await nightOwl(zone);
    const { plans } = await rig.api.preference.resolveDelivery({
      recipient: { target: { case: 'userId', value: userId } },
      notificationType: TYPE,
      priority: Priority.MEDIUM,
      at: timestampFromDate(new Date(at)),
    });
    expect(plans.map((p) => [Channel[p.channel], DeliveryDecision[p.decision]])).toEqual([
      ['EMAIL', 'DEFER'],
      ['SLACK', 'DEFER'],
    ]);
    for (const plan of plans) expect(timestampDate(plan.deliverAt!).toISOString()).toBe(new Date(expected).toISOString());
    // The oracle agrees: the first minute after `at` whose local clock reads 07:00.
    expect(nextLocal(new Date(at), '07:00', zone).toISOString()).toBe(new Date(expected).toISOString());
    expect(localClock(new Date(expected), zone).endsWith(' 07:00')).toBe(true);
  });

  it('delivers at once outside the window, at both of its edges, and lets CRITICAL through', async () => {
    const userId = await nightOwl('Europe/Paris');
    const resolve = async (at: string, priority = Priority.MEDIUM) =>
      (await rig.api.preference.resolveDelivery({ recipient: { target: { case: 'userId', value: userId } }, notificationType: TYPE, priority, at: timestampFromDate(new Date(at)) })).plans;
    // 21:59 CEST, the evening before the fall-back night: not quiet yet.
    expect((await resolve('2026-10-24T19:59:00Z')).map((p) => p.decision)).toEqual([DeliveryDecision.DELIVER_NOW, DeliveryDecision.DELIVER_NOW]);
    // 07:00 CET exactly: the end is exclusive.
    const atEnd = await resolve('2026-10-25T06:00:00Z');
    expect(atEnd.map((p) => p.decision)).toEqual([DeliveryDecision.DELIVER_NOW, DeliveryDecision.DELIVER_NOW]);
    expect(timestampDate(atEnd[0].deliverAt!).toISOString()).toBe('2026-10-25T06:00:00.000Z');
    // 22:00 CEST exactly: the start is inclusive.
    expect((await resolve('2026-10-24T20:00:00Z')).map((p) => p.decision)).toEqual([DeliveryDecision.DEFER, DeliveryDecision.DEFER]);
    // CRITICAL in the middle of the night.
    expect((await resolve('2026-10-25T01:30:00Z', Priority.CRITICAL)).map((p) => p.decision)).toEqual([DeliveryDecision.DELIVER_NOW, DeliveryDecision.DELIVER_NOW]);
  });

  it('ends a window whose end falls in the skipped hour at the moment the clocks jump', async () => {
    const userId = unique('owl');
    await rig.api.preference.updatePreferences({
      preferences: { userId, timeZone: 'Europe/Paris', quietHours: { start: '22:00', end: '02:30' }, contacts: { email: 'owl@example.com' }, typeChannels: [{ notificationType: TYPE, channels: [Channel.EMAIL] }] },
      updateMask: { paths: ['time_zone', 'quiet_hours', 'contacts', 'type_channels'] },
    });
    const { plans } = await rig.api.preference.resolveDelivery({
      recipient: { target: { case: 'userId', value: userId } },
      notificationType: TYPE,
      priority: Priority.MEDIUM,
      at: timestampFromDate(new Date('2026-03-28T23:30:00Z')), // 00:30 CET
    });
    // 02:30 never shows on 2026-03-29 in Paris: the clocks go from 02:00 CET to 03:00 CEST at 01:00Z.
    expect(plans[0].decision).toBe(DeliveryDecision.DEFER);
    expect(timestampDate(plans[0].deliverAt!).toISOString()).toBe('2026-03-29T01:00:00.000Z');
  });
});

describe('SendNotification now, for a user whose local time is inside quiet hours', () => {
  const zone = zoneAtNight();

  it('defers a MEDIUM notification to the local 07:00 (in UTC), with the reason, and sends nothing', async () => {
    const userId = await nightOwl(zone);
    const now = new Date();
    const expected = nextLocal(now, '07:00', zone);
    const { notification, title } = await send(userId, Priority.MEDIUM);
    expect(notification.deliveries.map((d) => [d.channel, d.state, d.reason])).toEqual([
      [Channel.EMAIL, S.DEFERRED, 'quiet hours'],
      [Channel.SLACK, S.DEFERRED, 'quiet hours'],
    ]);
    for (const d of notification.deliveries) expect(timestampDate(d.deliverAt!).toISOString()).toBe(expected.toISOString());
    const { status } = await until('status to show both deliveries deferred', async () => {
      const res = await rig.api.status.getStatus({ notificationId: notification.notificationId });
      return res.status!.deliveries.length === 2 && res.status!.deliveries.every((d) => d.state === S.DEFERRED) && res;
    });
    expect(status!.state).toBe(S.DEFERRED);
    expect(status!.deliveries.map((d) => d.reason)).toEqual(['quiet hours', 'quiet hours']);
    console.log(`[delivery] quiet hours now: ${zone} reads ${localClock(now, zone)}; MEDIUM deferred to ${expected.toISOString()} (${localClock(expected, zone)} local)`);

    // A CRITICAL one to the same user goes out now, through the same quiet hours.
    const critical = await send(userId, Priority.CRITICAL);
    const sent = await notificationWhen(rig.api, critical.notification.notificationId, 'the CRITICAL notification to be sent', (n) =>
      n.deliveries.every((d) => d.state === S.SENT || d.state === S.DELIVERED) && n,
    );
    expect(sent.deliveries.map((d) => [d.channel, d.state])).toEqual([
      [Channel.EMAIL, S.SENT],
      [Channel.SLACK, S.DELIVERED],
    ]);
    expect(mailsOf(rig.smtp, critical.notification.notificationId)).toHaveLength(1);
    expect(slackPostsOf(rig.slackTap, critical.title)).toHaveLength(1);
    // ...while the deferred one still waits, unsent.
    expect(mailsOf(rig.smtp, notification.notificationId)).toHaveLength(0);
    expect(slackPostsOf(rig.slackTap, title)).toHaveLength(0);
    const still = await rig.api.notification.getNotification({ lookup: { case: 'notificationId', value: notification.notificationId } });
    expect(still.notification!.deliveries.map((d) => d.state)).toEqual([S.DEFERRED, S.DEFERRED]);
  });

  it('defers CRITICAL too when the user turned critical_overrides_quiet_hours off', async () => {
    const userId = await nightOwl(zone, { criticalOverridesQuietHours: false });
    const expected = nextLocal(new Date(), '07:00', zone);
    const { notification, title } = await send(userId, Priority.CRITICAL);
    expect(notification.deliveries.map((d) => [d.state, d.reason])).toEqual([
      [S.DEFERRED, 'quiet hours'],
      [S.DEFERRED, 'quiet hours'],
    ]);
    for (const d of notification.deliveries) expect(timestampDate(d.deliverAt!).toISOString()).toBe(expected.toISOString());
    expect(mailsOf(rig.smtp, notification.notificationId)).toHaveLength(0);
    expect(slackPostsOf(rig.slackTap, title)).toHaveLength(0);
  });

  it('suppresses a type the user opted out of, with the reason in GetNotification and GetStatus', async () => {
    const userId = await nightOwl(zone, { optedOutTypes: [TYPE] });
    const { notification, title } = await send(userId, Priority.CRITICAL);
    expect(notification.state).toBe(S.SUPPRESSED);
    expect(notification.deliveries.map((d) => [d.channel, d.state, d.reason])).toEqual([
      [Channel.EMAIL, S.SUPPRESSED, 'opted out of this notification type'],
      [Channel.SLACK, S.SUPPRESSED, 'opted out of this notification type'],
    ]);
    const { status } = await until('status to show the suppressed deliveries', async () => {
      const res = await rig.api.status.getStatus({ notificationId: notification.notificationId });
      return res.status!.deliveries.length === 2 && res;
    });
    expect(status!.state).toBe(S.SUPPRESSED);
    expect(status!.deliveries.map((d) => [d.state, d.reason])).toEqual([
      [S.SUPPRESSED, 'opted out of this notification type'],
      [S.SUPPRESSED, 'opted out of this notification type'],
    ]);
    expect(mailsOf(rig.smtp, notification.notificationId)).toHaveLength(0);
    expect(slackPostsOf(rig.slackTap, title)).toHaveLength(0);

    // Opted out of everything: CRITICAL is suppressed too, with its own reason.
    const everything = await nightOwl(zone, { optedOut: true });
    const all = await send(everything, Priority.CRITICAL);
    expect(all.notification.deliveries.map((d) => [d.state, d.reason])).toEqual([
      [S.SUPPRESSED, 'opted out'],
      [S.SUPPRESSED, 'opted out'],
    ]);
    const plans = await rig.api.preference.resolveDelivery({ recipient: { target: { case: 'userId', value: userId } }, notificationType: TYPE, priority: Priority.MEDIUM });
    expect(plans.plans.map((p) => p.suppressionReason)).toEqual([SuppressionReason.OPTED_OUT_TYPE, SuppressionReason.OPTED_OUT_TYPE]);
  });

  it('expires a deferred notification at its expires_at, and never sends it', async () => {
    const userId = await nightOwl(zone);
    const expiresAt = new Date(Date.now() + 2_000);
    const { notification, title } = await send(userId, Priority.HIGH, { expiresAt });
    expect(notification.deliveries.map((d) => d.state)).toEqual([S.DEFERRED, S.DEFERRED]);
    expect(timestampDate(notification.expiresAt!).getTime()).toBe(expiresAt.getTime());
    const expired = await notificationWhen(rig.api, notification.notificationId, 'the deliveries to expire', (n) => n.deliveries.every((d) => d.state === S.EXPIRED) && n, 10_000);
    expect(expired.state).toBe(S.EXPIRED);
    expect(expired.deliveries.map((d) => [d.reason, d.attempts])).toEqual([
      ['expired before it could be sent', 0],
      ['expired before it could be sent', 0],
    ]);
    const { status } = await until('status to show EXPIRED', async () => {
      const res = await rig.api.status.getStatus({ notificationId: notification.notificationId });
      return res.status!.deliveries.every((d) => d.state === S.EXPIRED) && res;
    });
    const expiredAt = Math.min(...status!.deliveries.map((d) => timestampDate(d.history[d.history.length - 1].at!).getTime()));
    expect(expiredAt).toBeGreaterThanOrEqual(expiresAt.getTime());
    expect(mailsOf(rig.smtp, notification.notificationId)).toHaveLength(0);
    expect(slackPostsOf(rig.slackTap, title)).toHaveLength(0);
    console.log(`[delivery] expiry: deferred notification EXPIRED ${expiredAt - expiresAt.getTime()} ms after its expires_at, never sent`);
  });
});
