// The monitoring flow through both services on one embedded bus: InteractionReceived -> sentiment's consumer ->
// SentimentAnalyzed -> review's consumer -> a case and review.required. Then the SLA scheduler on that case.
import { create } from '@bufbuild/protobuf';
import { durationFromMs, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { createClient, createRouterTransport } from '@connectrpc/connect';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Author, EscalationSignal } from '../../gen/pulse/common/v1/conversation_pb.js';
import { ReviewState, Severity } from '../../gen/pulse/common/v1/review_pb.js';
import { InteractionReceivedSchema, ReviewNotice } from '../../gen/pulse/events/v1/events_pb.js';
import { ReviewService } from '../../gen/pulse/review/v1/review_service_pb.js';
import type { Consumer } from '../platform/bus/bus.js';
import { EmbeddedBus } from '../platform/bus/embedded.js';
import { newId } from '../platform/ids.js';
import { AnalysisRepository } from '../sentiment/analyses.js';
import { vaderAnalyzer } from '../sentiment/analyzer.js';
import { interactionConsumer } from '../sentiment/consumer.js';
import { ConversationRepository } from '../sentiment/conversations.js';
import { SentimentMetrics } from '../sentiment/metrics.js';
import { publish, record } from '../../test/support/events.js';
import { until } from '../../test/support/poll.js';
import { type TestPlatform, testPlatform } from '../../test/support/platform.js';
import { CaseRepository } from './cases.js';
import { analysisConsumer } from './consumer.js';
import { reviewHandlers } from './handlers.js';
import { CaseFeed } from './watch.js';
import { ReviewMetrics } from './metrics.js';
import { PolicyRepository } from './policies.js';
import { SlaReminders } from './reminders.js';

let bus: EmbeddedBus;
let sentiment: TestPlatform;
let review: TestPlatform;
let consumers: Consumer[];
let cases: CaseRepository;
let policies: PolicyRepository;
let metrics: ReviewMetrics;
let client: ReturnType<typeof createClient<typeof ReviewService>>;
let analyzed: Awaited<ReturnType<typeof record<'sentiment.analysis.complete'>>>;
let required: Awaited<ReturnType<typeof record<'review.required'>>>;
let written = Date.UTC(2025, 2, 1, 9, 0, 0);

async function say(conversationId: string, author: Author, text: string): Promise<string> {
  written += 30_000;
  const event = create(InteractionReceivedSchema, {
    eventId: newId('evt'),
    occurredAt: timestampFromDate(new Date(written)),
    messageId: newId('msg'),
    conversationId,
    customerId: `cust-${conversationId}`,
    agentId: 'agent-3',
    author,
    channel: 'chat',
    text,
    writtenAt: timestampFromDate(new Date(written)),
  });
  await publish(bus, 'customer.interaction.new', event);
  // Messages of a chat arrive one after another; wait for each to be through both services.
  await until(`message ${event.messageId} through review`, async () => {
    const analysis = analyzed.find((a) => a.messageId === event.messageId);
    return analysis && (await review.store.collection('inbox').findOne({ _id: `pulse.review.analyses:${analysis.eventId}` }));
  });
  return event.messageId;
}

beforeEach(async () => {
  bus = new EmbeddedBus();
  sentiment = await testPlatform('sentiment', bus);
  review = await testPlatform('review', bus);
  const analyses = new AnalysisRepository(sentiment.store);
  await analyses.init();
  cases = new CaseRepository(review.store);
  await cases.init();
  policies = new PolicyRepository(review.store);
  metrics = new ReviewMetrics(new Registry());
  analyzed = await record(bus, 'sentiment.analysis.complete');
  required = await record(bus, 'review.required');
  consumers = [
    await review.consume(analysisConsumer({ cases, policies, metrics, log: review.log })),
    await sentiment.consume(
      interactionConsumer({
        analyzer: vaderAnalyzer(),
        analyses,
        conversations: new ConversationRepository(sentiment.store),
        metrics: new SentimentMetrics(new Registry()),
      }),
    ),
  ];
  const watch = { feed: new CaseFeed(cases, { pollMs: 50, overlapMs: 1_000, log: review.log }), maxMs: 60_000 };
  const handlers = reviewHandlers({ cases, policies, transaction: review.transaction, metrics, watch });
  client = createClient(ReviewService, createRouterTransport(({ service }) => service(ReviewService, handlers)));
});

afterEach(async () => {
  for (const consumer of consumers) await consumer.cancel();
  await bus.close();
  await sentiment.store.close();
  await review.store.close();
});

describe('conversation monitoring', () => {
  it('opens one case, with the right reasons, for a conversation that starts calm and turns sour', async () => {
    await say('c-sour', Author.CUSTOMER, 'Hi there! Loving the new app, just a quick question about my bill.');
    await say('c-sour', Author.AGENT, 'Hello! Happy to help, what is the question?');
    await say('c-sour', Author.CUSTOMER, 'Thanks! Why is this month a bit higher than usual?');
    await say('c-sour', Author.AGENT, 'I see a second charge, let me check with billing. This may take a while.');
    await say('c-sour', Author.CUSTOMER, 'Ok, thank you, appreciate it.');
    const sour1 = await say('c-sour', Author.CUSTOMER, "I have been waiting three weeks for my refund, this is the last time I'm asking");
    const sour2 = await say('c-sour', Author.CUSTOMER, 'This is ridiculous and awful. Cancel my subscription, you are useless.');
    await say('c-sour', Author.AGENT, 'I am so sorry, I have escalated this to billing.');
    const sour3 = await say('c-sour', Author.CUSTOMER, 'Terrible. I want to speak to a manager NOW!!!');

    const { reviews } = await client.listReviews({});
    expect(reviews).toHaveLength(1);
    const [c] = reviews;
    expect(c.conversationId).toBe('c-sour');
    expect(c.state).toBe(ReviewState.OPEN);
    expect(c.messageIds).toEqual([sour1, sour2, sour3]);
    expect(c.reasons?.signals).toEqual(
      expect.arrayContaining([
        EscalationSignal.CANCELLATION,
        EscalationSignal.REFUND,
        EscalationSignal.REPEATED_CONTACT,
        EscalationSignal.ABUSIVE_LANGUAGE,
        EscalationSignal.HUMAN_REQUEST,
      ]),
    );
    expect(c.reasons?.lowestScore).toBeLessThanOrEqual(-0.5);
    expect(c.reasons?.summary).toMatch(/^score -0\.\d\d <= -0\.50; signals: .*refund/);
    expect(c.severity).toBe(Severity.CRITICAL);

    await until('the opening notice', () => required.length >= 1);
    expect(required).toHaveLength(1);
    expect(required[0]).toMatchObject({ reviewId: c.reviewId, notice: ReviewNotice.OPENED, messageId: sour1, topic: 'review' });
    // The notice is caused by the analysis of the message that opened the case.
    expect(required[0].causationId).toBe(analyzed.find((a) => a.messageId === sour1)?.eventId);
  });

  it('opens no case for a friendly conversation, even one with strong words', async () => {
    await say('c-kind', Author.CUSTOMER, 'Hey, quick one: can I change the delivery address on my order?');
    await say('c-kind', Author.AGENT, 'Of course! Done, it will go to the new address.');
    await say('c-kind', Author.CUSTOMER, 'this is insanely good, thanks so much 😂');
    await say('c-kind', Author.CUSTOMER, "I don't want to cancel, I love it. You guys are awesome!");
    await say('c-kind', Author.BOT, 'Glad to help! Anything else? If you want a refund later, just ask.');
    await say('c-kind', Author.CUSTOMER, 'No, all good. Have a great day :)');

    expect((await client.listReviews({})).reviews).toEqual([]);
    expect(analyzed.filter((a) => a.conversationId === 'c-kind')).toHaveLength(6);
  });
});

describe('SLA re-notification', () => {
  it('reminds once per breach, whichever replica gets there, until someone claims the case', async () => {
    await client.updateReviewPolicy({
      policy: { slas: [{ severity: Severity.HIGH, openFor: durationFromMs(1_000) }] },
      updateMask: { paths: ['slas'] },
    });
    await say('c-sla', Author.CUSTOMER, 'Three weeks and still no refund. Awful.');
    const [c] = (await client.listReviews({})).reviews;
    expect(c.severity).toBe(Severity.HIGH);

    // Two replicas of the scheduler, sharing the store, on a clock the test moves.
    let now = new Date();
    const replica = () =>
      new SlaReminders({ cases, policies, transaction: review.transaction, metrics, log: review.log, intervalMs: 60_000, now: () => now });
    const [a, b] = [replica(), replica()];
    const reminders = () => required.filter((r) => r.notice === ReviewNotice.SLA_BREACHED);

    expect(await a.tick()).toBe(0); // not due yet
    now = new Date(now.getTime() + 1_500);
    const sent = await Promise.all([a.tick(), b.tick()]);
    expect(sent.sort()).toEqual([0, 1]);
    expect(await a.tick()).toBe(0);
    expect(await b.tick()).toBe(0);

    now = new Date(now.getTime() + 1_000);
    expect((await Promise.all([a.tick(), b.tick()])).reduce((x, y) => x + y)).toBe(1);

    await until('two reminders', () => reminders().length === 2);
    expect(reminders().map((r) => [r.reviewId, r.reminder, r.topic, r.causationId])).toEqual([
      [c.reviewId, 1, 'review', ''],
      [c.reviewId, 2, 'review', ''],
    ]);
    const { review: reminded } = await client.getReview({ reviewId: c.reviewId });
    expect(reminded?.reminderCount).toBe(2);
    expect(reminded?.updatedAt).toEqual(c.updatedAt); // reminders do not count as activity

    await client.claimReview({ reviewId: c.reviewId, reviewer: 'ana' });
    now = new Date(now.getTime() + 60_000);
    expect(await a.tick()).toBe(0);
  });

  it('runs on its own once started, and stops', async () => {
    await client.updateReviewPolicy({
      policy: { slas: [{ severity: Severity.CRITICAL, openFor: durationFromMs(1_000) }] },
      updateMask: { paths: ['slas'] },
    });
    await say('c-timer', Author.CUSTOMER, "I'm calling my lawyer.");
    const scheduler = new SlaReminders({ cases, policies, transaction: review.transaction, metrics, log: review.log, intervalMs: 50 });
    scheduler.start();
    try {
      await until('the first reminder', () => required.some((r) => r.notice === ReviewNotice.SLA_BREACHED), 5_000);
    } finally {
      await scheduler.stop();
    }
    const [c] = (await client.listReviews({})).reviews;
    expect(c.reminderCount).toBeGreaterThanOrEqual(1);
  });
});
