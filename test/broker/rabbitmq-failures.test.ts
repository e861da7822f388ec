// The RabbitMQ event bus when things break: a consumer process dies holding a message, and the broker forcibly
// closes the connection while messages are being published and consumed.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BusMessage, QueueSpec } from '../../services/platform/bus/bus.js';
import { connectRabbitBus, type RabbitBus } from '../../services/platform/bus/rabbitmq.js';
import { topologyQueues } from '../../services/platform/bus/rabbitmq-topology.js';
import { createLogger } from '../../services/platform/log.js';
import { Metrics } from '../../services/platform/metrics.js';
import { brokerUrl, canUseRabbitmqctl, deleteQueues, describeBroker, forceCloseConnections, uniqueName } from '../support/broker.js';
import { until } from '../support/poll.js';

const RABBIT_BUS = fileURLToPath(new URL('../../services/platform/bus/rabbitmq.ts', import.meta.url));
const LOGGER = fileURLToPath(new URL('../../services/platform/log.ts', import.meta.url));
const METRICS = fileURLToPath(new URL('../../services/platform/metrics.ts', import.meta.url));

/** A separate process that consumes spec and holds every message forever, printing its id. */
function startHoldingConsumer(spec: QueueSpec): ChildProcess {
  const script = `
    const { connectRabbitBus } = await import(${JSON.stringify(RABBIT_BUS)});
    const { createLogger } = await import(${JSON.stringify(LOGGER)});
    const { Metrics } = await import(${JSON.stringify(METRICS)});
    const bus = await connectRabbitBus(process.env.AMQP_URL, { log: createLogger('holder', 'silent'), metrics: new Metrics('holder') });
    await bus.consume(JSON.parse(process.env.SPEC), (delivery) => {
      console.log('HOLDING ' + delivery.id);
      return new Promise(() => {});
    });
    console.log('READY');
  `;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, AMQP_URL: brokerUrl(), SPEC: JSON.stringify(spec) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

describeBroker('RabbitMQ event bus under failure', () => {
  const service = uniqueName();
  const connectionName = `pulse-test-${service}`;
  const metrics = new Metrics(service);
  const toDelete = new Set<string>();
  const children: ChildProcess[] = [];
  let bus: RabbitBus;
  let rabbitmqctl = false;

  function spec(purpose: string): QueueSpec & { routingKey: string } {
    const routingKey = `${service}.${purpose}.happened`;
    const queue: QueueSpec = {
      name: `pulse.${service}.${purpose}`,
      bindings: [routingKey],
      deadLetterQueue: `pulse.${service}.dlq`,
      prefetch: 10,
      maxAttempts: 3,
      retryDelaysMs: [200],
    };
    for (const name of topologyQueues(queue)) toDelete.add(name);
    return { ...queue, routingKey };
  }

  function message(routingKey: string, id: string): BusMessage {
    return { id, routingKey, type: 'pulse.test.v1.Happened', body: new Uint8Array([1, 2, 3]), headers: {}, timestamp: new Date() };
  }

  beforeAll(async () => {
    rabbitmqctl = await canUseRabbitmqctl();
    bus = await connectRabbitBus(brokerUrl(), {
      log: createLogger(service, process.env.LOG_LEVEL ?? 'silent'),
      metrics,
      connectionName,
      reconnectDelayMs: { initial: 400, max: 1_000 },
    });
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await bus?.close();
    await deleteQueues(toDelete);
  });

  it('redelivers a message whose consumer process died without acknowledging it', async () => {
    const queue = spec('redelivery');
    const holder = startHoldingConsumer(queue);
    children.push(holder);
    let output = '';
    holder.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await until('the holding consumer to start', () => output.includes('READY') || holder.exitCode !== null, 20_000);
    expect(holder.exitCode).toBeNull();

    const sent = message(queue.routingKey, `${service}-held`);
    await bus.publish(sent);
    await until('the holding consumer to take the message', () => output.includes(`HOLDING ${sent.id}`), 10_000);
    holder.kill('SIGKILL');

    const received: string[] = [];
    await bus.consume(queue, async (delivery) => void received.push(delivery.id));
    await until('the redelivery', () => received.length === 1, 10_000);
    expect(received).toEqual([sent.id]);
  }, 40_000);

  it('reconnects after the broker forcibly closes the connection, losing no confirmed publish', async (context) => {
    if (!rabbitmqctl) context.skip('rabbitmqctl cannot reach the broker, so the connection cannot be forced closed');
    const queue = spec('reconnect');
    const received = new Set<string>();
    await bus.consume(queue, async (delivery) => void received.add(delivery.id));
    await bus.publish(message(queue.routingKey, `${service}-first`));
    await until('the first delivery', () => received.has(`${service}-first`), 10_000);

    // Watch readiness and keep publishing throughout, retrying refused publishes as the outbox would.
    const readiness: boolean[] = [true];
    const watcher = setInterval(() => {
      if (bus.isReady() !== readiness.at(-1)) readiness.push(bus.isReady());
    }, 2);
    const confirmed: string[] = [];
    let refused = 0;
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; publishing; i++) {
        const id = `${service}-stream-${i}`;
        for (;;) {
          try {
            await bus.publish(message(queue.routingKey, id));
            confirmed.push(id);
            break;
          } catch {
            refused++;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    try {
      await until('publishing to get going', () => confirmed.length >= 20, 10_000);
      expect(await forceCloseConnections(connectionName)).toBe(1);
      await until('the bus to report not ready', () => readiness.includes(false), 10_000);
      await until('the bus to reconnect', () => bus.isReady(), 15_000);
      const afterReconnect = confirmed.length;
      await until('publishes after the reconnect', () => confirmed.length >= afterReconnect + 20, 10_000);
    } finally {
      publishing = false;
      clearInterval(watcher);
      await publisher;
    }

    expect(readiness).toEqual([true, false, true]);
    expect(refused).toBeGreaterThan(0); // while disconnected a publish is refused at once, not buffered
    expect((await metrics.busReconnects.get()).values[0]?.value).toBe(1);
    // At least once: every confirmed publish arrives through the resumed consumer (a refused one may too).
    await until('every confirmed publish to be delivered', () => confirmed.every((id) => received.has(id)), 10_000);
    console.info(`[reconnect] ${confirmed.length} confirmed, ${refused} refused while disconnected, ${received.size} distinct delivered`);
  }, 60_000);
});
