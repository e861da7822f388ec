import { describe, expect, it } from 'vitest';
import { type BusMessage, type Delivery, DEAD_LETTER_REASON_HEADER, PermanentError, type QueueSpec, topicMatches } from './bus.js';
import { until } from '../../../test/support/poll.js';
import { EmbeddedBus } from './embedded.js';

const spec = (overrides: Partial<QueueSpec> = {}): QueueSpec => ({
  name: 'pulse.test.work',
  bindings: ['thing.*'],
  deadLetterQueue: 'pulse.test.dlq',
  prefetch: 2,
  maxAttempts: 3,
  retryDelaysMs: [5, 10],
  ...overrides,
});

const message = (id: string, routingKey = 'thing.created'): BusMessage => ({
  id,
  routingKey,
  type: 'test.Thing',
  body: new Uint8Array([1, 2, 3]),
  headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  timestamp: new Date(),
});

describe('topic matching', () => {
  it.each([
    ['a.b', 'a.b', true],
    ['a.*', 'a.b', true],
    ['a.*', 'a.b.c', false],
    ['a.#', 'a', true],
    ['a.#', 'a.b.c', true],
    ['#.c', 'a.b.c', true],
    ['a.*.c', 'a.x.c', true],
    ['a.b', 'a.c', false],
  ])('%s ~ %s = %s', (pattern, key, expected) => expect(topicMatches(pattern, key)).toBe(expected));
});

describe('EmbeddedBus', () => {
  it('routes by binding and hands over body, id and headers', async () => {
    const bus = new EmbeddedBus();
    const got: Delivery[] = [];
    await bus.consume(spec(), async (d) => void got.push(d));
    await bus.publish(message('m1'));
    await bus.publish(message('m2', 'other.created'));
    await until('the delivery', () => got.length === 1);
    expect(got[0]).toMatchObject({ id: 'm1', routingKey: 'thing.created', attempt: 1, queue: 'pulse.test.work' });
    expect(got[0].headers.traceparent).toBeDefined();
    await bus.close();
  });

  it('keeps at most prefetch messages in hand', async () => {
    const bus = new EmbeddedBus();
    let inHand = 0;
    let most = 0;
    let done = 0;
    await bus.consume(spec({ prefetch: 3 }), async () => {
      most = Math.max(most, ++inHand);
      await new Promise((r) => setTimeout(r, 2));
      inHand--;
      done++;
    });
    for (let i = 0; i < 20; i++) await bus.publish(message(`m${i}`));
    await until('all 20 handled', () => done === 20);
    expect(most).toBe(3);
    await bus.close();
  });

  it('retries with backoff, then dead-letters with the reason', async () => {
    const bus = new EmbeddedBus();
    const attempts: number[] = [];
    await bus.consume(spec(), async (d) => {
      attempts.push(d.attempt);
      throw new Error('store unavailable');
    });
    await bus.publish(message('m1'));
    await until('the dead letter', () => bus.peek('pulse.test.dlq').length === 1);
    expect(attempts).toEqual([1, 2, 3]);
    expect(bus.peek('pulse.test.dlq')[0].headers[DEAD_LETTER_REASON_HEADER]).toBe('store unavailable');
    await bus.close();
  });

  it('dead-letters a permanent failure at once', async () => {
    const bus = new EmbeddedBus();
    let attempts = 0;
    await bus.consume(spec(), async () => {
      attempts++;
      throw new PermanentError('undecodable body');
    });
    await bus.publish(message('m1'));
    await until('the dead letter', () => bus.peek('pulse.test.dlq').length === 1);
    expect(attempts).toBe(1);
    await bus.close();
  });
});
