// Acks: acknowledgements settled together go to the broker as few acks as possible, and never cover a delivery
// that is still being handled or was requeued.
import type { ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { Acks } from './rabbitmq-consumer.js';

function deliveries(n: number): ConsumeMessage[] {
  return Array.from({ length: n }, (_, i) => ({ fields: { deliveryTag: i + 1 } }) as unknown as ConsumeMessage);
}

function harness() {
  const sent: string[] = [];
  let pending: (() => void) | undefined;
  const acks = new Acks(
    { ack: (message: ConsumeMessage, allUpTo?: boolean) => void sent.push(`${message.fields.deliveryTag}${allUpTo ? '*' : ''}`) },
    (flush) => (pending = flush),
  );
  const tick = () => {
    const flush = pending;
    pending = undefined;
    flush?.();
  };
  return { acks, sent, tick };
}

describe('Acks', () => {
  it('acknowledges a settled run at the head with one multiple ack, the rest one by one', () => {
    const { acks, sent, tick } = harness();
    const m = deliveries(6);
    for (const message of m) acks.delivered(message);
    for (const i of [1, 0, 2, 4]) acks.ack(m[i]);
    expect(sent).toEqual([]); // nothing before the end of the turn
    tick();
    expect(sent).toEqual(['3*', '5']);
    acks.ack(m[3]);
    acks.ack(m[5]);
    tick();
    // 4 heads the open ones now; 6 follows 5, which was acknowledged on its own: a multiple ack up to 6 is right.
    expect(sent).toEqual(['3*', '5', '6*']);
  });

  it('never covers a requeued delivery or one still in hand', () => {
    const { acks, sent, tick } = harness();
    const m = deliveries(4);
    for (const message of m) acks.delivered(message);
    acks.forget(m[0]); // requeued
    acks.ack(m[1]);
    acks.ack(m[3]);
    tick();
    expect(sent).toEqual(['2', '4']);
    acks.ack(m[2]);
    tick();
    expect(sent).toEqual(['2', '4', '3']);
  });

  it('flushes at once when asked (before the channel closes)', () => {
    const { acks, sent } = harness();
    const m = deliveries(2);
    for (const message of m) acks.delivered(message);
    acks.ack(m[0]);
    acks.ack(m[1]);
    acks.flush();
    expect(sent).toEqual(['2*']);
  });
});
