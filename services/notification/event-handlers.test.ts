// review.required and assistance.requested become notifications to their topic, once per cause.
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, DeliveryState, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { Severity } from '../../gen/pulse/common/v1/review_pb.js';
import { AssistanceRequestedSchema, ReviewNotice, type ReviewRequired, ReviewRequiredSchema } from '../../gen/pulse/events/v1/events_pb.js';
import { RouteKind } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { until } from '../../test/support/poll.js';
import { DEAD_LETTER_REASON_HEADER } from '../platform/bus/bus.js';
import { assistanceNotificationKey, reviewNotificationKey } from '../common/notification-keys.js';
import { assistanceNotification, reviewNotification } from './event-handlers.js';
import type { NotificationDoc } from './notifications.js';
import { type Harness, startHarness, watchTransactions } from './test-support.js';

function reviewEvent(overrides: MessageInitShape<typeof ReviewRequiredSchema> = {}): ReviewRequired {
  return create(ReviewRequiredSchema, {
    eventId: `evt-${Math.random()}`,
    occurredAt: timestampFromDate(new Date()),
    reviewId: 'rev-1',
    conversationId: 'c-1',
    customerId: 'cust-1',
    agentId: 'agent-1',
    messageId: 'm-1',
    severity: Severity.HIGH,
    lowestScore: -0.8,
    summary: 'Customer threatens to cancel; score -0.80',
    topic: 'review',
    notice: ReviewNotice.OPENED,
    ...overrides,
  });
}

describe('event to notification (pure)', () => {
  it('maps a review notice to topic, route kind, priority and content without message text', () => {
    expect(reviewNotification(reviewEvent())).toEqual({
      idempotencyKey: reviewNotificationKey('rev-1', 'opened', 0),
      recipient: { topic: 'review' },
      notificationType: 'review.required',
      priority: Priority.HIGH,
      routeKind: RouteKind.PRIMARY,
      content: {
        title: 'Review needed: conversation c-1 (HIGH)',
        body: 'Customer threatens to cancel; score -0.80',
        data: { review_id: 'rev-1', conversation_id: 'c-1', severity: 'HIGH', notice: 'opened' },
      },
      expiresAt: null,
      source: 'review',
      causeId: 'rev-1',
    });
    const breach = reviewNotification(reviewEvent({ notice: ReviewNotice.SLA_BREACHED, reminder: 2, severity: Severity.CRITICAL, topic: '' }));
    expect(breach).toMatchObject({
      idempotencyKey: reviewNotificationKey('rev-1', 'sla_breached', 2),
      recipient: { topic: 'review' },
      priority: Priority.CRITICAL,
      routeKind: RouteKind.ESCALATION,
      content: { title: 'Review overdue: conversation c-1 (CRITICAL)', data: { reminder: '2' } },
    });
    expect(reviewNotification(reviewEvent({ notice: ReviewNotice.ESCALATED, severity: Severity.LOW }))).toMatchObject({
      priority: Priority.MEDIUM,
      routeKind: RouteKind.ESCALATION,
    });
  });

  it('maps an assistance request to its topic, with the description as body', () => {
    const event = create(AssistanceRequestedSchema, {
      eventId: 'e',
      requestId: 'req-9',
      topic: 'pricing',
      description: 'Customer asks for a volume discount',
      botId: 'bot-1',
      customerId: 'cust-2',
      priority: Priority.HIGH,
    });
    expect(assistanceNotification(event)).toEqual({
      idempotencyKey: assistanceNotificationKey('req-9'),
      recipient: { topic: 'pricing' },
      notificationType: 'assistance.requested',
      priority: Priority.HIGH,
      routeKind: RouteKind.PRIMARY,
      content: {
        title: 'Assistance requested: pricing',
        body: 'Customer asks for a volume discount',
        data: { request_id: 'req-9', bot_id: 'bot-1', customer_id: 'cust-2' },
      },
      expiresAt: null,
      source: 'ingestion',
      causeId: 'req-9',
    });
  });
});

describe('event consumers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    h.preference.topics.set('review', {
      primary: [{ channel: Channel.IN_APP, address: 'reviewers' }],
      escalation: [{ channel: Channel.SMS, address: '+14155550199' }],
    });
    h.preference.topics.set('sales', { primary: [{ channel: Channel.SLACK, address: '#sales' }] });
  });
  afterAll(() => h.stop());

  const byKey = (key: string) => h.store.collection<NotificationDoc>('notifications').find({ idempotencyKey: key });

  it('notifies the review topic once per case opening, however often the event arrives', async () => {
    const event = reviewEvent({ reviewId: 'rev-open' });
    await h.publish('review.required', event);
    await h.publish('review.required', event); // redelivered: same event id
    await h.publish('review.required', { ...event, eventId: 'evt-republished' }); // re-published under a new id
    const key = reviewNotificationKey('rev-open', 'opened', 0);
    const { notification } = await until('review notification sent', async () => {
      const found = await h.client.getNotification({ lookup: { case: 'idempotencyKey', value: key } });
      return found.notification?.state === DeliveryState.SENT && found;
    });
    await until('events handled', async () => (await h.bus.queueDepth('pulse.notification.review-required')) === 0);
    expect(await byKey(key)).toHaveLength(1);
    expect(notification).toMatchObject({
      source: 'review',
      causeId: 'rev-open',
      priority: Priority.HIGH,
      notificationType: 'review.required',
      recipient: { target: { case: 'topic', value: 'review' } },
    });
    expect(notification!.deliveries).toHaveLength(1);
    expect(notification!.deliveries[0]).toMatchObject({ channel: Channel.IN_APP, address: 'reviewers', userId: 'reviewers' });
    const asked = h.preference.requests.filter((r) => r.notificationType === 'review.required');
    expect(asked.every((r) => r.routeKind === RouteKind.PRIMARY)).toBe(true);
  });

  it('sends an SLA breach to the escalation routes, at the severity\'s priority', async () => {
    await h.publish('review.required', reviewEvent({ reviewId: 'rev-late', notice: ReviewNotice.SLA_BREACHED, reminder: 1, severity: Severity.CRITICAL }));
    const key = reviewNotificationKey('rev-late', 'sla_breached', 1);
    const { notification } = await until('escalation sent', async () => {
      const found = await h.client.getNotification({ lookup: { case: 'idempotencyKey', value: key } });
      return found.notification?.state === DeliveryState.SENT && found;
    });
    expect(notification).toMatchObject({ priority: Priority.CRITICAL });
    // CRITICAL review cases follow the default ladder: the route's SMS now, and again as its step 2 if unread (step 1,
    // email, finds no email route).
    expect(notification!.deliveries.map((d) => [d.channel, d.escalationStep, DeliveryState[d.state]])).toEqual([
      [Channel.SMS, 0, 'SENT'],
      [Channel.SMS, 2, 'DEFERRED'],
    ]);
    expect(h.providers.get(Channel.SMS)!.calls.at(-1)).toMatchObject({ title: 'Review overdue: conversation c-1 (CRITICAL)', priority: Priority.CRITICAL });
    expect(h.preference.requests.some((r) => r.routeKind === RouteKind.ESCALATION)).toBe(true);
  });

  it('notifies the topic of an assistance request under the key ingestion gave the bot', async () => {
    const event = create(AssistanceRequestedSchema, {
      eventId: 'evt-assist-1',
      requestId: 'req-1',
      topic: 'sales',
      description: 'Wants 500 seats',
      botId: 'bot-7',
      customerId: 'cust-3',
      conversationId: 'c-9',
      priority: Priority.HIGH,
    });
    await h.publish('assistance.requested', event);
    await h.publish('assistance.requested', { ...event, eventId: 'evt-assist-1-again' });
    const { notification } = await until('assistance sent', async () => {
      const found = await h.client.getNotification({ lookup: { case: 'idempotencyKey', value: assistanceNotificationKey('req-1') } });
      return found.notification?.state === DeliveryState.SENT && found;
    });
    await until('events handled', async () => (await h.bus.queueDepth('pulse.notification.assistance-requested')) === 0);
    expect(await byKey(assistanceNotificationKey('req-1'))).toHaveLength(1);
    expect(notification).toMatchObject({ source: 'ingestion', causeId: 'req-1', notificationType: 'assistance.requested', priority: Priority.HIGH });
    expect(h.providers.get(Channel.SLACK)!.calls.filter((m) => m.notificationId === notification!.notificationId)).toEqual([
      expect.objectContaining({ address: '#sales', title: 'Assistance requested: sales', body: 'Wants 500 seats' }),
    ]);
  });

  it('asks preference for the plan before any store transaction opens, on the event and the RPC paths', async () => {
    h.preference.topics.set('billing', { primary: [{ channel: Channel.SLACK, address: '#billing' }] });
    h.preference.topics.set('support', { primary: [{ channel: Channel.SLACK, address: '#support' }] });
    const transactions = watchTransactions(h.store);
    const askedInside: string[] = [];
    const asked: string[] = [];
    h.preference.onResolve = (req) => {
      asked.push(req.notificationType);
      if (transactions.inside()) askedInside.push(req.notificationType);
    };
    try {
      await h.publish('review.required', reviewEvent({ reviewId: 'rev-plan', topic: 'billing' }));
      await h.publish('assistance.requested', create(AssistanceRequestedSchema, { eventId: 'evt-plan', requestId: 'req-plan', topic: 'support', description: 'help' }));
      await h.client.sendNotification({
        idempotencyKey: 'plan-first',
        recipient: { target: { case: 'userId', value: 'pat' } },
        notificationType: 'invoice.overdue',
        content: { title: 'Invoice overdue' },
      });
      for (const key of [reviewNotificationKey('rev-plan', 'opened', 0), assistanceNotificationKey('req-plan')]) {
        await until(`notification ${key}`, async () => (await byKey(key)).length === 1);
      }
    } finally {
      h.preference.onResolve = undefined;
      transactions.stop();
    }
    expect(asked).toEqual(expect.arrayContaining(['review.required', 'assistance.requested', 'invoice.overdue']));
    expect(askedInside).toEqual([]);
  });

  it('dead-letters an event for a topic without routes at once, to be replayed once a route exists', async () => {
    await h.publish(
      'assistance.requested',
      create(AssistanceRequestedSchema, { eventId: 'evt-lost', requestId: 'req-lost', topic: 'nowhere', description: 'help', botId: 'b' }),
    );
    const letter = await until('event in the DLQ', () => h.bus.peek('pulse.notification.dlq').find((d) => d.id === 'evt-lost'));
    expect(letter.headers[DEAD_LETTER_REASON_HEADER]).toContain('topic "nowhere" has no route');
    expect(await byKey(assistanceNotificationKey('req-lost'))).toHaveLength(0);
  });
});
