// The outbox and the inbox together: an event is published only if its unit of work committed, is published
// even if the process "crashed" before the fast path ran, and a redelivered event has its effect once.
import { create } from '@bufbuild/protobuf';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { ReviewResolvedSchema } from '../../../gen/pulse/events/v1/events_pb.js';
import { until } from '../../../test/support/poll.js';
import { createLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import type { Doc } from '../store/collection.js';
import { MemoryStore } from '../store/memory.js';
import { tracer } from '../tracing.js';
import { createTransact } from '../unit-of-work.js';
import type { BusMessage, Delivery } from './bus.js';
import { initInbox, startConsumer } from './consumer.js';
import { EmbeddedBus } from './embedded.js';
import { encodeEvent } from './events.js';
import { Outbox, type OutboxRow } from './outbox.js';

const log = createLogger('test', 'silent');

function setup() {
  const store = new MemoryStore('pulse_test');
  const bus = new EmbeddedBus();
  const metrics = new Metrics('test');
  const deps = { log, metrics, tracer: tracer('test') };
  const outbox = new Outbox(store, bus, deps);
  const transaction = createTransact(store, outbox, bus);
  return { store, bus, metrics, outbox, transaction, deps };
}

const resolved = (id: string) =>
  create(ReviewResolvedSchema, { eventId: id, occurredAt: timestampNow(), reviewId: `rev-${id}`, reviewer: 'ann' });

function capture(bus: EmbeddedBus) {
  const seen: Delivery[] = [];
  const ready = bus.consume(
    { name: 'pulse.probe.all', bindings: ['#'], deadLetterQueue: 'pulse.probe.dlq', prefetch: 100, maxAttempts: 1, retryDelaysMs: [1] },
    async (d) => void seen.push(d),
  );
  return { seen, ready };
}

describe('outbox', () => {
  it('publishes what a committed unit of work emitted, and nothing from one that failed', async () => {
    const { store, bus, transaction } = setup();
    const probe = capture(bus);
    await probe.ready;
    await transaction(async (tx) => {
      await tx.collection<Doc>('things').insertOne({ _id: 't1' });
      await tx.emit('review.resolved', resolved('e1'));
    });
    await expect(
      transaction(async (tx) => {
        await tx.emit('review.resolved', resolved('e2'));
        await tx.collection<Doc>('things').insertOne({ _id: 't1' }); // duplicate: the unit fails
      }),
    ).rejects.toThrow();
    await until('the event published', () => probe.seen.length === 1);
    expect(probe.seen[0]).toMatchObject({ id: 'e1', routingKey: 'review.resolved', type: 'pulse.events.v1.ReviewResolved' });
    expect(await store.collection<OutboxRow>('outbox').countDocuments({ _id: 'e2' })).toBe(0);
    await until('no unsent outbox row', async () => (await store.collection<OutboxRow>('outbox').countDocuments({ sentAt: null })) === 0);
  });

  it('publishes rows left behind by a crash before the fast path, on the next poll', async () => {
    const { store, bus, outbox } = setup();
    const probe = capture(bus);
    await probe.ready;
    // A "crash" right after commit: the row is written but publishCommitted never ran.
    await store.transaction((tx) => outbox.add(tx, 'review.resolved', resolved('lost-1')));
    expect(await outbox.poll(0)).toBe(1);
    await until('the event published', () => probe.seen.length === 1);
    expect(probe.seen[0].id).toBe('lost-1');
    expect(await outbox.poll(0)).toBe(0); // marked sent: not published twice
  });

  it('keeps a row unsent while the broker refuses it, and publishes it once the broker is back', async () => {
    const { store, bus, outbox } = setup();
    const probe = capture(bus);
    await probe.ready;
    const realPublish = bus.publish.bind(bus);
    let down = true;
    bus.publish = async (m: BusMessage) => {
      if (down) throw new Error('connection closed');
      return realPublish(m);
    };
    const row = await store.transaction((tx) => outbox.add(tx, 'review.resolved', resolved('e-down')));
    outbox.publishCommitted([row]);
    await until('the poll to find nothing it can publish', async () => (await outbox.poll(0)) === 0);
    expect(probe.seen).toHaveLength(0);
    expect((await store.collection<OutboxRow>('outbox').findOne({ _id: 'e-down' }))!.sentAt).toBeNull();
    down = false;
    expect(await outbox.poll(0)).toBe(1);
    await until('the event published', () => probe.seen.length === 1);
  });

  it('keeps sent rows for its retention only, and unsent rows until they are sent', async () => {
    const { store, bus, deps } = setup();
    const outbox = new Outbox(store, bus, deps, 60);
    await outbox.init();
    const transaction = createTransact(store, outbox, bus);
    await transaction(async (tx) => void (await tx.emit('review.resolved', resolved('kept'))));
    const rows = store.collection<OutboxRow>('outbox');
    await until('the row marked sent', async () => (await rows.findOne({ _id: 'kept' }))?.sentAt != null);
    // A row committed but never published (a crash before the fast path).
    await store.collection<OutboxRow>('outbox').insertOne({ ...(await rows.findOne({ _id: 'kept' }))!, _id: 'unsent', sentAt: null });
    const sentAt = (await rows.findOne({ _id: 'kept' }))!.sentAt!.getTime();
    store.sweepExpired(new Date(sentAt + 59_000));
    expect(await rows.findOne({ _id: 'kept' })).not.toBeNull();
    store.sweepExpired(new Date(sentAt + 61_000));
    expect(await rows.findOne({ _id: 'kept' })).toBeNull();
    expect(await rows.findOne({ _id: 'unsent' })).not.toBeNull();
  });
});

describe('idempotent consumer', () => {
  it('has its effect once when the same event arrives twice, and retries cleanly after a failure', async () => {
    const { store, bus, transaction, deps, metrics } = setup();
    await initInbox(store);
    let calls = 0;
    let failNext = true;
    const duplicates = async () =>
      (await metrics.eventsConsumed.get()).values.find((v) => v.labels.outcome === 'duplicate')?.value ?? 0;
    await startConsumer(
      { service: 'test', bus, store, transaction, ...deps },
      {
        purpose: 'resolved',
        events: ['review.resolved'],
        retryDelaysMs: [5],
        handle: async (event, tx) => {
          calls++;
          await tx.collection<Doc & { n: number }>('effects').insertOne({ _id: `effect-${event.reviewId}-${calls}`, n: calls });
          if (failNext) {
            failNext = false;
            throw new Error('transient');
          }
        },
      },
    );
    const msg = (): BusMessage => ({
      id: 'evt-1',
      routingKey: 'review.resolved',
      ...encodeEvent('review.resolved', resolved('evt-1')),
      headers: {},
      timestamp: new Date(),
    });
    await bus.publish(msg());
    await until('the effect', async () => (await store.collection('effects').countDocuments()) === 1);
    await bus.publish(msg()); // redelivery of the same event id
    await until('the duplicate counted', async () => (await duplicates()) === 1);
    const effects = await store.collection<Doc & { n: number }>('effects').find({});
    expect(effects.map((e) => e.n)).toEqual([2]); // the failed attempt's write was rolled back
    expect(calls).toBe(2);
    expect(await store.collection('inbox').countDocuments()).toBe(1);
  });

  it('dead-letters an undecodable body at once', async () => {
    const { store, bus, transaction, deps } = setup();
    await initInbox(store);
    let calls = 0;
    await startConsumer(
      { service: 'test', bus, store, transaction, ...deps },
      { purpose: 'resolved', events: ['review.resolved'], handle: async () => void calls++ },
    );
    await bus.publish({ id: 'bad', routingKey: 'review.resolved', type: 'pulse.events.v1.ReviewResolved', body: new Uint8Array([0xff, 0xff, 0xff]), headers: {}, timestamp: new Date() });
    await bus.publish({ id: 'wrong-type', routingKey: 'review.resolved', type: 'evil.Type', body: new Uint8Array(), headers: {}, timestamp: new Date() });
    await until('both dead letters', () => bus.peek('pulse.test.dlq').length === 2);
    expect(calls).toBe(0);
  });
});
