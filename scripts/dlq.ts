// Lists or replays a service's dead-letter queue on the broker at AMQP_URL.
//   tsx scripts/dlq.ts list pulse.sentiment.dlq [--limit 20]
//   tsx scripts/dlq.ts replay pulse.sentiment.dlq [--limit 10]
// Listing leaves the messages where they are and prints one JSON line each, without the body (it may hold
// personal data). Replaying sends each back to the queue it failed in, as a first attempt.
import { parseArgs } from 'node:util';
import { connectRabbitBus } from '../services/platform/bus/rabbitmq.js';
import { createLogger } from '../services/platform/log.js';
import { Metrics } from '../services/platform/metrics.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { limit: { type: 'string', default: '20' } } });
const [command, queue] = positionals;
const limit = Number(values.limit);
const url = process.env.AMQP_URL;
if ((command !== 'list' && command !== 'replay') || !queue || !Number.isInteger(limit) || limit < 1 || !url) {
  console.error('usage: AMQP_URL=amqp://... tsx scripts/dlq.ts list|replay pulse.<service>.dlq [--limit n]');
  process.exit(2);
}

const bus = await connectRabbitBus(url, { log: createLogger('dlq', 'warn'), metrics: new Metrics('dlq'), initialConnectRetries: 2 });
try {
  if (command === 'list') {
    for (const letter of await bus.deadLetters(queue, limit)) {
      const { id, routingKey, type, attempt, timestamp, sourceQueue, reason, body } = letter;
      console.log(JSON.stringify({ id, routing_key: routingKey, type, attempt, timestamp, source_queue: sourceQueue, reason, bytes: body.length }));
    }
  } else {
    console.log(`replayed ${await bus.replayDeadLetters(queue, limit)} message(s) from ${queue}`);
  }
} catch (err) {
  console.error(`dlq ${command} ${queue} failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await bus.close();
}
