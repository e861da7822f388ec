// `npm run start:mesh`: the six services as separate processes on RabbitMQ (AMQP_URL, default the local broker),
// with their logs interleaved and prefixed. Ctrl-C stops them all gracefully. Without MONGODB_URI each service
// journals its embedded store under PULSE_DATA_DIR (default .pulse-data/), so a restarted service keeps its data.
import { ProcessMesh } from './process-mesh.js';

const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672';
const mesh = await ProcessMesh.start({ amqpUrl, env: { PULSE_DATA_DIR: process.env.PULSE_DATA_DIR ?? '.pulse-data' } });
process.stdout.write(
  [
    '',
    'Pulse is running as six processes on RabbitMQ:',
    ...Object.entries(mesh.urls).map(([name, url]) => `  ${name.padEnd(13)} ${url}`),
    '',
    `Token for this run:\n  export PULSE_TOKEN=${mesh.token}`,
    '',
  ].join('\n') + '\n',
);
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    void mesh.stop().then(() => process.exit(0));
  });
}
