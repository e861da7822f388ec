// Batched units of work: the events a consumer has in hand commit together, as one journal frame; a failing event
// is retried alone while the others commit once; duplicates (redelivered, or twice in one batch) are skipped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import { afterEach, describe, expect, it } from 'vitest';
import { ReviewResolvedSchema } from '../../../gen/pulse/events/v1/events_pb.js';
import { journalFrames } from '../../../test/store/journal-frames.js';
import { until } from '../../../test/support/poll.js';
import { createLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import type { Doc } from '../store/collection.js';
import { MemoryStore } from '../store/memory.js';
import { tracer } from '../tracing.js';
import { createTransact } from '../unit-of-work.js';
import type { BusMessage } from './bus.js';
import { type ConsumerSpec, initInbox, startConsumer } from './consumer.js';
import { EmbeddedBus } from './embedded.js';
import { encodeEvent } from './events.js';
import { Outbox } from './outbox.js';

const log = createLogger('test', 'silent');

interface Effect extends Doc {
  commits: number;
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function setup(handle: ConsumerSpec<'review.resolved'> & { inbox?: true }) {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-batch-'));
  dirs.push(dir);
  const store = MemoryStore.withJournal('pulse_batch', dir);
  const bus = new EmbeddedBus();
  const metrics = new Metrics('test');
  const deps = { log, metrics, tracer: tracer('test') };
  const transaction = createTransact(store, new Outbox(store, bus, deps), bus);
  await initInbox(store);
  await startConsumer({ service: 'test', bus, store, transaction, ...deps }, handle);
  const frames = () => journalFrames(join(dir, 'pulse_batch.journal'));
  const consumed = async (outcome: string) =>
    (await metrics.eventsConsumed.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  const effects = async () =>
    Object.fromEntries((await store.collection<Effect>('effects').find({})).map((effect) => [effect._id, effect.commits]));
  /** Publishes the events in one turn of the event loop, so the consumer has them in hand at once. */
  const publish = (ids: string[]) => Promise.all(ids.map((id) => bus.publish(message(id))));
  return { store, bus, frames, consumed, effects, publish };
}

function message(id: string): BusMessage {
  const event = create(ReviewResolvedSchema, { eventId: id, occurredAt: timestampNow(), reviewId: `rev-${id}`, reviewer: 'ann' });
  return { id, routingKey: 'review.resolved', ...encodeEvent('review.resolved', event), headers: {}, timestamp: new Date() };
}

/** A consumer counting, per event, its handler's calls and (in the store) its committed effects. */
function counting(fail: (eventId: string, call: number) => boolean = () => false) {
  const calls = new Map<string, number>();
  const spec: ConsumerSpec<'review.resolved'> & { inbox?: true } = {
    purpose: 'resolved',
    events: ['review.resolved'],
    retryDelaysMs: [5],
    handle: async (event, tx) => {
      const call = (calls.get(event.eventId) ?? 0) + 1;
      calls.set(event.eventId, call);
      await tx.collection<Effect>('effects').updateOne({ _id: event.eventId }, { $inc: { commits: 1 } }, { upsert: true });
      if (fail(event.eventId, call)) throw new Error(`handler failed on ${event.eventId}`);
    },
  };
  return { spec, calls };
}

describe('batched consumer', () => {
  it('handles the events in hand in one unit of work: one journal frame for the batch', async () => {
    const { spec, calls } = counting();
    const { frames, consumed, effects, publish } = await setup(spec);
    const before = frames();
    await publish(['e1', 'e2', 'e3', 'e4', 'e5']);
    await until('all five handled', async () => (await consumed('processed')) === 5);
    expect(frames() - before).toBe(1);
    expect(await effects()).toEqual({ e1: 1, e2: 1, e3: 1, e4: 1, e5: 1 });
    expect([...calls.values()]).toEqual([1, 1, 1, 1, 1]);
  });

  it('retries a failing event alone, while the others of its batch commit once', async () => {
    // e3 fails in the batch and again alone; its retry (a later attempt) succeeds.
    const { spec, calls } = counting((id, call) => id === 'e3' && call <= 2);
    const { store, consumed, effects, publish } = await setup(spec);
    await publish(['e1', 'e2', 'e3', 'e4']);
    await until('all four handled', async () => (await consumed('processed')) === 4);
    expect(await consumed('retried')).toBe(1);
    expect(await consumed('duplicate')).toBe(0);
    expect(await effects()).toEqual({ e1: 1, e2: 1, e3: 1, e4: 1 });
    // The batch ran the handlers up to e3's failure, then each event ran alone; e3 once more, on its retry.
    expect(Object.fromEntries(calls)).toEqual({ e1: 2, e2: 2, e3: 3, e4: 1 });
    expect(await store.collection('inbox').countDocuments()).toBe(4);
  });

  it('skips the events of a batch already handled, and an event that is twice in the batch', async () => {
    const { spec, calls } = counting();
    const { frames, consumed, effects, publish } = await setup(spec);
    await publish(['e1']);
    await until('the first handled', async () => (await consumed('processed')) === 1);
    const before = frames();
    await publish(['e2', 'e1', 'e2', 'e3']); // e1 redelivered; e2 published twice
    await until('the batch handled', async () => (await consumed('processed')) + (await consumed('duplicate')) === 5);
    expect(await consumed('processed')).toBe(3);
    expect(await consumed('duplicate')).toBe(2);
    expect(frames() - before).toBe(1);
    expect(await effects()).toEqual({ e1: 1, e2: 1, e3: 1 });
    expect(Object.fromEntries(calls)).toEqual({ e1: 1, e2: 1, e3: 1 });
  });
});
