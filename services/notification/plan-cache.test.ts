import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { type DeliveryPlan, DeliveryPlanSchema, RouteKind } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { PlanCache, type PlanKey } from './plan-cache.js';

const key = (recipient: PlanKey['recipient'], priority = Priority.MEDIUM): PlanKey => ({
  recipient,
  notificationType: 'invoice.overdue',
  priority,
  routeKind: RouteKind.PRIMARY,
});

function fixture(ttlMs = 5_000) {
  let now = 0;
  const asked: PlanKey[] = [];
  let release: (() => void) | undefined;
  let hold = false;
  const cache = new PlanCache(
    async (k) => {
      asked.push(k);
      if (hold) await new Promise<void>((resolve) => (release = resolve));
      return [create(DeliveryPlanSchema, { channel: Channel.IN_APP, address: `${asked.length}` })];
    },
    ttlMs,
    () => now,
  );
  return {
    cache,
    asked,
    tick: (ms: number) => (now += ms),
    hold: () => (hold = true),
    release: () => {
      hold = false;
      release?.();
    },
  };
}

const address = (plans: DeliveryPlan[]) => plans[0].address;

describe('PlanCache', () => {
  it('reuses an answer within the TTL and asks again after it', async () => {
    const f = fixture();
    expect(await f.cache.get(key({ userId: 'u1' }))).toMatchObject({ cached: false });
    expect(await f.cache.get(key({ userId: 'u1' }))).toMatchObject({ cached: true });
    f.tick(5_000);
    expect(await f.cache.get(key({ userId: 'u1' }))).toMatchObject({ cached: false });
    expect(f.asked).toHaveLength(2);
  });

  it('keys by recipient, type, priority and route kind', async () => {
    const f = fixture();
    await f.cache.get(key({ userId: 'u1' }));
    await f.cache.get(key({ userId: 'u1' }, Priority.CRITICAL));
    await f.cache.get(key({ topic: 'u1' }));
    await f.cache.get({ ...key({ topic: 'u1' }), routeKind: RouteKind.ESCALATION });
    expect(f.asked).toHaveLength(4);
  });

  it('shares one call among concurrent misses', async () => {
    const f = fixture();
    f.hold();
    const all = Promise.all(Array.from({ length: 20 }, () => f.cache.get(key({ userId: 'u1' }))));
    await new Promise((resolve) => setImmediate(resolve));
    f.release();
    const results = await all;
    expect(f.asked).toHaveLength(1);
    expect(new Set(results.map((r) => address(r.plans)))).toEqual(new Set(['1']));
  });

  it('drops a user\'s or topic\'s plans when they change, and only theirs', async () => {
    const f = fixture();
    await f.cache.get(key({ userId: 'u1' }));
    await f.cache.get(key({ userId: 'u2' }));
    await f.cache.get(key({ topic: 'sales' }));
    f.cache.invalidate({ userId: 'u1' });
    f.cache.invalidate({ topic: 'sales' });
    expect((await f.cache.get(key({ userId: 'u1' }))).cached).toBe(false);
    expect((await f.cache.get(key({ userId: 'u2' }))).cached).toBe(true);
    expect((await f.cache.get(key({ topic: 'sales' }))).cached).toBe(false);
  });

  it("drops every topic's plans, and no user's, when routes may name the one who changed", async () => {
    const f = fixture();
    await f.cache.get(key({ userId: 'u1' }));
    await f.cache.get(key({ topic: 'sales' }));
    await f.cache.get(key({ topic: 'review' }));
    f.cache.invalidateTopics();
    expect((await f.cache.get(key({ userId: 'u1' }))).cached).toBe(true);
    expect((await f.cache.get(key({ topic: 'sales' }))).cached).toBe(false);
    expect((await f.cache.get(key({ topic: 'review' }))).cached).toBe(false);
    // A topic answer in flight when every topic was dropped is not kept either.
    f.hold();
    const pending = f.cache.get(key({ topic: 'pricing' }));
    await new Promise((resolve) => setImmediate(resolve));
    f.cache.invalidateTopics();
    f.release();
    await pending;
    expect((await f.cache.get(key({ topic: 'pricing' }))).cached).toBe(false);
  });

  it('does not keep an answer that was in flight when the change came', async () => {
    const f = fixture();
    f.hold();
    const pending = f.cache.get(key({ userId: 'u1' }));
    await new Promise((resolve) => setImmediate(resolve));
    f.cache.invalidate({ userId: 'u1' });
    f.release();
    await pending;
    expect((await f.cache.get(key({ userId: 'u1' }))).cached).toBe(false);
  });

  it('with TTL 0 always asks', async () => {
    const f = fixture(0);
    await f.cache.get(key({ userId: 'u1' }));
    await f.cache.get(key({ userId: 'u1' }));
    expect(f.asked).toHaveLength(2);
  });

  it('does not cache failures', async () => {
    let calls = 0;
    const cache = new PlanCache(async () => {
      calls++;
      throw new Error('down');
    }, 5_000);
    await expect(cache.get(key({ userId: 'u1' }))).rejects.toThrow('down');
    await expect(cache.get(key({ userId: 'u1' }))).rejects.toThrow('down');
    expect(calls).toBe(2);
  });
});
