// Scenario 1's two sides, each in a process of its own: `publish` sends persistent messages with publisher
// confirms, keeping at most `window` unconfirmed; `consume` takes them with manual acks and a prefetch. Both
// report their counts to the parent over IPC once a second and when told to stop.
import { connect } from 'amqplib';

const [role, url, queue, windowArg, bodyHex, headersJson] = process.argv.slice(2);
const window = Number(windowArg);
const body = Buffer.from(bodyHex ?? '', 'hex');
const headers = JSON.parse(headersJson ?? '{}') as Record<string, unknown>;

const connection = await connect(url, { noDelay: true });
connection.on('error', () => {});
let count = 0;
let stopping = false;
const report = () => process.send?.({ count, at: Date.now() });
const timer = setInterval(report, 250);
process.on('message', async (message: { stop?: boolean }) => {
  if (!message.stop) return;
  stopping = true;
  clearInterval(timer);
  report();
  await connection.close().catch(() => {});
  process.exit(0);
});

if (role === 'consume') {
  const channel = await connection.createChannel();
  await channel.prefetch(window);
  // BENCH_ACK_BATCH=n: acknowledge every n-th message with `multiple` (what coalesced acks would cost the broker).
  const ackBatch = Number(process.env.BENCH_ACK_BATCH ?? '1');
  let unacked = 0;
  await channel.consume(queue, (message) => {
    if (!message) return;
    if (++unacked >= ackBatch) {
      channel.ack(message, ackBatch > 1);
      unacked = 0;
    }
    count++;
  });
  process.send?.({ ready: true });
} else {
  const channel = await connection.createConfirmChannel();
  let inFlight = 0;
  let seq = 0;
  let waiting: (() => void) | undefined;
  process.send?.({ ready: true });
  const confirmed = (err: unknown) => {
    inFlight--;
    if (!err) count++;
    if (waiting && inFlight < window) {
      const w = waiting;
      waiting = undefined;
      w();
    }
  };
  while (!stopping) {
    while (inFlight >= window) await new Promise<void>((resolve) => (waiting = resolve));
    inFlight++;
    seq++;
    const ms = Date.now();
    const ok = channel.publish('', queue, body, {
      persistent: true,
      mandatory: true,
      messageId: `evt_bench${seq}`,
      type: 'pulse.events.v1.InteractionReceived',
      contentType: 'application/x-protobuf',
      timestamp: Math.floor(ms / 1000),
      headers: { ...headers, 'x-pulse-timestamp-ms': ms },
    }, confirmed);
    if (!ok) await new Promise<void>((resolve) => channel.once('drain', resolve));
    if (seq % 64 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
