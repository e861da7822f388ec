// Batched consumers on a real broker: amqplib hands messages over one by one, and the consumer gathers those that
// arrive together into one unit of work (one journal frame), then acknowledges them all once it committed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import { connect } from 'amqplib';
import { afterAll, expect, it } from 'vitest';
import { ReviewResolvedSchema } from '../../gen/pulse/events/v1/events_pb.js';
import { initInbox, startConsumer } from '../../services/platform/bus/consumer.js';
import { encodeEvent } from '../../services/platform/bus/events.js';
import { Outbox } from '../../services/platform/bus/outbox.js';
import { connectRabbitBus } from '../../services/platform/bus/rabbitmq.js';
import { forwardOptions } from '../../services/platform/bus/rabbitmq-message.js';
import { topologyQueues } from '../../services/platform/bus/rabbitmq-topology.js';
import { createLogger } from '../../services/platform/log.js';
import { Metrics } from '../../services/platform/metrics.js';
import type { Doc } from '../../services/platform/store/collection.js';
import { MemoryStore } from '../../services/platform/store/memory.js';
import { tracer } from '../../services/platform/tracing.js';
import { createTransact } from '../../services/platform/unit-of-work.js';
import { brokerUrl, deleteQueues, describeBroker, queueInfo, uniqueName } from '../support/broker.js';
import { until } from '../support/poll.js';
import { journalFrames } from '../store/journal-frames.js';

const EVENTS = 300;

describeBroker('batched consumer on RabbitMQ', () => {
  const service = uniqueName();
  const dir = mkdtempSync(join(tmpdir(), 'pulse-batch-broker-'));
  const cleanUp: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const step of cleanUp.reverse()) await step().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits the messages that arrive together as one unit of work, each once, and acknowledges them all', async () => {
    const log = createLogger(service, process.env.LOG_LEVEL ?? 'silent');
    const metrics = new Metrics(service);
    const bus = await connectRabbitBus(brokerUrl(), { log, metrics });
    cleanUp.push(() => bus.close());
    const store = MemoryStore.withJournal('pulse_batch_broker', dir);
    cleanUp.push(() => store.close());
    const deps = { log, metrics, tracer: tracer(service) };
    await initInbox(store);
    let calls = 0;
    const consumer = await startConsumer(
      { service, bus, store, transaction: createTransact(store, new Outbox(store, bus, deps), bus), ...deps },
      {
        purpose: 'batched',
        events: ['review.resolved'],
        prefetch: 100,
        handle: async (event, tx) => {
          calls++;
          await tx.collection<Doc & { n: number }>('effects').updateOne({ _id: event.eventId }, { $inc: { n: 1 } }, { upsert: true });
        },
      },
    );
    const queue = `pulse.${service}.batched`;
    cleanUp.push(() => deleteQueues(topologyQueues({ name: queue, bindings: [], deadLetterQueue: `pulse.${service}.dlq`, prefetch: 1, maxAttempts: 1, retryDelaysMs: [] })));

    const frames = () => journalFrames(join(dir, 'pulse_batch_broker.journal'));
    const before = frames();
    // Straight into the queue (not through the shared exchange, where other tests' consumers might bind the key).
    const sender = await connect(brokerUrl());
    sender.on('error', () => {});
    cleanUp.push(() => sender.close());
    const channel = await sender.createConfirmChannel();
    for (let i = 0; i < EVENTS; i++) {
      const id = `${service}-${i}`;
      const event = create(ReviewResolvedSchema, { eventId: id, occurredAt: timestampNow(), reviewId: `rev-${i}`, reviewer: 'ann' });
      const delivery = { id, routingKey: 'review.resolved', ...encodeEvent('review.resolved', event), headers: {}, timestamp: new Date(), queue, attempt: 1 };
      channel.sendToQueue(queue, Buffer.from(delivery.body), forwardOptions(delivery));
    }
    await channel.waitForConfirms();

    const effects = store.collection<Doc & { n: number }>('effects');
    await until('every message handled', async () => (await effects.countDocuments({ n: 1 })) === EVENTS, 20_000);
    expect(await effects.countDocuments({ n: { $gt: 1 } })).toBe(0);
    expect(calls).toBe(EVENTS);
    // Batches of several messages each: far fewer commits than messages.
    expect(frames() - before).toBeLessThanOrEqual(EVENTS / 5);
    // Acknowledged: once the consumer's channel is closed, nothing unacknowledged goes back to the queue.
    await consumer.cancel();
    expect((await queueInfo(queue))?.messageCount).toBe(0);
  });
});
