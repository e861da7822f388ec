import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { createClient, createRouterTransport } from '@connectrpc/connect';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Author,
  ConversationMoodSchema,
  EscalationSignal,
  SentimentSchema,
  SignalEvidenceSchema,
  Trend,
} from '../../gen/pulse/common/v1/conversation_pb.js';
import { ReviewState, Severity } from '../../gen/pulse/common/v1/review_pb.js';
import { ReviewNotice, type SentimentAnalyzed, SentimentAnalyzedSchema } from '../../gen/pulse/events/v1/events_pb.js';
import { ReviewService } from '../../gen/pulse/review/v1/review_service_pb.js';
import type { Consumer } from '../platform/bus/bus.js';
import { EmbeddedBus } from '../platform/bus/embedded.js';
import { newId } from '../platform/ids.js';
import { publish, record } from '../../test/support/events.js';
import { until } from '../../test/support/poll.js';
import { type TestPlatform, testPlatform } from '../../test/support/platform.js';
import { type CaseDoc, CaseRepository } from './cases.js';
import { analysisConsumer } from './consumer.js';
import { reviewHandlers } from './handlers.js';
import { CaseFeed } from './watch.js';
import { ReviewMetrics } from './metrics.js';
import { PolicyRepository } from './policies.js';

const { REFUND, CANCELLATION, LEGAL_THREAT } = EscalationSignal;
const MINUTE = 60_000;

let bus: EmbeddedBus;
let svc: TestPlatform;
let consumer: Consumer;
let cases: CaseRepository;
let required: Awaited<ReturnType<typeof record<'review.required'>>>;
let now: Date;
let client: ReturnType<typeof createClient<typeof ReviewService>>;
const handled = new Set<string>();

interface Analysis {
  compound?: number;
  signals?: EscalationSignal[];
  drop?: number;
  trend?: Trend;
  author?: Author;
}

function analysis(conversationId: string, a: Analysis = {}): SentimentAnalyzed {
  return create(SentimentAnalyzedSchema, {
    eventId: newId('evt'),
    occurredAt: timestampFromDate(now),
    causationId: newId('evt'),
    messageId: newId('msg'),
    conversationId,
    customerId: 'cust-1',
    agentId: 'agent-1',
    author: a.author ?? Author.CUSTOMER,
    sentiment: create(SentimentSchema, { compound: a.compound ?? 0, signals: a.signals ?? [] }),
    mood: create(ConversationMoodSchema, { drop: a.drop ?? 0, trend: a.trend ?? Trend.NEW, customerMessageCount: 4 }),
    writtenAt: timestampFromDate(now),
  });
}

/** Publishes the analyses and waits until the consumer handled each (the inbox records every handled event). */
async function deliver(...events: SentimentAnalyzed[]): Promise<void> {
  await Promise.all(events.map((e) => publish(bus, 'sentiment.analysis.complete', e)));
  await until('the analyses to be handled', async () => {
    for (const e of events) {
      if (handled.has(e.eventId)) continue;
      if (!(await svc.store.collection('inbox').findOne({ _id: `pulse.review.analyses:${e.eventId}` }))) return false;
      handled.add(e.eventId);
    }
    return true;
  });
}

async function casesOf(conversationId: string): Promise<CaseDoc[]> {
  return svc.store.collection<CaseDoc>('cases').find({ conversationId }, { sort: { _id: 1 } });
}

beforeEach(async () => {
  now = new Date('2025-03-01T09:00:00Z');
  bus = new EmbeddedBus();
  svc = await testPlatform('review', bus);
  cases = new CaseRepository(svc.store);
  await cases.init();
  const policies = new PolicyRepository(svc.store);
  const metrics = new ReviewMetrics(new Registry());
  consumer = await svc.consume(analysisConsumer({ cases, policies, metrics, log: svc.log, now: () => now }));
  required = await record(bus, 'review.required');
  const watch = { feed: new CaseFeed(cases, { pollMs: 50, overlapMs: 1_000, log: svc.log }), maxMs: 60_000 };
  const handlers = reviewHandlers({ cases, policies, transaction: svc.transaction, metrics, watch, now: () => now });
  client = createClient(ReviewService, createRouterTransport(({ service }) => service(ReviewService, handlers)));
});

afterEach(async () => {
  await consumer.cancel();
  await bus.close();
  await svc.store.close();
});

describe('filing amiss messages', () => {
  it('opens a case for an amiss customer message and announces it', async () => {
    const event = analysis('conv-1', { compound: -0.3, signals: [REFUND] });
    await deliver(event);
    const [opened] = await casesOf('conv-1');
    expect(opened).toMatchObject({ state: ReviewState.OPEN, severity: Severity.MEDIUM, messageIds: [event.messageId], topic: 'review' });
    expect(opened.slaDueAt).toEqual(new Date(now.getTime() + 240 * MINUTE));
    expect(opened.history).toEqual([
      { from: ReviewState.UNSPECIFIED, to: ReviewState.OPEN, actor: 'review', at: now, note: 'signals: refund' },
    ]);

    const [notice] = await until('review.required', () => required.length === 1 && required);
    expect(notice).toMatchObject({
      causationId: event.eventId,
      reviewId: opened._id,
      conversationId: 'conv-1',
      messageId: event.messageId,
      severity: Severity.MEDIUM,
      signals: [REFUND],
      summary: 'signals: refund',
      topic: 'review',
      notice: ReviewNotice.OPENED,
      reminder: 0,
    });
  });

  it('shows a reviewer the words behind each signal, message by message, and follows the signal weights', async () => {
    const first = analysis('conv-why', { signals: [REFUND] });
    first.sentiment!.evidence = [create(SignalEvidenceSchema, { signal: REFUND, text: 'money back', start: 9, end: 19 })];
    await deliver(first);
    const [opened] = await casesOf('conv-why');
    const second = analysis('conv-why', { signals: [CANCELLATION] });
    second.sentiment!.evidence = [create(SignalEvidenceSchema, { signal: CANCELLATION, text: 'cancel', start: 0, end: 6 })];
    await deliver(second);
    const { review } = await client.getReview({ reviewId: opened._id });
    expect(review?.reasons?.evidence.map((e) => [EscalationSignal[e.signal], e.text, e.start, e.end, e.messageId])).toEqual([
      ['REFUND', 'money back', 9, 19, first.messageId],
      ['CANCELLATION', 'cancel', 0, 6, second.messageId],
    ]);

    await client.updateReviewPolicy({
      policy: { signalWeights: [{ signal: REFUND, weight: 0.5 }] },
      updateMask: { paths: ['signal_weights'] },
    });
    await deliver(analysis('conv-half', { signals: [REFUND] }));
    expect(await casesOf('conv-half')).toEqual([]);
    await deliver(analysis('conv-half', { signals: [REFUND, CANCELLATION] }));
    expect(await casesOf('conv-half')).toHaveLength(1);
  });

  it('ignores agents, bots and messages the policy finds fine', async () => {
    await deliver(
      analysis('conv-2', { compound: -0.9, signals: [LEGAL_THREAT], author: Author.AGENT }),
      analysis('conv-2', { compound: -0.9, author: Author.BOT }),
      analysis('conv-2', { compound: -0.4 }),
      analysis('conv-2', { compound: 0.8, drop: 0.9, trend: Trend.NEW }),
    );
    expect(await casesOf('conv-2')).toEqual([]);
  });

  it('gathers later amiss messages during the cool-down instead of opening more cases', async () => {
    const first = analysis('conv-3', { compound: -0.6 });
    await deliver(first);
    now = new Date(now.getTime() + 20 * MINUTE);
    const second = analysis('conv-3', { compound: -0.2, signals: [CANCELLATION, REFUND] });
    await deliver(second);
    now = new Date(now.getTime() + 25 * MINUTE); // 45 min after opening, 25 after the last update
    const third = analysis('conv-3', { compound: -0.9, signals: [REFUND] });
    await deliver(third);

    const all = await casesOf('conv-3');
    expect(all).toHaveLength(1);
    expect(all[0].messageIds).toEqual([first.messageId, second.messageId, third.messageId]);
    expect(all[0].reasons).toMatchObject({ lowestScore: -0.9, signals: [CANCELLATION, REFUND] });
    expect(all[0].severity).toBe(Severity.HIGH);
    expect(all[0].updatedAt).toEqual(now);
    // A more severe case is due sooner: HIGH's hour from opening, not MEDIUM's four.
    expect(all[0].slaDueAt).toEqual(new Date(all[0].createdAt.getTime() + 60 * MINUTE));
    await until('the opening notice', () => required.length === 1);
    expect(required).toHaveLength(1);
  });

  it('never lowers a case severity', async () => {
    await deliver(analysis('conv-4', { compound: -0.1, signals: [LEGAL_THREAT] }));
    await deliver(analysis('conv-4', { compound: -0.55 }));
    const [only] = await casesOf('conv-4');
    expect(only.severity).toBe(Severity.CRITICAL);
    expect(only.messageIds).toHaveLength(2);
  });

  it('opens a new case once the cool-down passed or the case was closed', async () => {
    await deliver(analysis('conv-5', { compound: -0.7 }));
    now = new Date(now.getTime() + 31 * MINUTE);
    await deliver(analysis('conv-5', { compound: -0.7 }));
    const [, second] = await casesOf('conv-5');
    expect(second).toBeDefined();

    await client.claimReview({ reviewId: second._id, reviewer: 'ana' });
    await client.resolveReview({ reviewId: second._id, reviewer: 'ana', outcome: ReviewState.RESOLVED });
    await deliver(analysis('conv-5', { compound: -0.7 }));
    expect(await casesOf('conv-5')).toHaveLength(3);
    await until('three opening notices', () => required.length === 3);
  });

  it('lets a claimed case gather messages too (it is still being handled)', async () => {
    await deliver(analysis('conv-6', { compound: -0.7 }));
    const [opened] = await casesOf('conv-6');
    now = new Date(now.getTime() + 5 * MINUTE);
    await client.claimReview({ reviewId: opened._id, reviewer: 'ana' });
    await deliver(analysis('conv-6', { compound: -0.8 }));
    const [only] = await casesOf('conv-6');
    expect(only.messageIds).toHaveLength(2);
    expect(only.state).toBe(ReviewState.CLAIMED);
  });

  it('opens exactly one case when many amiss messages of a conversation arrive at once', async () => {
    const burst = Array.from({ length: 12 }, (_, i) => analysis('conv-7', { compound: -0.6 - i * 0.01, signals: i % 4 === 0 ? [REFUND] : [] }));
    await deliver(...burst);
    const all = await casesOf('conv-7');
    expect(all).toHaveLength(1);
    expect(new Set(all[0].messageIds)).toEqual(new Set(burst.map((e) => e.messageId)));
    expect(all[0].reasons.lowestScore).toBeCloseTo(-0.71);
    await until('the opening notice', () => required.length >= 1);
    expect(required.filter((r) => r.conversationId === 'conv-7')).toHaveLength(1);
    expect(await svc.store.collection('cases').countDocuments({})).toBe(1);
  });

  it('files a redelivered analysis once', async () => {
    const event = analysis('conv-8', { compound: -0.8 });
    await deliver(event);
    await deliver({ ...event, eventId: newId('evt') }); // the same message announced again
    const [only] = await casesOf('conv-8');
    expect(only.messageIds).toEqual([event.messageId]);
  });
});
