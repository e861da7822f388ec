// Scenario 1: the broker's own limit on this machine, the yardstick for the mesh. Raw amqplib, no Pulse code:
// one process publishes persistent messages (the size of a realistic InteractionReceived with Pulse's
// properties and headers) with publisher confirms to one durable queue, another consumes them with manual acks,
// both through the same RabbitMQ the mesh uses, in a private virtual host.
import { type ChildProcess, fork } from 'node:child_process';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { connect } from 'amqplib';
import { Author } from '../../gen/pulse/common/v1/conversation_pb.js';
import { InteractionReceivedSchema } from '../../gen/pulse/events/v1/events_pb.js';
import { encodeEvent } from '../../services/platform/bus/events.js';
import { newId } from '../../services/platform/ids.js';
import type { Context } from '../lib/context.js';
import { ROOT } from '../lib/mesh.js';
import { brokerPid, CpuMeter, waitQuiet } from '../lib/procstat.js';
import { createVhost } from '../../test/support/vhost.js';
import { VHOST_PREFIX } from '../lib/rabbit.js';
import { log, table } from '../lib/report.js';
import { round, sleep } from '../lib/stats.js';
import { CALM_TEXTS } from '../lib/workload.js';

export interface BrokerResult {
  confirmWindow: number;
  prefetch: number;
  /** Classic queue storage version (x-queue-version); 1 is the broker's default. */
  queueVersion: number;
  published: number;
  consumed: number;
  /** Consumed (acked) messages per second over the steady part. */
  messagesPerSecond: number;
  publishedPerSecond: number;
  cpuCores: Record<string, number>;
}

/** A realistic event: what ingestion publishes for one chat message, with the same AMQP properties and headers. */
export function sampleEvent(): { body: Buffer; headers: Record<string, string> } {
  const now = new Date();
  const event = create(InteractionReceivedSchema, {
    eventId: newId('evt'),
    occurredAt: timestampFromDate(now),
    messageId: 'r1abc-m123456',
    conversationId: 'r1abc-c1234',
    customerId: 'r1abc-cust321',
    agentId: 'agent-17',
    author: Author.CUSTOMER,
    channel: 'chat',
    text: CALM_TEXTS[1],
    writtenAt: timestampFromDate(now),
  });
  const { body } = encodeEvent('customer.interaction.new', event);
  return { body: Buffer.from(body), headers: { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` } };
}

function worker(args: string[]): Promise<{ child: ChildProcess; last: () => { count: number; at: number } }> {
  const child = fork(`${ROOT}/bench/workers/amqp.ts`, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let last = { count: 0, at: Date.now() };
  return new Promise((resolve, reject) => {
    child.on('message', (m: { ready?: boolean; count?: number; at?: number }) => {
      if (m.ready) resolve({ child, last: () => last });
      else last = { count: m.count!, at: m.at! };
    });
    child.once('exit', (code) => reject(new Error(`amqp worker exited with ${code}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send({ stop: true });
  await exited;
}

/**
 * The short yardstick run beside the mesh scenarios when scenario 1 itself is not asked for: the mesh's figures
 * are compared with the broker's limit measured in the same run, on the same machine state.
 */
export const YARDSTICK: Context['profile']['broker'] = { durationMs: 8_000, settings: [{ confirmWindow: 256, prefetch: 256 }] };

export async function runBroker(ctx: Context, plan = ctx.profile.broker): Promise<{ results: BrokerResult[]; best: BrokerResult; eventBytes: number }> {
  const { body, headers } = sampleEvent();
  const results: BrokerResult[] = [];
  const broker = brokerPid();
  for (const setting of plan.settings) {
    const vhost = await createVhost(VHOST_PREFIX);
    try {
      const queue = 'bench.broker';
      const connection = await connect(vhost.url);
      const channel = await connection.createChannel();
      await channel.assertQueue(queue, { durable: true, arguments: setting.queueVersion ? { 'x-queue-version': setting.queueVersion } : {} });
      await connection.close();
      await waitQuiet(() => (broker ? [broker, process.pid] : [process.pid]), 0.25, ctx.profile.quietMaxWaitMs);
      log(`broker: confirm window ${setting.confirmWindow}, prefetch ${setting.prefetch}, queue version ${setting.queueVersion ?? 1} (${plan.durationMs / 1000} s)`);
      const consumer = await worker(['consume', vhost.url, queue, String(setting.prefetch)]);
      const publisher = await worker(['publish', vhost.url, queue, String(setting.confirmWindow), body.toString('hex'), JSON.stringify(headers)]);
      const meter = new CpuMeter(() => ({
        publisher: [publisher.child.pid!],
        consumer: [consumer.child.pid!],
        ...(broker ? { rabbitmq: [broker] } : {}),
      }));
      // The first quarter warms up; the rest is measured.
      await sleep(plan.durationMs / 4);
      meter.begin();
      const c0 = consumer.last();
      const p0 = publisher.last();
      await sleep((plan.durationMs * 3) / 4);
      const c1 = consumer.last();
      const p1 = publisher.last();
      const cpuCores = meter.end();
      // A worker whose connection was dropped (someone else's test closing connections) exits mid-measurement.
      const died = [publisher, consumer].some((w) => w.child.exitCode !== null || w.child.signalCode !== null);
      await stop(publisher.child);
      await stop(consumer.child);
      if (died) throw new Error('an amqp worker exited during the measurement (its connection was closed?)');
      const result: BrokerResult = {
        confirmWindow: setting.confirmWindow,
        prefetch: setting.prefetch,
        queueVersion: setting.queueVersion ?? 1,
        published: p1.count,
        consumed: c1.count,
        messagesPerSecond: round(((c1.count - c0.count) / (c1.at - c0.at)) * 1000),
        publishedPerSecond: round(((p1.count - p0.count) / (p1.at - p0.at)) * 1000),
        cpuCores,
      };
      results.push(result);
      log(`broker: ${result.messagesPerSecond} msg/s consumed, ${result.publishedPerSecond} msg/s confirmed, cpu ${JSON.stringify(cpuCores)}`);
    } finally {
      await vhost.remove();
    }
  }
  const best = results.reduce((a, b) => (b.messagesPerSecond > a.messagesPerSecond ? b : a));
  process.stdout.write(
    table(
      `Scenario 1 - broker limit: raw amqplib, persistent ${body.length}-byte InteractionReceived, confirm -> consume with ack, one durable queue`,
      ['confirm window', 'prefetch', 'queue version', 'consumed msg/s', 'confirmed msg/s', 'cpu rabbitmq', 'cpu publisher', 'cpu consumer', 'cpu other'],
      results.map((r) => [String(r.confirmWindow), r.prefetch, r.queueVersion, r.messagesPerSecond, r.publishedPerSecond, r.cpuCores.rabbitmq, r.cpuCores.publisher, r.cpuCores.consumer, r.cpuCores.other]),
    ) + '\n',
  );
  return { results, best, eventBytes: body.length };
}
