// Adapter tests of the RabbitMQ event bus against a real broker: the same contract the embedded bus keeps.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BusMessage, type Delivery, EXCHANGE, PermanentError, type QueueSpec } from '../../services/platform/bus/bus.js';
import { connectRabbitBus, type RabbitBus } from '../../services/platform/bus/rabbitmq.js';
import { topologyQueues } from '../../services/platform/bus/rabbitmq-topology.js';
import { createLogger } from '../../services/platform/log.js';
import { Metrics } from '../../services/platform/metrics.js';
import { brokerUrl, deleteQueues, describeBroker, publishRaw, queueInfo, uniqueName, withRawChannel } from '../support/broker.js';
import { until } from '../support/poll.js';

describeBroker('RabbitMQ event bus', () => {
  const service = uniqueName();
  const metrics = new Metrics(service);
  const toDelete = new Set<string>();
  let bus: RabbitBus;

  /** A queue spec (and its routing key) of its own for each test, so tests never see each other's messages. */
  function spec(purpose: string, overrides: Partial<QueueSpec> = {}): QueueSpec & { routingKey: string } {
    const routingKey = `${service}.${purpose}.happened`;
    const queue: QueueSpec = {
      name: `pulse.${service}.${purpose}`,
      bindings: [routingKey],
      deadLetterQueue: `pulse.${service}.${purpose}.dlq`,
      prefetch: 10,
      maxAttempts: 3,
      retryDelaysMs: [200, 400],
      ...overrides,
    };
    for (const name of topologyQueues(queue)) toDelete.add(name);
    return { ...queue, routingKey };
  }

  let seq = 0;
  function message(routingKey: string, overrides: Partial<BusMessage> = {}): BusMessage {
    return {
      id: `${service}-${++seq}`,
      routingKey,
      type: 'pulse.test.v1.Happened',
      body: new Uint8Array([8, seq % 128, 0, 255]),
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      timestamp: new Date(),
      ...overrides,
    };
  }

  beforeAll(async () => {
    bus = await connectRabbitBus(brokerUrl(), { log: createLogger(service, process.env.LOG_LEVEL ?? 'silent'), metrics });
  });

  afterAll(async () => {
    await bus?.close();
    await deleteQueues(toDelete);
  });

  it('round-trips body, id, type, headers and timestamp', async () => {
    const queue = spec('roundtrip');
    const received: Delivery[] = [];
    await bus.consume(queue, async (delivery) => void received.push(delivery));
    const sent = message(queue.routingKey, { timestamp: new Date('2024-05-06T07:08:09.123Z') });
    await bus.publish(sent);
    await until('the delivery', () => received.length === 1, 10_000);
    const [delivery] = received;
    expect(delivery).toMatchObject({ id: sent.id, routingKey: sent.routingKey, type: sent.type, headers: sent.headers, queue: queue.name, attempt: 1 });
    expect(Buffer.from(delivery!.body).equals(Buffer.from(sent.body))).toBe(true);
    expect(delivery!.timestamp.toISOString()).toBe('2024-05-06T07:08:09.123Z');
    expect(bus.isReady()).toBe(true);
  });

  it('resolves a publish only once the broker has the message, and rejects on a nack', async () => {
    const queue = spec('confirms');
    const consumer = await bus.consume(queue, async () => {});
    await consumer.cancel();
    await Promise.all(Array.from({ length: 20 }, () => bus.publish(message(queue.routingKey))));
    expect(await bus.queueDepth(queue.name)).toBe(20);

    // A queue that refuses what it cannot hold makes the broker nack.
    const full = spec('full', { bindings: [] });
    await withRawChannel(async (channel) => {
      await channel.assertQueue(full.name, { durable: true, maxLength: 1, overflow: 'reject-publish' });
      await channel.bindQueue(full.name, EXCHANGE, full.routingKey);
    });
    await bus.publish(message(full.routingKey));
    await expect(bus.publish(message(full.routingKey))).rejects.toThrow(/did not confirm/);
  });

  it('counts an unroutable publish, and still resolves it', async () => {
    const routingKey = `${service}.nobody.listens`;
    await bus.publish(message(routingKey));
    const { values } = await metrics.eventsUnroutable.get();
    expect(values.find((v) => v.labels.routing_key === routingKey)?.value).toBe(1);
  });

  it('retries with growing backoff, then dead-letters with the reason', async () => {
    const queue = spec('retry');
    const attempts: { attempt: number; at: number }[] = [];
    await bus.consume(queue, async (delivery) => {
      attempts.push({ attempt: delivery.attempt, at: Date.now() });
      throw new Error('boom: store unavailable');
    });
    const sent = message(queue.routingKey);
    await bus.publish(sent);
    await until('the dead letter', async () => (await bus.queueDepth(queue.deadLetterQueue)) === 1, 10_000);

    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    const gaps = [attempts[1]!.at - attempts[0]!.at, attempts[2]!.at - attempts[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(150); // 200 ms ± 20%
    expect(gaps[1]).toBeGreaterThanOrEqual(300); // 400 ms ± 20%
    expect(gaps[1]).toBeGreaterThan(gaps[0]!);

    const [letter, ...more] = await bus.deadLetters(queue.deadLetterQueue, 10);
    expect(more).toEqual([]);
    expect(letter).toMatchObject({
      id: sent.id,
      routingKey: sent.routingKey,
      type: sent.type,
      attempt: 3,
      reason: 'boom: store unavailable',
      sourceQueue: queue.name,
    });
    expect(letter!.headers.traceparent).toBe(sent.headers.traceparent);
    // Listing leaves the dead letter in place; nothing else is left anywhere.
    expect(await bus.queueDepth(queue.deadLetterQueue)).toBe(1);
    expect(await bus.queueDepth(queue.name)).toBe(0);
  });

  it('dead-letters a PermanentError at once, and replays it as a first attempt', async () => {
    const queue = spec('poison');
    const attempts: Delivery[] = [];
    let poisoned = true;
    await bus.consume(queue, async (delivery) => {
      attempts.push(delivery);
      if (poisoned) throw new PermanentError('undecodable body');
    });
    const sent = message(queue.routingKey);
    await bus.publish(sent);
    await until('the dead letter', async () => (await bus.queueDepth(queue.deadLetterQueue)) === 1, 10_000);
    expect(attempts).toHaveLength(1);
    const [letter] = await bus.deadLetters(queue.deadLetterQueue, 10);
    expect(letter).toMatchObject({ id: sent.id, attempt: 1, reason: 'undecodable body', sourceQueue: queue.name });

    poisoned = false;
    expect(await bus.replayDeadLetters(queue.deadLetterQueue, 10)).toBe(1);
    await until('the replayed delivery', () => attempts.length === 2, 10_000);
    expect(attempts[1]).toMatchObject({ id: sent.id, routingKey: sent.routingKey, attempt: 1, headers: sent.headers });
    expect(await bus.queueDepth(queue.deadLetterQueue)).toBe(0);
  });

  it('dead-letters a message that is not a Pulse message at all, without calling the handler', async () => {
    const queue = spec('malformed');
    let handled = 0;
    await bus.consume(queue, async () => void handled++);
    await publishRaw(EXCHANGE, queue.routingKey, Buffer.from('not protobuf'), { persistent: true });
    await until('the dead letter', async () => (await bus.queueDepth(queue.deadLetterQueue)) === 1, 10_000);
    const [letter] = await bus.deadLetters(queue.deadLetterQueue, 10);
    expect(letter).toMatchObject({ reason: 'message has no message_id', sourceQueue: queue.name, routingKey: queue.routingKey });
    expect(handled).toBe(0);
  });

  it('re-declares its queue and resumes when the broker cancels the consumer', async () => {
    const queue = spec('cancelled');
    const received: string[] = [];
    await bus.consume(queue, async (delivery) => void received.push(delivery.id));
    await withRawChannel((channel) => channel.deleteQueue(queue.name));
    await until('the consumer to come back', async () => (await queueInfo(queue.name))?.consumerCount === 1, 10_000);
    const sent = message(queue.routingKey);
    await bus.publish(sent);
    await until('a delivery after the cancel', () => received.includes(sent.id), 10_000);
  });

  it('confirms and delivers 5,000 messages exactly once under back-pressure', async () => {
    const queue = spec('bulk', { prefetch: 200 });
    const counts = new Map<string, number>();
    let total = 0;
    await bus.consume(queue, async (delivery) => {
      counts.set(delivery.id, (counts.get(delivery.id) ?? 0) + 1);
      total++;
    });
    const body = new Uint8Array(2_048).fill(7);
    const sent = Array.from({ length: 5_000 }, () => message(queue.routingKey, { body }));
    await Promise.all(sent.map((m) => bus.publish(m)));
    await until('all deliveries', () => total >= sent.length, 30_000);
    expect(total).toBe(sent.length);
    expect(counts.size).toBe(sent.length);
    expect(sent.every((m) => counts.get(m.id) === 1)).toBe(true);
    await until('an empty queue', async () => (await bus.queueDepth(queue.name)) === 0, 5_000);
  }, 60_000);
});
