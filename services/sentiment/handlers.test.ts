import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, createClient, createRouterTransport } from '@connectrpc/connect';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Author, EscalationSignal, SentimentLabel, Trend } from '../../gen/pulse/common/v1/conversation_pb.js';
import { type InteractionReceived, InteractionReceivedSchema } from '../../gen/pulse/events/v1/events_pb.js';
import { SentimentService } from '../../gen/pulse/sentiment/v1/sentiment_service_pb.js';
import type { Consumer } from '../platform/bus/bus.js';
import { EmbeddedBus } from '../platform/bus/embedded.js';
import { newId } from '../platform/ids.js';
import { AnalysisRepository } from './analyses.js';
import { vaderAnalyzer } from './analyzer.js';
import { interactionConsumer } from './consumer.js';
import { ConversationRepository } from './conversations.js';
import { sentimentHandlers } from './handlers.js';
import { SentimentMetrics } from './metrics.js';
import { publish, record } from '../../test/support/events.js';
import { until } from '../../test/support/poll.js';
import { rejectionOf } from '../../test/support/rejection.js';
import { type TestPlatform, testPlatform } from '../../test/support/platform.js';

let bus: EmbeddedBus;
let svc: TestPlatform;
let consumer: Consumer;
let analyzed: Awaited<ReturnType<typeof record<'sentiment.analysis.complete'>>>;
let client: ReturnType<typeof createClient<typeof SentimentService>>;
let clock = Date.UTC(2025, 2, 1, 9, 0, 0);

function interaction(conversationId: string, author: Author, text: string, init: Partial<InteractionReceived> = {}): InteractionReceived {
  clock += 1_000;
  return create(InteractionReceivedSchema, {
    eventId: newId('evt'),
    occurredAt: timestampFromDate(new Date(clock)),
    messageId: newId('msg'),
    conversationId,
    customerId: 'cust-1',
    agentId: 'agent-7',
    author,
    channel: 'chat',
    text,
    writtenAt: timestampFromDate(new Date(clock)),
    ...init,
  });
}

beforeEach(async () => {
  bus = new EmbeddedBus();
  svc = await testPlatform('sentiment', bus);
  const analyzer = vaderAnalyzer();
  const analyses = new AnalysisRepository(svc.store);
  await analyses.init();
  const conversations = new ConversationRepository(svc.store);
  consumer = await svc.consume(interactionConsumer({ analyzer, analyses, conversations, metrics: new SentimentMetrics(new Registry()) }));
  analyzed = await record(bus, 'sentiment.analysis.complete');
  const handlers = sentimentHandlers({ analyzer, conversations });
  client = createClient(SentimentService, createRouterTransport(({ service }) => service(SentimentService, handlers)));
});

afterEach(async () => {
  await consumer.cancel();
  await bus.close();
  await svc.store.close();
});

describe('Analyze', () => {
  it('scores a text and names its signals', async () => {
    const { sentiment } = await client.analyze({ text: "I have been waiting three weeks for my refund, this is the last time I'm asking" });
    expect(sentiment?.label).toBe(SentimentLabel.NEUTRAL);
    expect(sentiment?.signals).toEqual([EscalationSignal.REFUND, EscalationSignal.REPEATED_CONTACT]);
    const happy = await client.analyze({ text: 'this is insanely good' });
    expect(happy.sentiment?.label).toBe(SentimentLabel.POSITIVE);
    expect(happy.sentiment?.signals).toEqual([]);
    const s = happy.sentiment!;
    expect(s.positive + s.neutral + s.negative).toBeCloseTo(1, 2);
  });

  it('rejects an empty, blank or over-long text naming the field', async () => {
    for (const text of ['', '   ', 'x'.repeat(10_001)]) {
      const err = await rejectionOf(client.analyze({ text }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(/^text: /);
    }
  });
});

describe('AnalyzeBatch', () => {
  it('scores 500 texts in request order', async () => {
    const texts = Array.from({ length: 500 }, (_, i) => (i % 2 === 0 ? 'great service' : 'awful service, I want a refund'));
    const { sentiments } = await client.analyzeBatch({ texts });
    expect(sentiments).toHaveLength(500);
    expect(sentiments.every((s, i) => (i % 2 === 0 ? s.compound > 0 && s.signals.length === 0 : s.compound < 0 && s.signals[0] === EscalationSignal.REFUND))).toBe(true);
  });

  it('rejects an empty or oversized batch, and names each bad item', async () => {
    expect((await rejectionOf(client.analyzeBatch({ texts: [] }))).rawMessage).toBe('texts: must not be empty');
    const tooMany = await rejectionOf(client.analyzeBatch({ texts: Array.from({ length: 501 }, () => 'ok') }));
    expect(tooMany.code).toBe(Code.InvalidArgument);
    expect(tooMany.rawMessage).toMatch(/^texts: must have at most 500 items/);
    const bad = await rejectionOf(client.analyzeBatch({ texts: ['fine', 'fine', ' ', 'y'.repeat(10_001)] }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toContain('texts[2]: must not be blank');
    expect(bad.rawMessage).toContain('texts[3]: must be at most 10000 characters');
  });
});

describe('GetConversationSentiment', () => {
  it('is not_found, naming the conversation, before any customer message of it was analysed', async () => {
    const err = await rejectionOf(client.getConversationSentiment({ conversationId: 'conv-unknown' }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toContain('"conv-unknown"');

    await publish(bus, 'customer.interaction.new', interaction('conv-agent-only', Author.AGENT, 'Hi, how can I help?'));
    await until('the agent message to be analysed', () => analyzed.length === 1);
    expect((await rejectionOf(client.getConversationSentiment({ conversationId: 'conv-agent-only' }))).code).toBe(Code.NotFound);
  });

  it('rejects a missing conversation_id', async () => {
    const err = await rejectionOf(client.getConversationSentiment({ conversationId: '' }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe('conversation_id: is required');
  });
});

describe('the interactions consumer', () => {
  it('follows a conversation that turns sour and announces each analysis', async () => {
    const script: [Author, string][] = [
      [Author.CUSTOMER, 'Hi! I love the app, quick question about my invoice.'],
      [Author.AGENT, 'Happy to help! What would you like to know?'],
      [Author.CUSTOMER, 'Thanks, that is great. The amount looks a bit higher than usual.'],
      [Author.CUSTOMER, 'Ok, nice, thank you.'],
      [Author.CUSTOMER, 'Wait, you charged me twice?! This is terrible. I want a refund now.'],
      [Author.CUSTOMER, 'This is the worst, most useless service ever. Cancel my account.'],
    ];
    const events = script.map(([author, text]) => interaction('conv-sour', author, text));
    for (const event of events) {
      await publish(bus, 'customer.interaction.new', event);
      await until(`analysis of ${event.messageId}`, () => analyzed.some((a) => a.messageId === event.messageId));
    }

    const last = analyzed.at(-1)!;
    expect(last.causationId).toBe(events.at(-1)!.eventId);
    expect(last.conversationId).toBe('conv-sour');
    expect(last.author).toBe(Author.CUSTOMER);
    expect(last.sentiment?.signals).toContain(EscalationSignal.CANCELLATION);
    expect(last.sentiment?.signals).toContain(EscalationSignal.SHARP_DROP);
    // The event carries why: the words of each signal at their offsets, none for the conversation's drop.
    const lastText = script.at(-1)![1];
    expect(last.sentiment?.language).toBe('en');
    expect(last.sentiment?.evidence.map((e) => e.signal)).toEqual(last.sentiment?.signals);
    const cancellation = last.sentiment?.evidence.find((e) => e.signal === EscalationSignal.CANCELLATION);
    expect(cancellation?.text).toBe('Cancel');
    expect(lastText.slice(cancellation!.start, cancellation!.end)).toBe(cancellation?.text);
    expect(last.sentiment?.evidence.find((e) => e.signal === EscalationSignal.SHARP_DROP)?.text).toBe('');
    expect(last.mood?.trend).toBe(Trend.WORSENING);
    expect(last.mood?.customerMessageCount).toBe(5);
    expect(analyzed.find((a) => a.author === Author.AGENT)?.mood?.customerMessageCount).toBe(1);

    const { conversation } = await client.getConversationSentiment({ conversationId: 'conv-sour' });
    expect(conversation?.mood?.customerMessageCount).toBe(5);
    expect(conversation?.mood?.drop).toBeGreaterThan(0.5);
    expect(conversation?.signalsSeen).toEqual([
      EscalationSignal.CANCELLATION,
      EscalationSignal.REFUND,
      EscalationSignal.ABUSIVE_LANGUAGE,
      EscalationSignal.SHARP_DROP,
      EscalationSignal.BILLING_DISPUTE,
      EscalationSignal.SOURING,
      EscalationSignal.FRUSTRATION,
    ]);
    expect(conversation?.recentMessages.map((m) => m.messageId)).toEqual(events.map((e) => e.messageId));
    expect(conversation?.recentMessages[1].author).toBe(Author.AGENT);
  });

  it('analyses a message once, however often it arrives', async () => {
    const first = interaction('conv-dup', Author.CUSTOMER, 'I want to speak to a manager');
    await publish(bus, 'customer.interaction.new', first);
    await publish(bus, 'customer.interaction.new', first); // redelivered
    await publish(bus, 'customer.interaction.new', { ...first, eventId: newId('evt') }); // same message, new event
    const marker = interaction('conv-dup', Author.CUSTOMER, 'Thanks');
    await publish(bus, 'customer.interaction.new', marker);
    await until('the marker message to be analysed', () => analyzed.some((a) => a.messageId === marker.messageId));
    await until('the queue to settle', async () => (await bus.queueDepth('pulse.sentiment.interactions')) === 0);

    expect(analyzed.filter((a) => a.messageId === first.messageId)).toHaveLength(1);
    const { conversation } = await client.getConversationSentiment({ conversationId: 'conv-dup' });
    expect(conversation?.mood?.customerMessageCount).toBe(2);
    expect(conversation?.recentMessages).toHaveLength(2);
  });

  it('loses no update when many messages of one conversation are analysed at once', async () => {
    const events = Array.from({ length: 40 }, (_, i) => interaction('conv-busy', Author.CUSTOMER, i % 3 === 0 ? 'meh' : 'good, thanks'));
    await Promise.all(events.map((e) => publish(bus, 'customer.interaction.new', e)));
    await until('all 40 analyses', () => analyzed.filter((a) => a.conversationId === 'conv-busy').length === 40);

    const { conversation } = await client.getConversationSentiment({ conversationId: 'conv-busy' });
    expect(conversation?.mood?.customerMessageCount).toBe(40);
    expect(new Set(conversation?.recentMessages.map((m) => m.messageId)).size).toBe(40);
    const counts = analyzed.filter((a) => a.conversationId === 'conv-busy').map((a) => a.mood?.customerMessageCount);
    expect(new Set(counts).size).toBe(40); // every message saw a different state of the conversation
  });

  it('stores scores and signals, never the text', async () => {
    const event = interaction('conv-private', Author.CUSTOMER, 'my card 4111 1111 1111 1111 was charged twice, refund it');
    await publish(bus, 'customer.interaction.new', event);
    await until('the analysis', () => analyzed.length === 1);
    const stored = JSON.stringify([
      await svc.store.collection('analyses').find({}),
      await svc.store.collection('conversations').find({}),
    ]);
    expect(stored).not.toContain('4111');
    expect(stored).not.toContain('charged twice');
  });
});
