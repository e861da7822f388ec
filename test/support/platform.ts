// Test wiring shared by the services' tests: the platform's real unit of work (memory store, transactional outbox,
// embedded bus) and consumers, without a server. Several services' platforms may share one bus, as in the mesh.
import { trace } from '@opentelemetry/api';
import type { ConsumerSpec } from '../../services/platform/bus/consumer.js';
import { initInbox, startConsumer } from '../../services/platform/bus/consumer.js';
import { EmbeddedBus } from '../../services/platform/bus/embedded.js';
import { decodeEvent, type EventName, type EventOf } from '../../services/platform/bus/events.js';
import { Outbox, type OutboxRow } from '../../services/platform/bus/outbox.js';
import type { ServiceName } from '../../services/platform/catalog.js';
import { createLogger, type Logger } from '../../services/platform/log.js';
import { Metrics } from '../../services/platform/metrics.js';
import type { Collection, Doc, TxScope } from '../../services/platform/store/collection.js';
import { createTransact, type Transact } from '../../services/platform/unit-of-work.js';
import { openTestStore, type TestStore } from './store.js';

export interface TestPlatform {
  store: TestStore;
  bus: EmbeddedBus;
  metrics: Metrics;
  log: Logger;
  transaction: Transact;
  /** Starts an idempotent consumer as the platform would; stop it with cancel(). */
  consume<N extends EventName>(spec: ConsumerSpec<N>): ReturnType<typeof startConsumer>;
  /** Events of one name committed through the outbox so far, oldest first. */
  emitted<N extends EventName>(name: N): Promise<EventOf<N>[]>;
  close(): Promise<void>;
}

/** A service's platform on bus (its own, unless given one to share); close() closes the bus only if it is its own. */
export async function testPlatform(service: ServiceName, shared?: EmbeddedBus): Promise<TestPlatform> {
  const store = await openTestStore(`pulse_${service}`);
  const bus = shared ?? new EmbeddedBus();
  const metrics = new Metrics(service);
  const log = createLogger(service, 'silent');
  const tracer = trace.getTracer('test');
  const outbox = new Outbox(store, bus, { log, metrics, tracer });
  await outbox.init();
  await initInbox(store);
  const transaction = createTransact(store, outbox, bus);
  return {
    store,
    bus,
    metrics,
    log,
    transaction,
    consume: (spec) => startConsumer({ service, bus, store, transaction, tracer, metrics, log }, spec),
    async emitted(name) {
      const rows = await store.collection<OutboxRow>('outbox').find({ routingKey: name }, { sort: { createdAt: 1 } });
      return rows.map((row) => decodeEvent(row) as EventOf<typeof name>);
    },
    async close() {
      if (!shared) await bus.close();
      await store.close();
    },
  };
}

/**
 * The scope, with `other` run just before the first call of `method` on the collection `name`: forces another unit
 * of work in at the one point a race needs. `ran()` tells whether it came to that.
 */
export function interleaving<S extends TxScope>(
  scope: S,
  name: string,
  method: keyof Collection<Doc>,
  other: () => Promise<unknown>,
): { scope: S; ran: () => boolean } {
  let ran = false;
  const hook = (collection: Collection<Doc>) =>
    new Proxy(collection, {
      get: (target, key) =>
        key !== method
          ? Reflect.get(target, key)
          : async (...args: unknown[]) => {
              if (!ran) {
                ran = true;
                await other();
              }
              return (target[method] as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            },
    });
  const proxied = new Proxy(scope, {
    get: (target, key) =>
      key === 'collection' ? (n: string) => (n === name ? hook(target.collection(n)) : target.collection(n)) : Reflect.get(target, key),
  });
  return { scope: proxied, ran: () => ran };
}
