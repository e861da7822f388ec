// One trace across the mesh: the six services run as separate processes on RabbitMQ (each loaded with
// telemetry-register.ts, as in production) and export OTLP/JSON to a receiver in this test. One angry chat message,
// carrying recognisable personal data, goes the whole monitoring path, and the spans that arrive must
//   - form one trace, with spans of all six services, in the order of the path (parent/child across the broker),
//   - carry the RPC, messaging and business-id attributes SREs search by,
//   - show that auto-instrumentation works in these ES-module processes (http and amqplib spans; pino's log
//     correlation, which only the ESM loader hook makes possible, since the services `import` pino),
//   - and contain none of the personal data anywhere (span, event, link or resource attributes, names, statuses).
// The log lines written while handling the message carry the same trace id, and the span id of the span that
// wrote them. A second message, a bot's assistance request, goes out to Slack (a stand-in) over HTTP: the provider
// call is a span of its trace, and what was posted (the personal data included) is not in it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Author } from '../../gen/pulse/common/v1/conversation_pb.js';
import type { InboxItem } from '../../gen/pulse/status/v1/status_service_pb.js';
import { type IsolatedMesh, startIsolatedMesh } from '../mesh/support.js';
import { describeBroker } from '../support/broker.js';
import { type MeshClients, meshClients } from '../support/clients.js';
import { until, untilAccepted } from '../support/poll.js';
import { type SlackStandIn, startSlackStandIn } from '../support/slack-standin.js';
import { Kind, type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './otlp-receiver.js';

const RUN = Date.now().toString(36);
/** Personal data that must never leave a process in telemetry. */
const PERSONAL = {
  email: `zed.quill.${RUN}@example.org`,
  phone: '+1 (555) 014-7392',
  sentence: `The copper heron ${RUN} sings at the harbour gate`,
};
const MESSAGE = {
  messageId: `trace-msg-${RUN}`,
  conversationId: `trace-conv-${RUN}`,
  // Client systems use what ids they have; an email address or a phone number as an id is personal data too.
  customerId: PERSONAL.email,
  agentId: '+15550147392',
  author: Author.CUSTOMER,
  text: `Worst service ever, I am furious! Refund me now or I cancel today. ${PERSONAL.sentence}. Call ${PERSONAL.phone} or write to ${PERSONAL.email}.`,
};
const MARKERS = [PERSONAL.email, 'zed.quill', PERSONAL.phone, '014-7392', '5550147392', PERSONAL.sentence, 'copper heron', 'furious', 'Refund me'];

const SERVICES = ['ingestion', 'sentiment', 'review', 'preference', 'notification', 'status'].map((s) => `pulse-${s}`);
const AMQPLIB = '@opentelemetry/instrumentation-amqplib';
const HTTP = '@opentelemetry/instrumentation-http';

describeBroker('one trace across the mesh processes (OTLP)', () => {
  let receiver: OtlpReceiver;
  let slack: SlackStandIn;
  let env: IsolatedMesh;
  let api: MeshClients;

  /** No marker of personal data in any request the receiver got (searched as text) or any line the mesh logged. */
  const expectNoPersonalData = () => {
    expect(receiver.bodies.length).toBeGreaterThan(0);
    const exported = receiver.bodies.join('\n');
    const logged = env.logs.join('\n');
    for (const marker of MARKERS) {
      expect(exported.includes(marker), `"${marker}" exported in telemetry`).toBe(false);
      expect(logged.includes(marker), `"${marker}" logged`).toBe(false);
    }
  };

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    slack = await startSlackStandIn();
    env = await startIsolatedMesh({
      SLACK_BOT_TOKEN: 'xoxb-trace-test',
      SLACK_API_URL: `${slack.origin}/api`,
      LOG_LEVEL: 'info',
      ...receiver.env,
    });
    api = meshClients(env.mesh.urls, env.mesh.token);
  }, 180_000);

  afterAll(async () => {
    await env?.stop();
    await slack?.close();
    await receiver?.close();
  }, 60_000);

  it('follows one chat message from SubmitInteraction to the in-app delivery in one trace, ids only', async () => {
    const started = Date.now();
    await untilAccepted(() => api.ingestion.submitInteraction(MESSAGE));
    const item: InboxItem = await until(
      'the in-app notification of the review case',
      async () => (await api.status.listInbox({ userId: 'reviewers' })).items.find((i) => i.data.conversation_id === MESSAGE.conversationId),
      60_000,
    );
    const reviewId = item.data.review_id;

    // The root of the trace: the RPC span where the message came in.
    const submit = await until(
      'the SubmitInteraction span',
      async () =>
        receiver.spans.find(
          (s) =>
            s.name === 'pulse.ingestion.v1.IngestionService/SubmitInteraction' &&
            s.attributes['pulse.interaction_id'] === MESSAGE.messageId &&
            s.attributes['rpc.status_code'] === 'ok',
        ),
      30_000,
    );
    const traceId = submit.traceId;
    const inTrace = () => receiver.spans.filter((s) => s.traceId === traceId);

    // The last hop: status consuming the acceptance of the notification, which hands its in-app delivery to the
    // inbox, with its whole ancestry received.
    const last = await until(
      'the status span of the in-app delivery and all its ancestors',
      async () => {
        const spans = inTrace();
        const byId = new Map(spans.map((s) => [s.spanId, s]));
        const found = spans.find(
          (s) =>
            s.service === 'pulse-status' &&
            s.name === 'process notification.status.changed' &&
            s.attributes['pulse.notification_id'] === item.notificationId &&
            s.attributes['pulse.delivery_state'] === 'ACCEPTED',
        );
        return found && ancestry(found, byId).at(0)?.parentSpanId === '' && found;
      },
      30_000,
    );
    // Spans end (and are exported) in their own time; let the last batches of every process arrive.
    await until('spans of all six services', async () => SERVICES.every((svc) => inTrace().some((s) => s.service === svc)) && true, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const spans = inTrace();
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    expect(receiver.errors).toEqual([]);

    // All six services are in the one trace, and no span of it hangs loose.
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(SERVICES));
    for (const span of spans) {
      if (span.parentSpanId) expect(byId.has(span.parentSpanId), `parent of ${span.service} ${span.name} received`).toBe(true);
    }
    expect(spans.filter((s) => s.parentSpanId === '')).toHaveLength(1);

    // The order of the path: Pulse's own spans from the root to status, parent to child.
    const chain = ancestry(last, byId);
    const pulseChain = chain.filter(isPulse);
    expect(pulseChain.map((s) => `${s.service} ${s.name}`)).toEqual([
      'pulse-ingestion pulse.ingestion.v1.IngestionService/SubmitInteraction',
      'pulse-ingestion publish customer.interaction.new',
      'pulse-sentiment process customer.interaction.new',
      'pulse-sentiment publish sentiment.analysis.complete',
      'pulse-review process sentiment.analysis.complete',
      'pulse-review publish review.required',
      'pulse-notification process review.required',
      'pulse-notification publish notification.status.changed',
      'pulse-status process notification.status.changed',
    ]);
    expect(pulseChain.map((s) => s.kind)).toEqual([
      Kind.SERVER,
      ...Array.from({ length: 4 }, () => [Kind.PRODUCER, Kind.CONSUMER]).flat(),
    ]);

    // Auto-instrumentation in ES-module processes: the HTTP/1.1 request is the root (http instrumentation), and
    // every hop over the broker passes through amqplib's own publish span.
    expect(chain[0]).toMatchObject({ scope: HTTP, kind: Kind.SERVER, service: 'pulse-ingestion' });
    expect(byId.get(submit.parentSpanId)).toBe(chain[0]);
    for (const consume of pulseChain.filter((s) => s.kind === Kind.CONSUMER)) {
      const publish = pulseChain[pulseChain.indexOf(consume) - 1];
      const between = chain.slice(chain.indexOf(publish) + 1, chain.indexOf(consume));
      expect(between.map((s) => `${s.scope} ${s.name}`), `transport spans before ${consume.service} ${consume.name}`).toContain(
        `${AMQPLIB} publish pulse.events`,
      );
    }
    expect(spans.some((s) => s.scope === AMQPLIB && s.kind === Kind.CONSUMER)).toBe(true);

    // RPC spans: the entry and the ResolveDelivery call notification makes to preference (client and server).
    expect(submit.attributes).toMatchObject({
      'rpc.system': 'connect_rpc',
      'rpc.service': 'pulse.ingestion.v1.IngestionService',
      'rpc.method': 'SubmitInteraction',
      'rpc.status_code': 'ok',
      'pulse.rpc.protocol': 'connect',
    });
    const planFor = pulseChain[6]; // notification's process review.required
    const resolveClient = spans.find((s) => s.kind === Kind.CLIENT && s.name === 'pulse.preference.v1.PreferenceService/ResolveDelivery');
    expect(resolveClient, 'notification calls ResolveDelivery').toBeDefined();
    expect(resolveClient!.service).toBe('pulse-notification');
    expect(ancestry(resolveClient!, byId)).toContain(planFor);
    const resolveServer = spans.find((s) => s.parentSpanId === resolveClient!.spanId && s.kind === Kind.SERVER);
    expect(resolveServer, 'preference serves ResolveDelivery in the same trace').toBeDefined();
    for (const rpc of [resolveClient!, resolveServer!]) {
      expect(rpc.attributes).toMatchObject({
        'rpc.system': 'connect_rpc',
        'rpc.service': 'pulse.preference.v1.PreferenceService',
        'rpc.method': 'ResolveDelivery',
        'rpc.status_code': 'ok',
      });
    }
    expect(resolveServer!.service).toBe('pulse-preference');
    expect(resolveServer!.attributes['pulse.rpc.protocol']).toBe('connect'); // binary Connect over h2c between peers
    expect(resolveClient!.attributes['pulse.peer']).toBe('preference');

    // Messaging spans: exchange on publish, queue on consume, routing key and message id on both.
    for (const [i, span] of pulseChain.entries()) {
      if (span.kind === Kind.PRODUCER) {
        const routingKey = span.name.replace(/^publish /, '');
        expect(span.attributes).toMatchObject({
          'messaging.system': 'rabbitmq',
          'messaging.operation.type': 'publish',
          'messaging.destination.name': 'pulse.events',
          'messaging.rabbitmq.destination.routing_key': routingKey,
          'messaging.message.id': expect.stringMatching(/.+/),
        });
        const consumer = pulseChain[i + 1];
        const service = consumer.service.replace(/^pulse-/, '');
        expect(consumer.attributes).toMatchObject({
          'messaging.system': 'rabbitmq',
          'messaging.operation.type': 'process',
          'messaging.destination.name': expect.stringMatching(new RegExp(`^pulse\\.${service}\\.`)),
          'messaging.rabbitmq.destination.routing_key': routingKey,
          'messaging.message.id': span.attributes['messaging.message.id'],
          'pulse.exchange': 'pulse.events',
          'pulse.attempt': 1,
        });
      }
    }
    expect(pulseChain.filter((s) => s.kind === Kind.CONSUMER).map((s) => s.attributes['messaging.destination.name'])).toEqual([
      'pulse.sentiment.interactions',
      'pulse.review.analyses',
      'pulse.notification.review-required',
      'pulse.status.changes',
    ]);

    // Business ids, so a trace can be found by the id at hand.
    const [entry, , sentiment, , review, , notification, , status] = pulseChain;
    const ids = { 'pulse.interaction_id': MESSAGE.messageId, 'pulse.conversation_id': MESSAGE.conversationId };
    expect(entry.attributes).toMatchObject(ids);
    expect(sentiment.attributes).toMatchObject(ids);
    expect(review.attributes).toMatchObject({ ...ids, 'pulse.review_id': reviewId });
    expect(notification.attributes).toMatchObject({ 'pulse.review_id': reviewId, 'pulse.notification_id': item.notificationId });
    expect(status.attributes).toMatchObject({ 'pulse.notification_id': item.notificationId, 'pulse.delivery_id': item.deliveryId });

    // No personal data in anything that left the processes.
    expectNoPersonalData();

    // Logs: the lines written while handling the message carry this trace and the span that wrote them; pino's
    // instrumentation (trace_flags) proves the ESM hook patched the `import`ed pino.
    const lines = env.logs
      .map((line) => line.slice(line.indexOf(' | ') + 3))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const related = lines.filter((l) => [reviewId, item.notificationId, MESSAGE.conversationId].some((id) => JSON.stringify(l).includes(id)));
    const opened = related.find((l) => l.msg === 'review case opened');
    expect(opened, 'review logs the case it opened').toBeDefined();
    expect(opened).toMatchObject({ trace_id: traceId, span_id: review.spanId, trace_flags: '01' });
    for (const line of related) {
      expect(line, `log line "${String(line.msg)}"`).toMatchObject({ trace_id: traceId, span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
      expect(byId.has(String(line.span_id)), `span of log line "${String(line.msg)}" received`).toBe(true);
    }
    console.log(
      `trace ${traceId}: ${spans.length} spans from ${SERVICES.length} services, ${pulseChain.length} Pulse spans on the path, ` +
        `${related.length} related log lines, ${Date.now() - started} ms from submit to all spans received`,
    );
  }, 150_000);

  it('traces a provider call over HTTP (Slack) as part of its trace, without what was posted', async () => {
    const requestId = `trace-req-${RUN}`;
    await untilAccepted(() =>
      api.ingestion.requestAssistance({
        requestId,
        topic: 'sales',
        description: `${PERSONAL.sentence}. The customer (${PERSONAL.email}, ${PERSONAL.phone}) is furious and wants a discount.`,
        botId: 'bot-trace',
        customerId: PERSONAL.email,
      }),
    );
    const posted = await until('the Slack post', async () => slack.requests.find((r) => JSON.stringify(r.body).includes(PERSONAL.sentence)), 60_000);
    expect(posted.url).toBe('/api/chat.postMessage');

    const entry = await until(
      'the RequestAssistance span',
      async () =>
        receiver.spans.find(
          (s) => s.name.endsWith('/RequestAssistance') && s.attributes['pulse.request_id'] === requestId && s.attributes['rpc.status_code'] === 'ok',
        ),
      30_000,
    );
    const call = await until(
      'the HTTP client span of the Slack call, with its ancestors',
      async () => {
        const spans = receiver.spans.filter((s) => s.traceId === entry.traceId);
        const byId = new Map(spans.map((s) => [s.spanId, s]));
        const found = spans.find((s) => s.scope === HTTP && s.kind === Kind.CLIENT && s.service === 'pulse-notification');
        return found && ancestry(found, byId)[0].parentSpanId === '' && { found, chain: ancestry(found, byId) };
      },
      30_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));

    // The provider call hangs under the delivery job that made it, in the trace of the bot's request.
    const worker = call.chain.filter(isPulse).at(-1)!;
    expect(`${worker.service} ${worker.name}`).toMatch(/^pulse-notification process notification\.delivery\.(critical|high|medium|low)$/);
    expect(worker.attributes).toMatchObject({ 'pulse.notification_id': expect.stringMatching(/.+/), 'pulse.delivery_id': expect.stringMatching(/.+/) });
    expect(call.chain.filter(isPulse)[0]).toBe(entry);
    expect(entry.attributes).toMatchObject({ 'rpc.method': 'RequestAssistance', 'rpc.status_code': 'ok' });
    // The URL and method are recorded; no header, no body.
    expect(call.found.attributes).toMatchObject({ 'http.request.method': 'POST', 'url.full': `${slack.origin}/api/chat.postMessage`, 'http.response.status_code': 200 });
    expect(Object.keys(call.found.attributes).filter((key) => /header|body/.test(key))).toEqual([]);
    expect(slack.violations()).toEqual([]);

    expectNoPersonalData();
  }, 120_000);
});

function isPulse(span: ReceivedSpan): boolean {
  return span.scope.startsWith('pulse.');
}

/** The span's ancestors and itself, root first; stops where a parent has not (yet) arrived. */
function ancestry(span: ReceivedSpan, byId: Map<string, ReceivedSpan>): ReceivedSpan[] {
  const chain = [span];
  for (let parent = byId.get(span.parentSpanId); parent; parent = byId.get(parent.parentSpanId)) chain.unshift(parent);
  return chain;
}
