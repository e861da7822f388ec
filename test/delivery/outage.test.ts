// A provider outage with real parts: the Slack stand-in answers 503 for a while, the provider's breaker opens,
// deliveries wait in the store ("circuit open") without using up their attempts, Slack comes back, and every
// notification is posted exactly once. Then Twilio's 429 with Retry-After is honoured. Breaker and retry settings
// are short, through the same environment variables an operator would set.
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { until } from '../support/poll.js';
import { mailsOf, notificationWhen, posted, type Rig, sample, slackPostsOf, smsOf, startRig, unique } from './support.js';

const S = DeliveryState;
const RESET_MS = 500;
const MAX_ATTEMPTS = 3;
const RETRY_BASE_MS = 100;

let rig: Rig;

beforeAll(async () => {
  rig = await startRig({
    PULSE_BREAKER_VOLUME: '4',
    PULSE_BREAKER_ERROR_PERCENT: '50',
    PULSE_BREAKER_RESET_MS: String(RESET_MS),
    PULSE_BREAKER_WINDOW_MS: '5000',
    NOTIFICATION_RETRY_BASE_MS: String(RETRY_BASE_MS),
    NOTIFICATION_RETRY_MAX_DELAY_MS: '400',
    NOTIFICATION_MAX_ATTEMPTS_SLACK: String(MAX_ATTEMPTS),
    NOTIFICATION_MAX_ATTEMPTS_SMS: String(MAX_ATTEMPTS),
    NOTIFICATION_RATE_USER_PER_SECOND: '1000',
    NOTIFICATION_RATE_USER_BURST: '1000',
  });
});

afterEach(() => {
  if (rig) rig.slackTap.onRequest = undefined; // a failed outage test must not leave Slack down for the next one
});

afterAll(async () => {
  await rig?.stop();
});

async function userWith(channels: Channel[], type: string, contacts: { email?: string; phone?: string; slackUserId?: string }) {
  const userId = unique('user');
  await rig.api.preference.updatePreferences({
    preferences: { userId, contacts, typeChannels: [{ notificationType: type, channels }] },
    updateMask: { paths: ['contacts', 'type_channels'] },
  });
  return userId;
}

const slackBreaker = () => sample(rig.mesh.urls.notification, 'pulse_breaker_state', { breaker: 'provider:slack' });

describe('a Slack outage', () => {
  it('opens the breaker, holds the jobs without burning attempts, and delivers every notification exactly once after', async () => {
    const type = 'incident.update';
    const users = await Promise.all([0, 1, 2].map((i) => userWith([Channel.SLACK, Channel.EMAIL], type, { email: `oncall${i}@example.com`, slackUserId: `U0ONCALL00${i}` })));
    const N = 30;
    const titles = Array.from({ length: N }, (_, i) => unique(`Incident update ${i}`));

    // Slack goes down: every chat.postMessage that reaches the stand-in (and its spec check) is answered 503.
    let refused = 0;
    rig.slackTap.onRequest = () => {
      refused += 1;
      rig.slack.misbehave({ kind: 'status', status: 503 });
    };
    const outageStart = Date.now();
    // Half-open probes: the breaker lets one request through every reset timeout, so they come alone, well apart
    // from the burst of sends made before the breaker opened.
    const probes = () =>
      rig.slackTap.exchanges.filter((e, i, all) => i > 0 && e.status === 503 && e.arrivedAt - all[i - 1].arrivedAt >= RESET_MS / 2).length;
    const { results, acceptedCount } = await rig.api.notification.sendNotifications({
      notifications: titles.map((title, i) => ({
        idempotencyKey: unique('incident'),
        recipient: { target: { case: 'userId', value: users[i % users.length] } },
        notificationType: type,
        priority: Priority.HIGH,
        content: { title, body: 'Status page updated.' },
      })),
    });
    expect(acceptedCount).toBe(N);
    const ids = results.map((r) => r.notification!.notificationId);

    // The breaker opens (2 on /metrics).
    await until('pulse_breaker_state{breaker="provider:slack"} to be 2 (open)', async () => (await slackBreaker()) === 2);
    const openedAfter = Date.now() - outageStart;

    // Jobs wait in the store, deferred because the circuit is open; none failed. Email, another provider, goes on.
    const waiting = await until('the Slack deliveries to wait for the open circuit while email is sent', async () => {
      const all = await Promise.all(ids.map(async (id) => (await rig.api.notification.getNotification({ lookup: { case: 'notificationId', value: id } })).notification!));
      const slack = all.map((n) => n.deliveries.find((d) => d.channel === Channel.SLACK)!);
      expect(slack.filter((d) => d.state === S.FAILED || d.state === S.DEAD_LETTERED || d.state === S.DELIVERED)).toEqual([]);
      // A delivery the scheduler has just handed to a job has no due time until it waits again: count the others.
      const circuitOpen = slack.filter((d) => d.state === S.DEFERRED && d.reason === 'circuit open' && d.deliverAt);
      const emailsSent = all.every((n) => n.deliveries.find((d) => d.channel === Channel.EMAIL)!.state === S.SENT);
      return slack.every((d) => d.state === S.DEFERRED) && circuitOpen.length >= N / 2 && emailsSent && { slack, circuitOpen };
    }, 30_000);
    const waitingAfter = Date.now() - outageStart;
    // Each waits until the breaker lets a call through again, not for a growing backoff.
    for (const d of waiting.circuitOpen) expect(timestampDate(d.deliverAt!).getTime()).toBeLessThanOrEqual(Date.now() + RESET_MS + 100);

    // Let the outage outlast what the retry budget alone would survive (3 attempts, backoff from 100 ms): several
    // breaker cycles with a failed probe each.
    await until('the outage to last 3 s with a few probes', async () => Date.now() - outageStart >= 3_000 && probes() >= 3, 10_000);
    expect(await slackBreaker()).not.toBe(0);
    const { deadLetters: duringOutage } = await rig.api.notification.listDeadLetters({ filter: { channel: Channel.SLACK } });
    expect(duringOutage).toEqual([]);
    const refusedInOutage = refused;
    const probesInOutage = probes();

    // Slack comes back.
    rig.slackTap.onRequest = undefined;
    const recoveredAt = Date.now();
    const outageMs = recoveredAt - outageStart;
    await until(
      'every Slack delivery to be DELIVERED after the outage',
      async () => {
        for (const id of ids) {
          const { notification } = await rig.api.notification.getNotification({ lookup: { case: 'notificationId', value: id } });
          if (notification!.deliveries.find((d) => d.channel === Channel.SLACK)!.state !== S.DELIVERED) return false;
        }
        return true;
      },
      30_000,
    );
    const allDeliveredAfter = Date.now() - recoveredAt;
    await until('the Slack breaker to close', async () => (await slackBreaker()) === 0);

    // Count at the stand-in what Slack accepted, per notification.
    const perTitle = titles.map((title) => slackPostsOf(rig.slackTap, title).filter(posted).length);
    const delivered = perTitle.filter((c) => c >= 1).length;
    const duplicates = perTitle.reduce((sum, c) => sum + Math.max(0, c - 1), 0);
    const lost = perTitle.filter((c) => c === 0).length;
    const attempts = await Promise.all(
      ids.map(async (id) => (await rig.api.notification.getNotification({ lookup: { case: 'notificationId', value: id } })).notification!.deliveries.find((d) => d.channel === Channel.SLACK)!),
    );
    // Email, another provider with its own breaker, went on during the Slack outage. A send whose outcome is unknown
    // (timeout after the data went out: happens on a loaded machine) is sent again on email by design, with the same
    // Message-ID, so any second copy is recognisable as the same message.
    const mails = ids.map((id) => mailsOf(rig.smtp, id));
    const emails = mails.reduce((sum, m) => sum + m.length, 0);
    console.log(
      `[delivery] Slack outage: sent=${N} delivered=${delivered} duplicates=${duplicates} lost=${lost}; ` +
        `outage ${outageMs} ms, breaker seen open after ${openedAfter} ms, all jobs seen waiting after ${waitingAfter} ms, ${refusedInOutage} requests answered 503 (${refusedInOutage - probesInOutage} before the breaker opened, ${probesInOutage} half-open probes), ` +
        `all delivered ${allDeliveredAfter} ms after recovery; provider calls per delivery max ${Math.max(...attempts.map((d) => d.attempts))}; ` +
        `emails received meanwhile ${emails} for ${N} notifications (one Message-ID each)`,
    );
    expect({ delivered, duplicates, lost }).toEqual({ delivered: N, duplicates: 0, lost: 0 });
    expect(mails.every((m) => m.length >= 1 && new Set(m.map((mail) => mail.parsed.messageId)).size === 1)).toBe(true);
    expect(attempts.every((d) => d.state === S.DELIVERED && d.provider === 'slack')).toBe(true);
    const { deadLetters } = await rig.api.notification.listDeadLetters({ filter: { channel: Channel.SLACK }, includeReplayed: true });
    expect(deadLetters).toEqual([]);

    // The status timelines tell the story: waited for the open circuit, then delivered.
    const timelines = await until('status to show every Slack delivery DELIVERED', async () => {
      const all = await Promise.all(ids.map(async (id) => (await rig.api.status.getStatus({ notificationId: id })).status!));
      const slack = all.map((st) => st.deliveries.find((d) => d.channel === Channel.SLACK));
      return slack.every((d) => d?.state === S.DELIVERED) && slack.map((d) => d!.history);
    });
    const waitedForCircuit = timelines.filter((h) => h.some((step) => step.state === S.DEFERRED && step.reason === 'circuit open'));
    expect(waitedForCircuit.length).toBeGreaterThanOrEqual(N / 2);
    for (const h of timelines) expect(h[h.length - 1].state).toBe(S.DELIVERED);
    expect(rig.violations()).toEqual([]);
  }, 90_000);
});

describe('Slack rate limiting', () => {
  it('waits at least the Retry-After of a 429 before posting again', async () => {
    const type = 'chat.ping';
    const userId = await userWith([Channel.SLACK], type, { slackUserId: 'U0RATELIM01' });
    const RETRY_AFTER_S = 1;
    rig.slack.misbehave({ kind: 'rate-limit', retryAfterS: RETRY_AFTER_S });
    const title = unique('Ping');
    const { notification } = await rig.api.notification.sendNotification({
      idempotencyKey: unique('ping'),
      recipient: { target: { case: 'userId', value: userId } },
      notificationType: type,
      priority: Priority.HIGH,
      content: { title, body: 'Ping.' },
    });
    const done = await notificationWhen(rig.api, notification!.notificationId, 'the Slack post after Retry-After', (n) => n.deliveries[0].state === S.DELIVERED && n.deliveries[0], 10_000);
    const exchanges = slackPostsOf(rig.slackTap, title);
    expect(exchanges.map((e) => e.status)).toEqual([429, 200]);
    expect(exchanges.filter(posted)).toHaveLength(1);
    const waited = exchanges[1].arrivedAt - exchanges[0].answeredAt;
    expect(waited).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000);
    expect(done.attempts).toBe(2);
    expect(rig.violations()).toEqual([]);
    console.log(`[delivery] Slack 429 with Retry-After: ${RETRY_AFTER_S} s: posted again ${waited} ms after the 429`);
  });
});

describe('Twilio rate limiting', () => {
  it('waits at least the Retry-After of a 429 before sending again', async () => {
    const type = 'otp.code';
    const userId = await userWith([Channel.SMS], type, { phone: '+14155550188' });
    const RETRY_AFTER_S = 2;
    rig.twilio.misbehave({ kind: 'rate-limit', retryAfterS: RETRY_AFTER_S });
    const title = unique('Your code');
    const { notification } = await rig.api.notification.sendNotification({
      idempotencyKey: unique('otp'),
      recipient: { target: { case: 'userId', value: userId } },
      notificationType: type,
      priority: Priority.CRITICAL,
      content: { title, body: 'Code 123456' },
    });
    const id = notification!.notificationId;

    // While it waits: DEFERRED with the classified reason, due no sooner than Retry-After.
    const deferred = await notificationWhen(rig.api, id, 'the SMS to wait after the 429', (n) => n.deliveries[0].state === S.DEFERRED && n.deliveries[0]);
    expect(deferred.reason).toBe('retry: twilio 20429 too many requests');
    const [first] = smsOf(rig.twilioTap, title);
    expect(first.status).toBe(429);
    expect(timestampDate(deferred.deliverAt!).getTime() - first.answeredAt).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000);

    const sent = await notificationWhen(rig.api, id, 'the SMS to be sent after Retry-After', (n) => n.deliveries[0].state === S.SENT && n.deliveries[0], 10_000);
    const exchanges = smsOf(rig.twilioTap, title);
    expect(exchanges.map((e) => e.status)).toEqual([429, 201]);
    const waited = exchanges[1].arrivedAt - exchanges[0].answeredAt;
    expect(waited).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000);
    expect(waited).toBeLessThan(RETRY_AFTER_S * 1000 + 5_000); // and not much later: the scheduler looks every 50 ms
    expect(sent).toMatchObject({ attempts: 2, provider: 'twilio' });
    expect(new URLSearchParams(exchanges[1].body).get('To')).toBe('+14155550188');
    expect(await sample(rig.mesh.urls.notification, 'pulse_breaker_state', { breaker: 'provider:twilio' })).toBe(0);
    expect(rig.violations()).toEqual([]);
    console.log(`[delivery] Twilio 429 with Retry-After: ${RETRY_AFTER_S} s: retried ${waited} ms after the 429 (backoff alone: ~${RETRY_BASE_MS} ms)`);
  });
});
