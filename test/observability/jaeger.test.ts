// The trace in a real Jaeger: `jaeger` (v2, built from tools/jaeger/go.mod) runs with ops/jaeger/config.yaml (in-memory
// storage) on free loopback ports, and the six services run as processes on RabbitMQ exporting OTLP to it, as they
// do to the Jaeger of docker compose. Review cases are also routed to Slack (a stand-in), so one angry chat message
// crosses all six services and a provider. The test then finds the message the way docs/tracing.md tells an SRE to:
//   1. GET /api/services                                   lists the six services,
//   2. GET /api/traces?service=pulse-ingestion&tags={"pulse.interaction_id":"<id>"}   finds its one trace,
//   3. GET /api/traces/<traceID>                           gives every span of it,
// and checks what Jaeger stored: spans of all six services in one trace with no loose parent, each broker hop a
// producer span and a consumer span below it, the Slack call as an HTTP client span of the notification delivery,
// and none of the message's personal data in any tag, log field or process tag of any trace, nor in the services' logs.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Author } from '../../gen/pulse/common/v1/conversation_pb.js';
import { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import { RouteKind } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { freePort } from '../../services/all-in-one/process-mesh.js';
import { type IsolatedMesh, startIsolatedMesh } from '../mesh/support.js';
import { describeBroker } from '../support/broker.js';
import { type MeshClients, meshClients } from '../support/clients.js';
import { until, untilAccepted } from '../support/poll.js';
import { type SlackStandIn, startSlackStandIn } from '../support/slack-standin.js';
import { describeWithTools, getJson, startTool, type ToolProcess } from './tools.js';

const RUN = Date.now().toString(36);
const PERSONAL = {
  email: `ada.lindqvist.${RUN}@example.org`,
  phone: '+1 (555) 013-2846',
  sentence: `The amber lighthouse ${RUN} blinks twice at dusk`,
};
const MESSAGE = {
  messageId: `jaeger-msg-${RUN}`,
  conversationId: `jaeger-conv-${RUN}`,
  customerId: PERSONAL.email,
  agentId: '+15550132846',
  author: Author.CUSTOMER,
  text: `This is the worst service ever, I am furious! Refund me now or I cancel today. ${PERSONAL.sentence}. Call ${PERSONAL.phone} or write to ${PERSONAL.email}.`,
};
const MARKERS = [PERSONAL.email, 'ada.lindqvist', PERSONAL.phone, '013-2846', '5550132846', PERSONAL.sentence, 'amber lighthouse', 'furious', 'Refund me'];
const SERVICES = ['ingestion', 'sentiment', 'review', 'preference', 'notification', 'status'].map((s) => `pulse-${s}`);
/** The broker hops of the monitoring path: publisher, routing key, consumer. */
const HOPS = [
  ['pulse-ingestion', 'customer.interaction.new', 'pulse-sentiment'],
  ['pulse-sentiment', 'sentiment.analysis.complete', 'pulse-review'],
  ['pulse-review', 'review.required', 'pulse-notification'],
  ['pulse-notification', 'notification.status.changed', 'pulse-status'],
] as const;

/** Jaeger's query API (the one its UI uses): a trace with its spans and the processes (services) they ran in. */
interface JaegerTag {
  key: string;
  type: string;
  value: unknown;
}
interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  tags: JaegerTag[];
  logs: { fields: JaegerTag[] }[];
  processID: string;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: JaegerTag[] }>;
}
interface Span {
  id: string;
  parent: string;
  name: string;
  service: string;
  kind: string;
  tags: Record<string, unknown>;
}

describeWithTools('the trace of one chat message in Jaeger', ['jaeger'], () => {
  describeBroker('six service processes exporting OTLP to Jaeger', () => {
    let jaeger: ToolProcess;
    let query = '';
    let slack: SlackStandIn;
    let env: IsolatedMesh;
    let api: MeshClients;

    beforeAll(async () => {
      const [queryPort, queryGrpcPort, healthPort, otlpGrpcPort, otlpHttpPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
      query = `http://127.0.0.1:${queryPort}`;
      jaeger = await startTool('jaeger', ['--config', 'ops/jaeger/config.yaml'], {
        env: {
          JAEGER_QUERY_HTTP_ENDPOINT: `127.0.0.1:${queryPort}`,
          JAEGER_QUERY_GRPC_ENDPOINT: `127.0.0.1:${queryGrpcPort}`,
          JAEGER_HEALTH_ENDPOINT: `127.0.0.1:${healthPort}`,
          JAEGER_OTLP_GRPC_ENDPOINT: `127.0.0.1:${otlpGrpcPort}`,
          JAEGER_OTLP_HTTP_ENDPOINT: `127.0.0.1:${otlpHttpPort}`,
        },
        ready: async () => (await fetch(`http://127.0.0.1:${healthPort}/status`)).ok && (await fetch(`${query}/api/services`)).ok,
      });
      slack = await startSlackStandIn();
      env = await startIsolatedMesh(
        {
          SLACK_BOT_TOKEN: 'xoxb-jaeger-test',
          SLACK_API_URL: `${slack.origin}/api`,
          LOG_LEVEL: 'info',
          // As in compose and tilt/: OTLP over HTTP (protobuf) to Jaeger's port 4318, here a free one.
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpHttpPort}`,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
          OTEL_TRACES_EXPORTER: 'otlp',
          OTEL_TRACES_SAMPLER: 'parentbased_always_on',
          OTEL_BSP_SCHEDULE_DELAY: '100',
          OTEL_SDK_DISABLED: undefined,
        },
        { keepLines: 50_000 },
      );
      api = meshClients(env.mesh.urls, env.mesh.token);
    }, 180_000);

    afterAll(async () => {
      await env?.stop();
      await slack?.close();
      await jaeger?.stop();
    }, 60_000);

    it('finds the message by pulse.interaction_id: one trace over six services, the broker hops and the Slack call', async () => {
      await api.preference.upsertTopicRoute({ route: { topic: 'review', channel: Channel.SLACK, target: '#reviews', kind: RouteKind.PRIMARY } });
      await untilAccepted(() => api.ingestion.submitInteraction(MESSAGE));
      await until('the Slack post of the review case', async () => slack.requests.find((r) => r.url === '/api/chat.postMessage'), 60_000);

      // Step 1: the services Jaeger knows.
      const services = await until(
        'all six services in /api/services',
        async () => {
          const { data } = await getJson<{ data: string[] | null }>(`${query}/api/services`);
          return SERVICES.every((s) => data?.includes(s)) && data;
        },
        30_000,
      );
      expect(services).toEqual(expect.arrayContaining(SERVICES));

      // Step 2: the trace, by the business id at hand.
      const search = new URL('/api/traces', query);
      search.searchParams.set('service', 'pulse-ingestion');
      search.searchParams.set('tags', JSON.stringify({ 'pulse.interaction_id': MESSAGE.messageId }));
      search.searchParams.set('lookback', '1h');
      const found = await until('the trace found by pulse.interaction_id', async () => nonEmpty((await getJson<{ data: JaegerTrace[] | null }>(search.href)).data), 30_000);
      expect(found).toHaveLength(1);
      const traceId = found[0].traceID;

      // Step 3: the whole trace, once the last hop (status) and the Slack call have arrived with their ancestry.
      const complete = (spans: Span[]) => {
        const byId = new Map(spans.map((s) => [s.id, s]));
        const rooted = (s: Span) => ancestry(s, byId)[0].parent === '';
        const status = spans.find((s) => s.service === 'pulse-status' && s.name === 'process notification.status.changed');
        const slackCall = spans.find((s) => s.service === 'pulse-notification' && s.kind === 'client' && s.tags['url.full'] === `${slack.origin}/api/chat.postMessage`);
        return SERVICES.every((svc) => spans.some((s) => s.service === svc)) && status && rooted(status) && slackCall && rooted(slackCall);
      };
      await until('every span of the trace in Jaeger', async () => complete(spansOf(await getTrace(query, traceId))), 60_000);
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // the last batches of every process
      const trace = await getTrace(query, traceId);
      const spans = spansOf(trace);
      const byId = new Map(spans.map((s) => [s.id, s]));

      // One trace, all six services, one root, no span whose parent is missing.
      expect(new Set(spans.map((s) => s.service))).toEqual(new Set(SERVICES));
      expect(spans.filter((s) => s.parent === '')).toHaveLength(1);
      for (const span of spans) if (span.parent) expect(byId.has(span.parent), `parent of ${span.service} "${span.name}" stored`).toBe(true);
      const entry = spans.find((s) => s.name === 'pulse.ingestion.v1.IngestionService/SubmitInteraction')!;
      expect(entry).toMatchObject({ service: 'pulse-ingestion', kind: 'server' });
      expect(entry.tags).toMatchObject({ 'pulse.interaction_id': MESSAGE.messageId, 'pulse.conversation_id': MESSAGE.conversationId, 'rpc.status_code': 'ok' });

      // Each broker hop: a producer span in the publisher, a consumer span in the consumer below it.
      for (const [publisher, routingKey, consumer] of HOPS) {
        const consume = spans.find((s) => s.service === consumer && s.kind === 'consumer' && s.name === `process ${routingKey}`);
        expect(consume, `${consumer} consumes ${routingKey}`).toBeDefined();
        const publish = ancestry(consume!, byId).find((s) => s.service === publisher && s.kind === 'producer' && s.name === `publish ${routingKey}`);
        expect(publish, `${publisher} publishes ${routingKey} above ${consumer}'s consumer span`).toBeDefined();
        expect(consume!.tags).toMatchObject({
          'messaging.system': 'rabbitmq',
          'messaging.rabbitmq.destination.routing_key': routingKey,
          'messaging.message.id': publish!.tags['messaging.message.id'],
        });
        expect(publish!.tags).toMatchObject({ 'messaging.destination.name': 'pulse.events', 'messaging.operation.type': 'publish' });
      }

      // The provider call: Slack's chat.postMessage, below the notification's delivery job, URL and method only.
      const call = spans.find((s) => s.service === 'pulse-notification' && s.kind === 'client' && s.tags['url.full'] === `${slack.origin}/api/chat.postMessage`)!;
      expect(call.tags).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200 });
      expect(Object.keys(call.tags).filter((key) => /header|body/.test(key))).toEqual([]);
      const job = ancestry(call, byId).findLast((s) => s.kind === 'consumer');
      expect(job?.name).toMatch(/^process notification\.delivery\.(critical|high|medium|low)$/);
      expect(ancestry(call, byId)).toContain(entry);

      // No personal data in anything Jaeger stored for any service, nor in what the services logged.
      const stored = await Promise.all(SERVICES.map((s) => fetch(`${query}/api/traces?service=${s}&lookback=1h&limit=1000`).then((r) => r.text())));
      const logged = env.logs.join('\n');
      expect(stored.join('\n')).toContain(MESSAGE.messageId); // what is searched is really there
      for (const marker of MARKERS) {
        expect(stored.some((text) => text.includes(marker)), `"${marker}" stored in Jaeger`).toBe(false);
        expect(logged.includes(marker), `"${marker}" logged`).toBe(false);
      }
      console.log(`Jaeger trace ${traceId}: ${spans.length} spans from ${SERVICES.length} services, ${HOPS.length} broker hops, Slack call ${call.id}`);
    }, 180_000);
  });
});

async function getTrace(query: string, traceId: string): Promise<JaegerTrace> {
  const { data } = await getJson<{ data: JaegerTrace[] }>(`${query}/api/traces/${traceId}`);
  return data[0];
}

function spansOf(trace: JaegerTrace): Span[] {
  return trace.spans.map((s) => {
    const tags = Object.fromEntries(s.tags.map((t) => [t.key, t.value]));
    return {
      id: s.spanID,
      parent: s.references.find((r) => r.refType === 'CHILD_OF' && r.traceID === s.traceID)?.spanID ?? '',
      name: s.operationName,
      service: trace.processes[s.processID].serviceName,
      kind: String(tags['span.kind'] ?? 'internal'),
      tags,
    };
  });
}

/** The span's ancestors and itself, root first. */
function ancestry(span: Span, byId: Map<string, Span>): Span[] {
  const chain = [span];
  for (let parent = byId.get(span.parent); parent; parent = byId.get(parent.parent)) chain.unshift(parent);
  return chain;
}

function nonEmpty<T>(list: T[] | null): T[] | false {
  return list && list.length > 0 ? list : false;
}
