// Dead letters with real parts: the loopback SMTP server refuses a recipient for good (550) or keeps failing it
// temporarily (451) until the attempts are used up; the dead letter is found with ListDeadLetters (by channel,
// reason and time, never showing the address); once the server accepts again, ReplayDeadLetters sends it once,
// under the same notification and delivery, as a new attempt; replaying again does nothing.
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { until } from '../support/poll.js';
import { MESSAGE_ID_DOMAIN, mailsOf, notificationWhen, type Rig, startRig, unique } from './support.js';

const S = DeliveryState;
const TYPE = 'statement.ready';
const ADDRESS = 'bounce.me@example.com';

let rig: Rig;
let userId: string;

beforeAll(async () => {
  rig = await startRig({
    NOTIFICATION_MAX_ATTEMPTS_EMAIL: '2',
    NOTIFICATION_RETRY_BASE_MS: '100',
    NOTIFICATION_RETRY_MAX_DELAY_MS: '200',
  });
  userId = unique('customer');
  await rig.api.preference.updatePreferences({
    preferences: { userId, contacts: { email: ADDRESS }, typeChannels: [{ notificationType: TYPE, channels: [Channel.EMAIL] }] },
    updateMask: { paths: ['contacts.email', 'type_channels'] },
  });
});

afterAll(async () => {
  rig?.smtp.behave('accept');
  await rig?.stop();
});

async function send(title = unique('Your statement')) {
  const { notification } = await rig.api.notification.sendNotification({
    idempotencyKey: unique('statement'),
    recipient: { target: { case: 'userId', value: userId } },
    notificationType: TYPE,
    priority: Priority.MEDIUM,
    content: { title, body: 'Your monthly statement is ready.' },
  });
  return notification!;
}

describe('a recipient the SMTP server refuses for good', () => {
  it('fails at once into a dead letter, and a replay once the server accepts delivers it exactly once', async () => {
    const before = new Date(Date.now() - 1_000);
    rig.smtp.behave('reject-recipient');
    const accepted = await send();
    const id = accepted.notificationId;
    const deliveryId = accepted.deliveries[0].deliveryId;

    const failed = await notificationWhen(rig.api, id, 'the email to fail', (n) => n.deliveries[0].state === S.FAILED && n.deliveries[0]);
    expect(failed).toMatchObject({ provider: 'smtp', attempts: 1, reason: 'smtp 550 recipient rejected' });
    expect(mailsOf(rig.smtp, id)).toHaveLength(0);

    // Found by channel and reason (and time); the reason names no address.
    const { deadLetters } = await rig.api.notification.listDeadLetters({ filter: { channel: Channel.EMAIL, reason: 'RECIPIENT rejected', since: timestampFromDate(before) } });
    const letter = deadLetters.find((d) => d.notificationId === id)!;
    expect(letter).toMatchObject({ deliveryId, channel: Channel.EMAIL, priority: Priority.MEDIUM, provider: 'smtp', attempts: 1, reason: 'smtp 550 recipient rejected' });
    expect(letter.reason).not.toContain('@');
    expect(letter.reason).not.toContain('bounce');
    expect(letter.replayedAt).toBeUndefined();
    const none = async (filter: Parameters<typeof rig.api.notification.listDeadLetters>[0]['filter']) =>
      (await rig.api.notification.listDeadLetters({ filter })).deadLetters.filter((d) => d.notificationId === id);
    expect(await none({ channel: Channel.SLACK, reason: 'recipient rejected' })).toEqual([]);
    expect(await none({ channel: Channel.EMAIL, reason: 'timeout' })).toEqual([]);
    expect(await none({ channel: Channel.EMAIL, until: timestampFromDate(before) })).toEqual([]);

    const { status } = await until('status to show FAILED', async () => {
      const res = await rig.api.status.getStatus({ notificationId: id });
      return res.status!.deliveries[0]?.state === S.FAILED && res;
    });
    expect(status!.deliveries[0].reason).toBe('smtp 550 recipient rejected');

    // The server takes the address again; replay that one dead letter.
    rig.smtp.behave('accept');
    const replayed = await rig.api.notification.replayDeadLetters({ filter: { deadLetterIds: [letter.deadLetterId] } });
    expect(replayed).toMatchObject({ replayedCount: 1, deliveryIds: [deliveryId] });
    const sent = await notificationWhen(rig.api, id, 'the replayed email to be sent', (n) => n.deliveries[0].state === S.SENT && n);
    expect(sent.notificationId).toBe(id);
    expect(sent.deliveries).toHaveLength(1);
    expect(sent.deliveries[0]).toMatchObject({ deliveryId, attempts: 2, provider: 'smtp', reason: '' });
    const mails = mailsOf(rig.smtp, id);
    expect(mails).toHaveLength(1);
    expect(mails[0].parsed.messageId).toBe(`<${deliveryId}@${MESSAGE_ID_DOMAIN}>`);
    expect(mails[0].envelope.to).toEqual([ADDRESS]);

    // The status shows the failed first attempt, then the replay as attempt 2.
    const timeline = await until('status to show the replayed delivery SENT', async () => {
      const res = await rig.api.status.getStatus({ notificationId: id });
      const d = res.status!.deliveries[0];
      return d.state === S.SENT && d.history;
    });
    expect(timeline.map((h) => [S[h.state], h.attempt])).toEqual([
      ['ACCEPTED', 0],
      ['FAILED', 1],
      ['DEFERRED', 2],
      ['SENT', 2],
    ]);
    expect(timeline[2].reason).toBe('replay');

    // Replayed dead letters are listed only on request, with when; replaying again does nothing.
    expect((await rig.api.notification.listDeadLetters({ filter: { channel: Channel.EMAIL } })).deadLetters.filter((d) => d.notificationId === id)).toEqual([]);
    const listed = (await rig.api.notification.listDeadLetters({ filter: { channel: Channel.EMAIL }, includeReplayed: true })).deadLetters.find((d) => d.notificationId === id)!;
    expect(timestampDate(listed.replayedAt!).getTime()).toBeGreaterThanOrEqual(before.getTime());
    expect(await rig.api.notification.replayDeadLetters({ filter: { deadLetterIds: [letter.deadLetterId] } })).toMatchObject({ replayedCount: 0, deliveryIds: [] });
    expect(await rig.api.notification.replayDeadLetters({ filter: { channel: Channel.EMAIL, reason: 'recipient rejected' } })).toMatchObject({ replayedCount: 0 });
    const after = await rig.api.notification.getNotification({ lookup: { case: 'notificationId', value: id } });
    expect(after.notification!.deliveries[0]).toMatchObject({ state: S.SENT, attempts: 2 });
    expect(mailsOf(rig.smtp, id)).toHaveLength(1);
  });
});

describe('a recipient the SMTP server keeps refusing for now', () => {
  it('dead-letters after the last attempt, and replays a filtered set at the bounded rate, each once', async () => {
    rig.smtp.behave('fail-temporarily');
    const sent = await Promise.all([0, 1, 2].map(() => send()));
    const ids = sent.map((n) => n.notificationId);
    for (const id of ids) {
      const d = await notificationWhen(rig.api, id, 'the email to be dead-lettered', (n) => n.deliveries[0].state === S.DEAD_LETTERED && n.deliveries[0]);
      expect(d.reason).toBe('smtp 451 local error in processing (gave up after 2 failed attempts)');
      expect(d.attempts).toBe(2);
    }
    const { deadLetters } = await rig.api.notification.listDeadLetters({ filter: { channel: Channel.EMAIL, reason: 'gave up after 2' } });
    expect(deadLetters.filter((d) => ids.includes(d.notificationId))).toHaveLength(3);

    rig.smtp.behave('accept');
    const RATE = 2;
    const replayCalledAt = Date.now();
    const replayed = await rig.api.notification.replayDeadLetters({ filter: { channel: Channel.EMAIL, reason: 'smtp 451' }, ratePerSecond: RATE });
    expect(replayed.replayedCount).toBe(3);
    const deliveryIds = sent.map((n) => n.deliveries[0].deliveryId);
    expect([...replayed.deliveryIds].sort()).toEqual([...deliveryIds].sort());

    for (const id of ids) await notificationWhen(rig.api, id, 'the replayed email to be sent', (n) => n.deliveries[0].state === S.SENT);
    for (const id of ids) expect(mailsOf(rig.smtp, id)).toHaveLength(1);

    // Released at most RATE per second: the i-th replay (oldest first) is due i/RATE s after the call, no sooner.
    const sentAt = await Promise.all(
      ids.map(async (id) => {
        const history = await until('status to show SENT', async () => {
          const d = (await rig.api.status.getStatus({ notificationId: id })).status!.deliveries[0];
          return d.state === S.SENT && d.history;
        });
        return timestampDate(history.at(-1)!.at!).getTime(); // SENT: the replay cannot have been sent before it was due
      }),
    );
    sentAt.sort((a, b) => a - b);
    sentAt.forEach((at, i) => expect(at - replayCalledAt, `replay ${i}`).toBeGreaterThanOrEqual((i * 1000) / RATE));
    const spread = sentAt[2] - sentAt[0];
    console.log(`[delivery] replay of 3 dead letters at ${RATE}/s: sent over ${spread} ms, each email received once`);
    expect((await rig.api.notification.replayDeadLetters({ filter: { channel: Channel.EMAIL, reason: 'smtp 451' } })).replayedCount).toBe(0);
  });
});
