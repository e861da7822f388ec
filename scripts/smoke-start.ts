// CI check that `npm start` works as the README says, on whatever Node runs this script: start the embedded
// mesh, wait for all six services to be ready, make the README's first call with the printed token (directly, and
// through the gateway that serves the console on 8080), stop it with SIGTERM and expect a clean exit.
import { spawn } from 'node:child_process';
import { SERVICE_NAMES, SERVICES } from '../services/platform/catalog.js';

const TIMEOUT_MS = 60_000;
const started = Date.now();
// Its own process group, so the stop signal reaches the service process itself: npm does not always pass SIGTERM on.
const child = spawn('npm', ['start'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, PULSE_API_TOKENS: '' } });
let output = '';
child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));

function fail(message: string): never {
  console.error(`smoke-start: ${message}\n--- output ---\n${output}`);
  process.kill(-child.pid!, 'SIGKILL');
  process.exit(1);
}

const deadline = Date.now() + TIMEOUT_MS;
/** Polls url until it answers 2xx and ready() holds, while npm start runs and time remains. */
async function waitReady(url: string, what: string, ready: () => boolean = () => true): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) fail(`npm start exited early with ${child.exitCode}`);
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok && ready()) return;
    if (Date.now() > deadline) fail(`${what} not ready within ${TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
for (const name of SERVICE_NAMES) await waitReady(`http://localhost:${SERVICES[name].port}/readyz`, name);
// The gateway opens once the console is built (on a fresh clone, while the services start), then the banner.
const GATEWAY = 'http://localhost:8080';
await waitReady(`${GATEWAY}/healthz`, 'the gateway (console)', () => output.includes('export PULSE_TOKEN='));
const readyMs = Date.now() - started;
const token = /export PULSE_TOKEN=(\S+)/.exec(output)?.[1];
if (!token) fail('no development token printed');
const res = await fetch(`http://localhost:${SERVICES.ingestion.port}/pulse.ingestion.v1.IngestionService/SubmitInteraction`, {
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ messageId: 'smoke-1', conversationId: 'smoke', customerId: 'c', author: 'AUTHOR_CUSTOMER', text: 'hello' }),
});
if (!res.ok) fail(`SubmitInteraction answered ${res.status}: ${await res.text()}`);
// The console and the one entry point: the page, and the same call through the gateway.
const page = await fetch(GATEWAY).then(async (r) => ({ ok: r.ok, csp: r.headers.get('content-security-policy'), text: await r.text() }), () => undefined);
if (!page?.ok || !page.csp || !page.text.includes('<div id="root">')) fail(`the console at ${GATEWAY} did not answer with its page and a CSP`);
const routed = await fetch(`${GATEWAY}/pulse.ingestion.v1.IngestionService/SubmitInteraction`, {
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ messageId: 'smoke-2', conversationId: 'smoke', customerId: 'c', author: 'AUTHOR_CUSTOMER', text: 'hello again' }),
});
if (!routed.ok) fail(`SubmitInteraction through the gateway answered ${routed.status}: ${await routed.text()}`);

process.kill(-child.pid!, 'SIGTERM');
const stopDeadline = Date.now() + 20_000;
const stopped = () => SERVICE_NAMES.every((name) => output.includes(`"msg":"${name} stopped"`));
while (!stopped()) {
  if (Date.now() > stopDeadline) fail('the services did not all stop gracefully within 20 s of SIGTERM');
  await new Promise((r) => setTimeout(r, 100));
}
console.log(`smoke-start: all six services and the console ready in ${readyMs} ms on Node ${process.version}; README call answered 200, directly and through the console's gateway; all stopped gracefully on SIGTERM`);
