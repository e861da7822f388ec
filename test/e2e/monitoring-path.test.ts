// The first path through the whole mesh, embedded (one process, real HTTP on free ports): an angry customer
// message becomes a review case and an in-app notification that is DELIVERED; a friendly one opens nothing; bot
// requests are routed by their topic's routes.
import { Code } from '@connectrpc/connect';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Author, EscalationSignal } from '../../gen/pulse/common/v1/conversation_pb.js';
import { ReviewState } from '../../gen/pulse/common/v1/review_pb.js';
import { Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import { RouteKind } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { type Mesh, startMesh } from '../../services/all-in-one/mesh.js';
import { SERVICE_NAMES } from '../../services/platform/catalog.js';
import { type MeshClients, meshClients, metricValue } from '../support/clients.js';
import { until } from '../support/poll.js';
import { failureOf, rejectionOf } from '../support/rejection.js';

let mesh: Mesh;
let api: MeshClients;

beforeAll(async () => {
  mesh = await startMesh({ ports: 'free', env: { ...process.env, PULSE_API_TOKENS: undefined, LOG_LEVEL: 'warn' } });
  api = meshClients(mesh.urls, mesh.token);
});

afterAll(() => mesh?.stop());

/** Waits until review has handled n analyses in total, so "no case" is a fact and not a race. */
const reviewHandled = (n: number) =>
  until(
    `review to handle ${n} analyses`,
    async () => (await metricValue(mesh.urls.review, 'pulse_events_consumed_total', { queue: 'pulse.review.analyses' })) >= n,
  );

describe('conversation monitoring, end to end', () => {
  it('turns an angry customer message into a review case and a delivered in-app notification', async () => {
    const submitted = await api.ingestion.submitInteraction({
      messageId: 'e2e-angry-1',
      conversationId: 'e2e-conv-angry',
      customerId: 'cust-42',
      agentId: 'agent-7',
      author: Author.CUSTOMER,
      text: 'Worst service ever. Third time I write and I am furious: refund me NOW or I cancel today!',
    });
    expect(submitted.duplicate).toBe(false);

    const analysed = await until('the message to be scored', async () => {
      const { conversation } = await api.sentiment.getConversationSentiment({ conversationId: 'e2e-conv-angry' });
      return conversation;
    });
    expect(analysed.mood!.customerMessageCount).toBe(1);

    const review = await until('a review case', async () => {
      const { reviews } = await api.review.listReviews({ state: ReviewState.OPEN });
      return reviews.find((r) => r.conversationId === 'e2e-conv-angry');
    });
    expect(review.messageIds).toEqual(['e2e-angry-1']);
    expect(review.reasons!.lowestScore).toBeLessThanOrEqual(-0.5);
    expect(review.reasons!.signals).toEqual(expect.arrayContaining([EscalationSignal.REFUND, EscalationSignal.CANCELLATION]));

    const item = await until('the notification in the reviewers inbox', async () => {
      const { items } = await api.status.listInbox({ userId: 'reviewers' });
      return items.find((i) => i.data.review_id === review.reviewId);
    });
    expect(item.title).toContain('e2e-conv-angry');
    // The case notice never repeats the customer's words.
    expect([item.title, item.body, ...Object.values(item.data)].join(' ')).not.toContain('refund me NOW');

    const { status } = await api.status.getStatus({ notificationId: item.notificationId });
    expect(status!.state).toBe(DeliveryState.DELIVERED);
    expect(status!.deliveries).toHaveLength(1);
    expect(status!.deliveries[0]).toMatchObject({ channel: Channel.IN_APP, state: DeliveryState.DELIVERED, userId: 'reviewers' });
  });

  it('opens no case for a friendly conversation', async () => {
    const before = await metricValue(mesh.urls.review, 'pulse_events_consumed_total', { queue: 'pulse.review.analyses' });
    await api.ingestion.submitInteractions({
      interactions: [
        { messageId: 'e2e-happy-1', conversationId: 'e2e-conv-happy', customerId: 'cust-1', author: Author.CUSTOMER, text: 'Thanks so much, that fixed it! You are great :)' },
        { messageId: 'e2e-happy-2', conversationId: 'e2e-conv-happy', customerId: 'cust-1', author: Author.CUSTOMER, text: 'This is insanely good, love the new dashboard.' },
      ],
    });
    await reviewHandled(before + 2);
    const { reviews } = await api.review.listReviews({});
    expect(reviews.filter((r) => r.conversationId === 'e2e-conv-happy')).toEqual([]);
  });
});

describe('bot assistance, end to end', () => {
  it.each([
    ['sales', Channel.SLACK],
    ['pricing', Channel.EMAIL],
  ])('routes a %s request by the topic routes to its channel (console sink without a provider)', async (topic, channel) => {
    const requestId = `e2e-assist-${topic}`;
    const { request } = await api.ingestion.requestAssistance({ requestId, topic, description: 'Customer asks for a volume discount', botId: 'bot-1' });
    expect(request!.notificationIdempotencyKey).toBe(`assistance/${requestId}`);
    const notification = await until(`the ${topic} notification to be sent`, async () => {
      const { notification } = await api.notification.getNotification({ lookup: { case: 'idempotencyKey', value: `assistance/${requestId}` } });
      return notification?.deliveries.some((d) => d.state === DeliveryState.SENT) && notification;
    });
    expect(notification.deliveries.map((d) => [d.channel, d.provider])).toEqual([[channel, 'console']]);
    const { status } = await until('its status', () => api.status.getStatus({ notificationId: notification.notificationId }));
    expect(status!.deliveries[0]).toMatchObject({ channel, provider: 'console' });
  });

  it('answers an unknown topic with not_found naming it, until a route is added', async () => {
    const ask = () => api.ingestion.requestAssistance({ requestId: 'e2e-assist-legal', topic: 'legal', description: 'Contract question', botId: 'bot-1' });
    const err = await rejectionOf(ask());
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toMatch(/topic "legal".*known topics: .*pricing.*sales/);

    await api.preference.upsertTopicRoute({ route: { topic: 'legal', channel: Channel.IN_APP, target: 'legal-team', kind: RouteKind.PRIMARY } });
    const { request, duplicate } = await ask();
    expect(duplicate).toBe(false);
    const item = await until('the legal team inbox item', async () => (await api.status.listInbox({ userId: 'legal-team' })).items[0]);
    expect(item.data.request_id).toBe(request!.requestId);
    const again = await ask();
    expect(again.duplicate).toBe(true);
  });
});

describe('operations', () => {
  it('keeps in-memory bookkeeping and settled notifications for minutes, not the hour, week and month a database keeps them', () => {
    for (const name of SERVICE_NAMES) {
      expect({ name, ...mesh.services[name].runtime.platform.retention }).toEqual({ name, outboxSeconds: 60, inboxSeconds: 120 });
    }
    expect(mesh.services.notification.runtime.config).toMatchObject({ historySeconds: 300 });
    expect(mesh.services.status.runtime.config).toMatchObject({ historySeconds: 300 });
  });

  it('reports every service ready, and serves health over gRPC without a token', async () => {
    for (const name of SERVICE_NAMES) {
      const res = await fetch(`${mesh.urls[name]}/readyz`);
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
    }
    const definition = protoLoader.loadSync('grpc/health/v1/health.proto', { includeDirs: ['proto'], enums: String });
    const { grpc: g } = grpc.loadPackageDefinition(definition) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
    const health = new g.health.v1.Health(mesh.urls.status.replace('http://', ''), grpc.credentials.createInsecure());
    const status = await new Promise<{ status: string }>((resolve, reject) =>
      (health as unknown as { check: Function }).check({ service: 'pulse.status.v1.StatusService' }, (err: Error | null, res: { status: string }) =>
        err ? reject(err) : resolve(res),
      ),
    );
    health.close();
    expect(status.status).toBe('SERVING');
  });

  it('rejects bad input on every service with invalid_argument naming the field', async () => {
    expect(await failureOf(api.sentiment.analyze({ text: '' }))).toMatch(/^InvalidArgument: text: is required/);
    expect(await failureOf(api.review.claimReview({ reviewId: '', reviewer: 'ann' }))).toMatch(/^InvalidArgument: review_id/);
    expect(await failureOf(api.preference.getPreferences({ userId: '' }))).toMatch(/^InvalidArgument: user_id/);
    expect(await failureOf(api.notification.sendNotification({ idempotencyKey: 'k', notificationType: 'x' }))).toMatch(/^InvalidArgument: .*recipient/);
    expect(await failureOf(api.status.getStatus({ notificationId: '' }))).toMatch(/^InvalidArgument: notification_id/);
  });
});
