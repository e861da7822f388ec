// Escalation ladders with real parts: the embedded mesh (real preference plans each step as of its time, real
// status answers whether the notification was read), a real SMTP server on loopback and the Twilio stand-in, which
// checks every request against Twilio's published description. In-app now, then email, then SMS.
import { durationFromMs, timestampDate } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { Notification } from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { mailsOf, notificationWhen, type Rig, smsOf, startRig, unique } from './support.js';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig();
});

afterAll(async () => {
  await rig?.stop();
});

const S = DeliveryState;
const TYPE = 'account.alert';

/** Quiet hours in UTC from the hour before now to two hours after it: now is well inside them. */
function aroundNow(): { start: string; end: string } {
  const hour = new Date().getUTCHours();
  const clock = (h: number) => `${String((h + 24) % 24).padStart(2, '0')}:00`;
  return { start: clock(hour - 1), end: clock(hour + 2) };
}

/** A user who gets in-app for the type and has an email address and a phone for the ladder's steps. */
async function person(extra: { quietHours?: boolean } = {}): Promise<string> {
  const userId = unique('ladder');
  await rig.api.preference.updatePreferences({
    preferences: {
      userId,
      contacts: { email: `${userId}@example.com`, phone: '+15005550009' },
      typeChannels: [{ notificationType: TYPE, channels: [Channel.IN_APP] }],
      timeZone: 'UTC',
      quietHours: extra.quietHours ? aroundNow() : undefined,
    },
    updateMask: { paths: ['contacts', 'type_channels', 'time_zone', ...(extra.quietHours ? ['quiet_hours'] : [])] },
  });
  return userId;
}

async function send(userId: string, afterMs: number[], priority = Priority.HIGH) {
  const title = unique('Sign-in alert');
  const channels = [Channel.EMAIL, Channel.SMS];
  const { notification } = await rig.api.notification.sendNotification({
    idempotencyKey: unique('alert'),
    recipient: { target: { case: 'userId', value: userId } },
    notificationType: TYPE,
    priority,
    content: { title, body: 'A new device signed in.' },
    escalation: afterMs.map((ms, i) => ({ channel: channels[i], after: durationFromMs(ms) })),
  });
  return { notification: notification!, title };
}

const stepOf = (n: Notification, step: number) => n.deliveries.find((d) => d.escalationStep === step);
const states = (n: Notification) => n.deliveries.map((d) => [d.escalationStep, Channel[d.channel], S[d.state], d.reason]);

describe('escalation ladders', () => {
  it('sends in-app now, then email, then SMS, in order, while nobody reads', async () => {
    const { notification, title } = await send(await person(), [1_000, 2_000]);
    const acceptedAt = timestampDate(notification.createdAt!).getTime();
    expect(states(notification)).toEqual([
      [0, 'IN_APP', 'SENT', ''],
      [1, 'EMAIL', 'DEFERRED', 'escalation step 1'],
      [2, 'SMS', 'DEFERRED', 'escalation step 2'],
    ]);
    const done = await notificationWhen(rig.api, notification.notificationId, 'both steps sent', (n) => stepOf(n, 2)?.state === S.SENT && n);
    expect(stepOf(done, 1)!.state).toBe(S.SENT);
    const mails = mailsOf(rig.smtp, notification.notificationId);
    const texts = smsOf(rig.twilioTap, title);
    expect([mails.length, texts.length]).toEqual([1, 1]);
    expect(timestampDate(stepOf(done, 1)!.updatedAt!).getTime() - acceptedAt).toBeGreaterThanOrEqual(1_000);
    expect(timestampDate(stepOf(done, 2)!.updatedAt!).getTime() - acceptedAt).toBeGreaterThanOrEqual(2_000);
    expect(timestampDate(stepOf(done, 2)!.updatedAt!).getTime()).toBeGreaterThan(timestampDate(stepOf(done, 1)!.updatedAt!).getTime());
    expect(rig.violations()).toEqual([]);
  });

  it('stops at the first read: the SMS step is cancelled and never sent', async () => {
    const userId = await person();
    const { notification, title } = await send(userId, [1_000, 3_000]);
    await notificationWhen(rig.api, notification.notificationId, 'email step sent', (n) => stepOf(n, 1)?.state === S.SENT);
    const { markedCount } = await rig.api.status.markRead({ userId, notificationIds: [notification.notificationId] });
    expect(markedCount).toBe(1);
    const stopped = await notificationWhen(rig.api, notification.notificationId, 'SMS step cancelled', (n) => {
      return stepOf(n, 2)?.state === S.CANCELLED && n;
    });
    expect(stepOf(stopped, 2)!.reason).toBe('read before this step');
    // Well past the SMS step's time: still nothing more went out.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(smsOf(rig.twilioTap, title)).toEqual([]);
    expect(mailsOf(rig.smtp, notification.notificationId)).toHaveLength(1);
  });

  it('defers a step inside quiet hours to their end, and lets a CRITICAL one through', async () => {
    const userId = await person({ quietHours: true });
    const quiet = await send(userId, [1_000], Priority.HIGH);
    expect(stepOf(quiet.notification, 1)).toMatchObject({ state: S.DEFERRED, reason: 'quiet hours' });
    expect(timestampDate(stepOf(quiet.notification, 1)!.deliverAt!).getTime()).toBeGreaterThan(Date.now() + 60_000);

    const critical = await send(userId, [1_000], Priority.CRITICAL);
    expect(stepOf(critical.notification, 1)).toMatchObject({ state: S.DEFERRED, reason: 'escalation step 1' });
    await notificationWhen(rig.api, critical.notification.notificationId, 'CRITICAL step sent', (n) => stepOf(n, 1)?.state === S.SENT);
    expect(mailsOf(rig.smtp, critical.notification.notificationId)).toHaveLength(1);
    expect(mailsOf(rig.smtp, quiet.notification.notificationId)).toEqual([]);
  });
});
