// Escalation ladders through the real module: steps planned at acceptance as of their time, woken by the scheduler,
// sent in order while unread, stopped by a read (asked of status), held while status cannot say, and validated.
import { create } from '@bufbuild/protobuf';
import { durationFromMs, timestampDate } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { ReviewState, Severity } from '../../gen/pulse/common/v1/review_pb.js';
import { ReviewNotice, ReviewRequiredSchema, ReviewResolvedSchema } from '../../gen/pulse/events/v1/events_pb.js';
import { type Notification, SendNotificationRequestSchema } from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { DeliveryDecision } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { until } from '../../test/support/poll.js';
import { rejectionOf } from '../../test/support/rejection.js';
import { reviewNotificationKey } from '../common/notification-keys.js';
import { READ_BEFORE_STEP } from './ladder.js';
import { ACKNOWLEDGED, WAITING_FOR_STATUS } from './ladder-gate.js';
import { type Harness, startHarness } from './test-support.js';

const S = DeliveryState;

describe('escalation ladders', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        NOTIFICATION_ESCALATION_STATUS_RETRY_MS: '200',
        NOTIFICATION_ESCALATION_LADDERS: '{"review.required": [{"channel": "EMAIL", "after": "2s"}]}',
      },
    });
  });
  afterAll(() => h.stop());
  beforeEach(() => {
    h.status.unavailable = false;
  });

  let users = 0;
  /** A user who gets in-app for the type, with an email address and a phone for escalation steps. */
  function user(): string {
    const id = `ladder-user-${++users}`;
    h.preference.users.set(id, [{ channel: Channel.IN_APP, address: id }]);
    h.preference.contacts.set(id, [
      { channel: Channel.EMAIL, address: `${id}@example.com` },
      { channel: Channel.SMS, address: '+15550100' },
    ]);
    return id;
  }

  async function send(userId: string, priority = Priority.MEDIUM, steps = [Channel.EMAIL, Channel.SMS]): Promise<Notification> {
    const { notification } = await h.client.sendNotification(
      create(SendNotificationRequestSchema, {
        idempotencyKey: `ladder-${userId}`,
        recipient: { target: { case: 'userId', value: userId } },
        notificationType: 'account.alert',
        priority,
        content: { title: 'Unusual sign-in' },
        escalation: steps.map((channel, i) => ({ channel, after: durationFromMs((i + 1) * 1_000) })),
      }),
    );
    return notification!;
  }

  const get = async (id: string) => (await h.client.getNotification({ lookup: { case: 'notificationId', value: id } })).notification!;
  const stepOf = (n: Notification, step: number) => n.deliveries.find((d) => d.escalationStep === step)!;
  const sentTo = (channel: Channel, notificationId: string) => h.providers.get(channel)!.calls.filter((m) => m.notificationId === notificationId);

  it('sends every step in order while nobody reads, and shows the ladder', async () => {
    const sent = await send(user());
    expect(sent.escalation.map((s) => [s.channel, Number(s.after!.seconds)])).toEqual([
      [Channel.EMAIL, 1],
      [Channel.SMS, 2],
    ]);
    const acceptedAt = timestampDate(sent.createdAt!).getTime();
    expect(sent.deliveries.map((d) => [d.channel, d.escalationStep, S[d.state], d.reason])).toEqual([
      [Channel.IN_APP, 0, 'SENT', ''],
      [Channel.EMAIL, 1, 'DEFERRED', 'escalation step 1'],
      [Channel.SMS, 2, 'DEFERRED', 'escalation step 2'],
    ]);
    expect(timestampDate(stepOf(sent, 2).deliverAt!).getTime()).toBe(acceptedAt + 2_000);
    // Each step was planned as of its own time, for its own channel.
    const asked = h.preference.requests.filter((r) => r.recipient?.target.value === sent.recipient?.target.value && r.channels.length > 0);
    expect(asked.map((r) => [r.channels, timestampDate(r.at!).getTime() - acceptedAt])).toEqual([
      [[Channel.EMAIL], 1_000],
      [[Channel.SMS], 2_000],
    ]);

    const done = await until('both steps sent', async () => {
      const n = await get(sent.notificationId);
      return stepOf(n, 2).state === S.SENT && n;
    });
    expect(stepOf(done, 1).state).toBe(S.SENT);
    const [email] = sentTo(Channel.EMAIL, sent.notificationId);
    const [sms] = sentTo(Channel.SMS, sent.notificationId);
    expect([sentTo(Channel.EMAIL, sent.notificationId).length, sentTo(Channel.SMS, sent.notificationId).length]).toEqual([1, 1]);
    const emailAt = h.providers.get(Channel.EMAIL)!.sentAt.get(email.deliveryId)!;
    const smsAt = h.providers.get(Channel.SMS)!.sentAt.get(sms.deliveryId)!;
    expect(emailAt - acceptedAt).toBeGreaterThanOrEqual(1_000);
    expect(smsAt - acceptedAt).toBeGreaterThanOrEqual(2_000);
    expect(h.status.asked.filter((id) => id === sent.notificationId).length).toBe(2);
  });

  it('stops at the first read: the later steps are cancelled and nothing more goes out', async () => {
    const sent = await send(user());
    await until('step 1 sent', async () => stepOf(await get(sent.notificationId), 1).state === S.SENT);
    h.status.read.add(sent.notificationId);
    const stopped = await until('step 2 cancelled', async () => {
      const n = await get(sent.notificationId);
      return stepOf(n, 2).state === S.CANCELLED && n;
    });
    expect(stepOf(stopped, 2).reason).toBe(READ_BEFORE_STEP);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sentTo(Channel.SMS, sent.notificationId)).toEqual([]);
    expect(sentTo(Channel.EMAIL, sent.notificationId).length).toBe(1);
  });

  it('cancels every later step at once when read before the first', async () => {
    const sent = await send(user(), Priority.MEDIUM, [Channel.EMAIL, Channel.SMS]);
    h.status.read.add(sent.notificationId);
    const stopped = await until('steps cancelled', async () => {
      const n = await get(sent.notificationId);
      return stepOf(n, 1).state === S.CANCELLED && n;
    });
    // Step 2 was cancelled with step 1, a second before its time.
    expect([S[stepOf(stopped, 1).state], S[stepOf(stopped, 2).state]]).toEqual(['CANCELLED', 'CANCELLED']);
    expect(sentTo(Channel.EMAIL, sent.notificationId)).toEqual([]);
  });

  it('holds a step while status cannot say whether it was read, then sends it once', async () => {
    h.status.unavailable = true;
    const sent = await send(user(), Priority.MEDIUM, [Channel.EMAIL]);
    const waiting = await until('step waiting for status', async () => {
      const n = await get(sent.notificationId);
      return stepOf(n, 1).reason === WAITING_FOR_STATUS && n;
    });
    expect(stepOf(waiting, 1).state).toBe(S.DEFERRED);
    expect(sentTo(Channel.EMAIL, sent.notificationId)).toEqual([]);
    h.status.unavailable = false;
    await until('step sent', async () => stepOf(await get(sent.notificationId), 1).state === S.SENT);
    expect(sentTo(Channel.EMAIL, sent.notificationId).length).toBe(1);
  });

  it('defers a step that falls inside quiet hours to their end', async () => {
    const userId = user();
    const end = new Date(Date.now() + 3_600_000);
    h.preference.contacts.set(userId, [{ channel: Channel.EMAIL, address: 'q@example.com', decision: DeliveryDecision.DEFER, deliverAt: end }]);
    const sent = await send(userId, Priority.MEDIUM, [Channel.EMAIL]);
    expect(stepOf(sent, 1)).toMatchObject({ state: S.DEFERRED, reason: 'quiet hours' });
    expect(timestampDate(stepOf(sent, 1).deliverAt!).getTime()).toBe(end.getTime());
  });

  it('gives HIGH review cases the default ladder of their type', async () => {
    // An address route on the step's channel gets the step too (as well as the first message, like every route).
    h.preference.topics.set('review-ladder', {
      primary: [
        { channel: Channel.IN_APP, address: 'reviewer-1' },
        { channel: Channel.EMAIL, address: 'reviewers@example.com' },
      ],
    });
    const event = (reviewId: string, severity: Severity) =>
      create(ReviewRequiredSchema, {
        eventId: `evt-${reviewId}`,
        reviewId,
        conversationId: 'conv-1',
        topic: 'review-ladder',
        severity,
        notice: ReviewNotice.OPENED,
        summary: 'Negative sentiment',
      });
    await h.publish('review.required', event('rev-high', Severity.HIGH));
    await h.publish('review.required', event('rev-low', Severity.LOW));
    const byKey = async (reviewId: string) =>
      (await h.client.getNotification({ lookup: { case: 'idempotencyKey', value: reviewNotificationKey(reviewId, 'opened', 0) } })).notification!;
    const high = await until('HIGH review notification', () => byKey('rev-high'));
    expect(high.priority).toBe(Priority.HIGH);
    expect(high.escalation.map((s) => s.channel)).toEqual([Channel.EMAIL]);
    expect(stepOf(high, 1)).toMatchObject({ channel: Channel.EMAIL, escalationStep: 1 });
    const low = await until('LOW review notification', () => byKey('rev-low'));
    expect(low.escalation).toEqual([]);
    expect(low.deliveries.every((d) => d.escalationStep === 0)).toBe(true);
  });

  it('stops the ladder of a review case a reviewer resolved', async () => {
    h.preference.topics.set('review-ack', { primary: [{ channel: Channel.EMAIL, address: 'reviewers@example.com' }] });
    const event = create(ReviewRequiredSchema, {
      eventId: 'evt-rev-ack',
      reviewId: 'rev-ack',
      conversationId: 'conv-2',
      topic: 'review-ack',
      severity: Severity.CRITICAL,
      notice: ReviewNotice.OPENED,
      summary: 'Threat to churn',
    });
    await h.publish('review.required', event);
    const key = reviewNotificationKey('rev-ack', 'opened', 0);
    const opened = await until('review notification', async () => {
      return (await h.client.getNotification({ lookup: { case: 'idempotencyKey', value: key } })).notification;
    });
    expect(stepOf(opened, 1).state).toBe(S.DEFERRED);
    const resolved = create(ReviewResolvedSchema, { eventId: 'evt-rev-ack-done', reviewId: 'rev-ack', outcome: ReviewState.RESOLVED });
    await h.publish('review.resolved', resolved);
    const stopped = await until('step cancelled', async () => {
      const n = await get(opened.notificationId);
      return stepOf(n, 1).state === S.CANCELLED && n;
    });
    expect(stepOf(stopped, 1).reason).toBe(ACKNOWLEDGED);
    await new Promise((resolve) => setTimeout(resolve, 2_200)); // past the step's time
    expect(sentTo(Channel.EMAIL, opened.notificationId)).toHaveLength(1); // the first message only
  });

  it('refuses a malformed ladder, naming the field', async () => {
    const err = await rejectionOf(() =>
      h.client.sendNotification(
        create(SendNotificationRequestSchema, {
          idempotencyKey: 'ladder-bad',
          recipient: { target: { case: 'userId', value: 'u-bad' } },
          notificationType: 'account.alert',
          content: { title: 'x' },
          escalation: [
            { channel: Channel.EMAIL, after: durationFromMs(5_000) },
            { channel: Channel.SMS, after: durationFromMs(4_000) },
          ],
        }),
      ),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain('escalation[1].after: must be later than the step before (5s)');
  });
});
