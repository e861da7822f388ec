// Poison messages. The mesh runs as separate processes on RabbitMQ (a virtual host of its own); for every routing
// key bound to the events exchange (read from the broker, so every consumer is covered), the test publishes, as a
// foreign client would: garbage, a truncated event, an event of another type, one with no type, one with no
// message id, one whose string holds invalid UTF-8, an empty one (it decodes, to an event without its ids) and a
// complete but over-size one. Each must land in its service's dead-letter queue with a reason that quotes none of
// the body, without retries; afterwards valid events (from the real producers) are still handled by every consumer.
import { create, type DescMessage, toBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Author } from '../../gen/pulse/common/v1/conversation_pb.js';
import { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { ReviewState } from '../../gen/pulse/common/v1/review_pb.js';
import { EVENT_TYPES } from '../../services/platform/bus/events.js';
import { describeBroker } from '../support/broker.js';
import { type MeshClients, meshClients, metricValue } from '../support/clients.js';
import { until } from '../support/poll.js';
import { type IsolatedMesh, startIsolatedMesh } from '../mesh/support.js';
import { type Binding, type DeadLetter, eventBindings, RawBroker } from './support/broker.js';
import { random } from './support/prng.js';

const MARKER = 'POISON-BODY-MARKER';
const OVERSIZE_BYTES = 2 * 1024 * 1024;

interface Poison {
  kind: string;
  body: Uint8Array;
  type?: string;
  messageId?: string;
}

/** A string field of the schema, for markers and bad bytes. */
function firstStringField(schema: DescMessage) {
  return schema.fields.find((f) => f.fieldKind === 'scalar' && f.scalar === 9 /* STRING */);
}

function withString(schema: DescMessage, value: string): Uint8Array {
  const field = firstStringField(schema);
  return field ? toBinary(schema, create(schema, { [field.localName]: value } as never)) : new Uint8Array();
}

/** An event with every top-level field set (ids included), its last plain string field padded to `pad` characters. */
function completeEvent(schema: DescMessage, pad: number): Uint8Array {
  const init: Record<string, unknown> = {};
  const strings = schema.fields.filter((f) => f.fieldKind === 'scalar' && f.scalar === 9 && !f.oneof);
  for (const field of schema.fields) {
    let value: unknown;
    if (field.fieldKind === 'scalar' && field.scalar === 9) {
      value = field === strings[strings.length - 1] ? `${MARKER} `.repeat(Math.ceil(pad / (MARKER.length + 1))) : `${MARKER}-${field.name}`;
    } else if (field.fieldKind === 'message') value = create(field.message);
    else if (field.fieldKind === 'enum') value = field.enum.values[field.enum.values.length - 1].number;
    else continue;
    if (field.oneof) init[field.oneof.localName] ??= { case: field.localName, value };
    else init[field.localName] = value;
  }
  return toBinary(schema, create(schema, init as never));
}

/** The schema the contracts route under a key. */
const schemaOf = (routingKey: string): DescMessage => EVENT_TYPES.get(routingKey)!.schema;

function poisons(routingKey: string, seed: number): Poison[] {
  const schema = schemaOf(routingKey);
  const rng = random(seed).fork(routingKey);
  const other = [...EVENT_TYPES.values()].find((t) => t.schema.typeName !== schema.typeName)!.schema;
  const valid = withString(schema, `${MARKER} ${routingKey}`);
  const stringField = firstStringField(schema);
  const badUtf8 = stringField ? new Uint8Array([(stringField.number << 3) | 2, 4, 0xff, 0xfe, 0xc0, 0x80]) : rng.bytes(6);
  return [
    { kind: 'garbage', body: new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, ...Buffer.from(MARKER)]) },
    { kind: 'truncated', body: valid.subarray(0, Math.max(1, valid.length - 5)) },
    { kind: 'wrong-type', body: withString(other, MARKER), type: other.typeName },
    { kind: 'no-type', body: valid, type: '' },
    { kind: 'no-message-id', body: valid, messageId: '' },
    { kind: 'invalid-utf8', body: badUtf8 },
    // Decodes, but to an event without its ids: all defaults.
    { kind: 'empty', body: new Uint8Array() },
    // A complete event, far bigger than any Pulse produces.
    { kind: 'oversize', body: completeEvent(schema, OVERSIZE_BYTES) },
  ];
}

describeBroker('poison messages on every consumed routing key', () => {
  let env: IsolatedMesh;
  let api: MeshClients;
  let broker: RawBroker;
  let bindings: Binding[];
  const seed = Date.now() % 1_000_000;

  beforeAll(async () => {
    // No digest window: a LOW email goes to its lane at once.
    env = await startIsolatedMesh({ LOG_LEVEL: 'info', NOTIFICATION_DIGEST_WINDOW_MS: '0' });
    api = meshClients(env.mesh.urls, env.mesh.token);
    broker = await RawBroker.open(env.vhost);
    bindings = await eventBindings(env.vhost);
  }, 180_000);

  afterAll(async () => {
    await broker?.close();
    await env?.stop();
  }, 60_000);

  it('dead-letters every poison message with a reason, without retrying it, and keeps consuming', async () => {
    const routingKeys = [...new Set(bindings.map((b) => b.routingKey))].sort();
    expect(routingKeys.length).toBeGreaterThan(0);
    for (const key of routingKeys) expect(EVENT_TYPES.has(key), `a contract routes ${key}`).toBe(true);
    console.log(`poison: seed ${seed}; ${bindings.length} consumer queues: ${bindings.map((b) => `${b.queue} <- ${b.routingKey}`).join(', ')}`);

    // What each queue had processed before, to see it process more afterwards.
    const owner = (queue: string) => queue.split('.')[1] as keyof typeof env.mesh.urls;
    const processed = async (queue: string) => metricValue(env.mesh.urls[owner(queue)], 'pulse_events_consumed_total', { queue, outcome: 'processed' });

    const expected = new Map<string, { queue: string; kind: string; routingKey: string }>();
    for (const routingKey of routingKeys) {
      for (const [i, poison] of poisons(routingKey, seed).entries()) {
        const id = poison.messageId ?? `poison-${seed}-${routingKey}-${i}-${poison.kind}`;
        await broker.publish(routingKey, poison.body, {
          messageId: id || undefined,
          type: poison.type === undefined ? schemaOf(routingKey).typeName : poison.type || undefined,
          contentType: 'application/x-protobuf',
          timestamp: Math.floor(Date.now() / 1000),
        });
        for (const { queue } of bindings.filter((b) => b.routingKey === routingKey)) {
          expected.set(`${queue}|${poison.kind}|${routingKey}`, { queue, kind: poison.kind, routingKey });
        }
      }
    }

    // Every poison reaches its service's DLQ at once (a permanent failure is not retried with backoff).
    const found = new Map<string, DeadLetter>();
    const dlqs = [...new Set(bindings.map((b) => `pulse.${owner(b.queue)}.dlq`))];
    const kinds = poisons(routingKeys[0], seed).map((p) => p.kind);
    const kindOf = (messageId: string) => kinds.find((k) => messageId.endsWith(`-${k}`)) ?? '';
    const started = Date.now();
    let reported = false;
    await until(
      'every poison message in its dead-letter queue',
      async () => {
        for (const dlq of dlqs) {
          for (const letter of await broker.drain(dlq)) {
            const routingKey = routingKeys.find((k) => letter.messageId.includes(`-${k}-`));
            const kind = letter.messageId === '' ? 'no-message-id' : kindOf(letter.messageId);
            // Messages without an id are told apart by their source queue and body.
            const key = routingKey ? `${letter.sourceQueue}|${kind}|${routingKey}` : `${letter.sourceQueue}|${kind}|?${found.size}`;
            found.set(key, letter);
          }
        }
        const missing = [...expected.keys()].filter((k) => {
          if (found.has(k)) return false;
          const [queue, kind] = k.split('|');
          return !(kind === 'no-message-id' && [...found.keys()].some((f) => f.startsWith(`${queue}|no-message-id|?`)));
        });
        if (missing.length > 0 && Date.now() - started > 20_000 && !reported) {
          reported = true;
          console.log(`poison: still missing ${missing.join(', ')}`);
        }
        return missing.length === 0;
      },
      25_000,
    ).catch(async (err) => {
      console.log(`poison: found so far:\n${[...found.values()].map((l) => `  ${l.sourceQueue} ${l.messageId} ${l.reason.slice(0, 120)}`).join('\n')}`);
      console.log(`poison: queue depths ${JSON.stringify(Object.entries(await env.queueDepths()).filter(([, n]) => n > 0))}`);
      console.log(`poison: service log (last 60 lines)\n${env.logs.slice(-60).join('\n')}`);
      throw err;
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);

    const rows = [...found.values()].map((l) => ({ queue: l.sourceQueue, id: l.messageId || '(none)', reason: l.reason }));
    console.log(`poison: ${found.size} dead-lettered within ${seconds} s`);
    for (const r of rows) console.log(`  ${r.queue.padEnd(40)} ${r.id.slice(-40).padEnd(40)} ${r.reason.slice(0, 140)}`);
    for (const letter of found.values()) {
      expect(letter.reason, `${letter.messageId} reason`).not.toBe('');
      expect(letter.reason, `${letter.messageId} reason quotes the body`).not.toContain(MARKER);
      expect(letter.reason.length).toBeLessThanOrEqual(500);
    }
    // Nothing dead-lettered went through retry queues first.
    const depths = await env.queueDepths();
    expect(Object.entries(depths).filter(([q, n]) => q.includes('.retry.') && n > 0)).toEqual([]);

    // Still consuming: real traffic through every consumer, from the real producers.
    const before = new Map<string, number>();
    for (const { queue } of bindings) before.set(queue, await processed(queue));
    await driveEveryConsumer(api, seed);
    for (const { queue } of bindings) {
      await until(`${queue} to process a valid event`, async () => (await processed(queue)) > before.get(queue)!, 30_000);
    }
    const log = env.logs.join('\n');
    expect(log, 'no crash in the services').not.toMatch(/uncaught|unhandled/i);
  }, 240_000);
});

/** Valid traffic that reaches every consumer: the monitoring path (its case resolved), an assistance request, a
 * template saved, a preference change and a direct notification on each priority lane. */
async function driveEveryConsumer(api: MeshClients, seed: number): Promise<void> {
  await api.ingestion.submitInteraction({
    messageId: `after-poison-${seed}`,
    conversationId: `after-poison-${seed}`,
    customerId: 'c',
    author: Author.CUSTOMER,
    text: 'This is the worst service ever. Refund me now or I cancel and call my lawyer!',
  });
  await api.ingestion.requestAssistance({ requestId: `after-poison-${seed}`, topic: 'sales', description: 'Upsell opportunity', botId: 'bot' });
  // The angry message's case, claimed and resolved: review.resolved (notification stops the case's ladder).
  const review = await until('the case of the angry message', async () =>
    (await api.review.listReviews({ state: ReviewState.OPEN, pageSize: 200 })).reviews.find((r) => r.conversationId === `after-poison-${seed}`),
  );
  await api.review.claimReview({ reviewId: review.reviewId, reviewer: 'poison-check' });
  await api.review.resolveReview({ reviewId: review.reviewId, reviewer: 'poison-check', outcome: ReviewState.RESOLVED, note: 'checked' });
  // A template saved: template.changed (every notification replica reloads its templates).
  await api.notification.upsertTemplate({ template: { notificationType: `after-poison-${seed}`, channel: Channel.EMAIL, title: '{{ title }}', body: '{{ body }}' } });
  const userId = `after-poison-user-${seed}`;
  // Email, not in-app: an in-app delivery is handed to the inbox on acceptance, without a job on its lane.
  await api.preference.updatePreferences({
    preferences: { userId, contacts: { email: `${userId}@example.test` }, defaultChannels: [Channel.EMAIL] },
    updateMask: { paths: ['contacts', 'default_channels'] },
  });
  for (const priority of Object.values(Priority).filter((p): p is Priority => typeof p === 'number' && p !== Priority.UNSPECIFIED)) {
    await api.notification.sendNotification({
      idempotencyKey: `after-poison-${seed}-${priority}`,
      recipient: { target: { case: 'userId', value: userId } },
      notificationType: 'hardening.check',
      priority,
      content: { title: 'still consuming' },
    });
  }
}
