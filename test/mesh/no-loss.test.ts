// The mesh as six processes on RabbitMQ. First the two paths of the foundation work across processes; then, while
// a steady stream of interactions is submitted, the sentiment service is killed with SIGKILL and started again,
// and separately every broker connection is dropped. Afterwards each accepted interaction has exactly one
// analysis, each amiss one exactly one review case and one notification, and no queue holds anything.
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Author } from '../../gen/pulse/common/v1/conversation_pb.js';
import { Channel, DeliveryState } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { ReviewCase } from '../../gen/pulse/review/v1/review_service_pb.js';
import type { InboxItem } from '../../gen/pulse/status/v1/status_service_pb.js';
import { describeBroker } from '../support/broker.js';
import { type MeshClients, meshClients } from '../support/clients.js';
import { until } from '../support/poll.js';
import { type IsolatedMesh, startIsolatedMesh } from './support.js';

const STREAM = { total: 300, perSecond: 20, amissEvery: 10, calmConversations: 15 };

describeBroker('mesh as separate processes on RabbitMQ', () => {
  let env: IsolatedMesh;
  let api: MeshClients;

  beforeAll(async () => {
    env = await startIsolatedMesh();
    api = meshClients(env.mesh.urls, env.mesh.token);
  }, 180_000);

  afterAll(async () => {
    await env?.stop();
  }, 60_000);

  it('carries the monitoring and assistance paths across processes', async () => {
    await api.ingestion.submitInteraction({
      messageId: 'mp-angry',
      conversationId: 'mp-conv',
      customerId: 'c',
      author: Author.CUSTOMER,
      text: 'Worst service ever. I am furious, I want my money back and I will cancel today!',
    });
    const review = await until(
      'a review case',
      async () => (await api.review.listReviews({})).reviews.find((r) => r.conversationId === 'mp-conv'),
      30_000,
    );
    const item = await until(
      'the in-app notification',
      async () => (await api.status.listInbox({ userId: 'reviewers' })).items.find((i) => i.data.review_id === review.reviewId),
      30_000,
    );
    const { status } = await api.status.getStatus({ notificationId: item.notificationId });
    expect(status!.state).toBe(DeliveryState.DELIVERED);

    await api.ingestion.requestAssistance({ requestId: 'mp-sales', topic: 'sales', description: 'Upsell opportunity', botId: 'bot' });
    const notification = await until('the sales notification to be sent', async () => {
      const { notification } = await api.notification.getNotification({ lookup: { case: 'idempotencyKey', value: 'assistance/mp-sales' } });
      return notification?.deliveries[0]?.state === DeliveryState.SENT && notification;
    }, 30_000);
    expect(notification.deliveries[0].channel).toBe(Channel.SLACK);
  }, 90_000);

  it('loses nothing and does nothing twice through kill -9 and a broker connection drop', async () => {
    const accepted = new Set<string>();
    const amiss = new Set<string>();
    let refusals = 0;
    const submit = async (i: number) => {
      const isAmiss = i % STREAM.amissEvery === 0;
      const messageId = `stream-${i}`;
      const conversationId = isAmiss ? `amiss-${i}` : `calm-${i % STREAM.calmConversations}`;
      const text = isAmiss
        ? 'This is the third time I am asking. Awful, useless support. Refund me or I cancel my account!'
        : 'Thanks, that helps a lot. Have a nice day!';
      // A client that keeps trying until Pulse accepts, as a chat platform would; repeats are deduplicated by id.
      for (let attempt = 1; attempt <= 60; attempt++) {
        try {
          await api.ingestion.submitInteraction({ messageId, conversationId, customerId: 'c', author: Author.CUSTOMER, text });
          accepted.add(messageId);
          if (isAmiss) amiss.add(conversationId);
          return;
        } catch (err) {
          const code = ConnectError.from(err).code;
          if (code !== Code.Unavailable && code !== Code.DeadlineExceeded && code !== Code.Unknown) throw err;
          refusals++;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      throw new Error(`${messageId} never accepted`);
    };

    const started = Date.now();
    const pending: Promise<void>[] = [];
    const faults = (async () => {
      await until('a fifth of the stream accepted', () => accepted.size >= STREAM.total * 0.2, 120_000);
      await env.mesh.kill('sentiment'); // SIGKILL: messages in hand are never acked
      await until('35% of the stream accepted', () => accepted.size >= STREAM.total * 0.35, 120_000);
      await env.mesh.startService('sentiment');
      await until('60% of the stream accepted', () => accepted.size >= STREAM.total * 0.6, 120_000);
      await env.dropBrokerConnections();
    })();
    for (let i = 1; i <= STREAM.total; i++) {
      pending.push(submit(i));
      const due = started + (i * 1000) / STREAM.perSecond;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
    }
    await Promise.all(pending);
    await faults;

    const conversations = [...Array.from({ length: STREAM.calmConversations }, (_, i) => `calm-${i}`), ...amiss];
    const analysed = async () => {
      let total = 0;
      for (const conversationId of conversations) {
        const found = await api.sentiment.getConversationSentiment({ conversationId }).catch(() => undefined);
        total += found?.conversation?.mood?.customerMessageCount ?? 0;
      }
      return total;
    };
    await until('every interaction analysed', async () => (await analysed()) >= accepted.size, 90_000);
    const cases = async () => (await allReviews(api)).filter((r) => amiss.has(r.conversationId));
    await until('a case per amiss conversation', async () => (await cases()).length >= amiss.size, 60_000);
    const reviewIds = new Set((await cases()).map((r) => r.reviewId));
    const notices = async () => (await allInbox(api, 'reviewers')).filter((i) => reviewIds.has(i.data.review_id));
    await until('a notification per case', async () => (await notices()).length >= reviewIds.size, 60_000);
    await until('every queue to drain', async () => {
      const depths = await env.queueDepths();
      return Object.entries(depths).every(([, n]) => n === 0) && depths;
    }, 60_000);

    const finalAnalysed = await analysed();
    const finalCases = await cases();
    const finalNotices = await notices();
    const counts = {
      submitted: STREAM.total,
      accepted: accepted.size,
      refusedWhileDown: refusals,
      analysed: finalAnalysed,
      amiss: amiss.size,
      cases: finalCases.length,
      notifications: finalNotices.length,
      duplicates:
        finalAnalysed - accepted.size + (finalCases.length - amiss.size) + (finalNotices.length - new Set(finalNotices.map((i) => i.data.review_id)).size),
      lost: accepted.size - Math.min(finalAnalysed, accepted.size) + (amiss.size - Math.min(finalCases.length, amiss.size)),
      seconds: Math.round((Date.now() - started) / 1000),
    };
    console.log(`no-loss counts: ${JSON.stringify(counts)}`);
    expect(counts.accepted).toBe(STREAM.total);
    expect(finalAnalysed).toBe(accepted.size);
    expect(finalCases).toHaveLength(amiss.size);
    expect(new Set(finalCases.map((r) => r.conversationId)).size).toBe(amiss.size);
    expect(finalNotices).toHaveLength(finalCases.length);
    expect(counts.duplicates).toBe(0);
    expect(counts.lost).toBe(0);
    const depths = await env.queueDepths();
    expect(Object.values(depths).every((n) => n === 0)).toBe(true);
  }, 300_000);
});

async function allReviews(api: MeshClients): Promise<ReviewCase[]> {
  const all: ReviewCase[] = [];
  let pageToken = '';
  do {
    const page = await api.review.listReviews({ pageSize: 200, pageToken });
    all.push(...page.reviews);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return all;
}

async function allInbox(api: MeshClients, userId: string): Promise<InboxItem[]> {
  const all: InboxItem[] = [];
  let pageToken = '';
  do {
    const page = await api.status.listInbox({ userId, pageSize: 200, pageToken });
    all.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return all;
}
