// Scenario 5: the embedded mesh (`npm start`: six services in one process, embedded bus, in-memory stores).
//   - time from spawning `npm start` to every service answering /readyz;
//   - resident memory idle, then after scenario 3's load (dispatch, closed loop, for a while), then during a soak
//     at half the rate that load reached, sampled throughout: the slope of a least-squares line through the
//     samples after the first fifth says whether memory keeps growing (MB per minute).
// The memory figure is the RSS of the Node process that runs the mesh; the npm and tsx launcher processes in
// front of it are reported separately.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { SERVICE_NAMES, SERVICES, type ServiceName } from '../../services/platform/catalog.js';
import { benchClients } from '../lib/clients.js';
import type { Context } from '../lib/context.js';
import { type Due, openLoop, windowed } from '../lib/load.js';
import { ROOT } from '../lib/mesh.js';
import { CpuMeter, processTree, rssBytes, waitQuiet } from '../lib/procstat.js';
import { log, table } from '../lib/report.js';
import { epochMs, linearFit, round, sleep } from '../lib/stats.js';
import { createUsers, notificationRequest, UNLIMITED_RATES } from './dispatch.js';

const MB = 2 ** 20;

async function portFree(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

async function counter(url: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && wanted.every((pair) => line.includes(pair))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

export interface EmbeddedResult {
  launcher: string;
  readyMs: number;
  rssIdleMb: number;
  rssLaunchersMb: number;
  load: { durationS: number; acceptedPerSecond: number; deliveredPerSecond: number; rssAfterMb: number; cpuCores: Record<string, number> };
  soak: {
    durationS: number;
    rate: number;
    deliveredPerSecond: number;
    rssStartMb: number;
    rssEndMb: number;
    heapEndMb: number;
    rssSlopeMbPerMin: number;
    heapSlopeMbPerMin: number;
    r2: number;
    backlogAtEnd: number;
    cpuCores: Record<string, number>;
    samples: { s: number; rssMb: number; heapMb: number; through: number }[];
  };
}

/** The Node process that runs the mesh: the largest of the launcher's tree (npm, sh, tsx, node, esbuild). */
function meshPid(root: number): number {
  return processTree(root).reduce((a, b) => (rssBytes([b]) > rssBytes([a]) ? b : a));
}

export async function runEmbedded(ctx: Context): Promise<EmbeddedResult> {
  const p = ctx.profile.embedded;
  const standard = (await Promise.all(SERVICE_NAMES.map((name) => portFree(SERVICES[name].port)))).every(Boolean);
  const env = {
    ...process.env,
    ...UNLIMITED_RATES,
    PULSE_API_TOKENS: undefined,
    PULSE_SERVICE_TOKEN: undefined,
    AMQP_URL: undefined,
    MONGODB_URI: undefined,
    PULSE_DATA_DIR: undefined,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  };
  await waitQuiet(() => [process.pid]);
  // `npm start` itself when its ports are free; otherwise the same startMesh() on free ports.
  const launcher = standard ? 'npm start' : 'bench/workers/embedded.ts (standard ports taken)';
  log(`embedded: starting with ${launcher}`);
  const started = performance.now();
  const child: ChildProcess = standard
    ? spawn('npm', ['start', '--silent'], { cwd: ROOT, env: { ...env, PATH: `${process.execPath.replace(/\/node$/, '')}:${process.env.PATH}` }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    : spawn(process.execPath, ['--import', 'tsx', '--import', './services/platform/telemetry-register.ts', 'bench/workers/embedded.ts'], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
  try {
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    if (output.length < 100_000) output += chunk.toString();
  });
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    if (errors.length < 20_000) errors += chunk.toString();
  });
  let urls: Record<ServiceName, string>;
  let workerToken: string | undefined;
  if (standard) {
    urls = Object.fromEntries(SERVICE_NAMES.map((name) => [name, `http://127.0.0.1:${SERVICES[name].port}`])) as Record<ServiceName, string>;
  } else {
    while (!output.includes('"urls"')) {
      if (child.exitCode !== null) throw new Error(`embedded mesh exited: ${output}`);
      await sleep(20);
    }
    ({ urls, token: workerToken } = JSON.parse(output.split('\n').find((line) => line.includes('"urls"'))!));
  }
  const deadline = Date.now() + 60_000;
  for (const name of SERVICE_NAMES) {
    for (;;) {
      const ok = await fetch(`${urls[name]}/readyz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
      if (ok) break;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`embedded mesh never got ready: ${output.slice(-2_000)} ${errors.slice(-2_000)}`);
      await sleep(20);
    }
  }
  const readyMs = round(performance.now() - started);
  {
    const tokenMatch = /export PULSE_TOKEN=(\S+)/.exec(output);
    const clients = benchClients(urls, workerToken ?? tokenMatch?.[1] ?? '');
    const pid = meshPid(child.pid!);
    const launchers = processTree(child.pid!).filter((x) => x !== pid);
    await sleep(5_000);
    const rssIdleMb = round(rssBytes([pid]) / MB, 1);
    const rssLaunchersMb = round(rssBytes(launchers) / MB, 1);
    log(`embedded: ready in ${readyMs} ms; idle RSS ${rssIdleMb} MB (launchers ${rssLaunchersMb} MB)`);

    const users = ctx.profile.dispatch.users;
    await createUsers(clients, users);
    const throughNow = async () =>
      (await counter(urls.status, 'pulse_notification_deliveries_final_total', { channel: 'in_app', state: 'delivered' })) +
      (await counter(urls.notification, 'pulse_delivery_attempts_total', { channel: 'email', outcome: 'sent' }));
    let done = await throughNow();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        done = await throughNow().catch(() => done);
        await sleep(100);
      }
    })();
    let accepted = 0;
    const send = (run: string) => (items: Due[]) => {
      clients.notification.sendNotifications({ notifications: items.map((item) => notificationRequest(run, item.index, users)) }).then(
        (res) => (accepted += res.acceptedCount),
        () => {},
      );
    };
    const meter = new CpuMeter(() => ({ mesh: [pid], bench: [process.pid] }));

    // Scenario 3's load, on the embedded mesh.
    log(`embedded: dispatch load, window ${ctx.profile.dispatch.window}, ${p.loadDurationMs / 1000} s`);
    const base = done;
    meter.begin();
    const t0 = epochMs();
    await windowed({ window: ctx.profile.dispatch.window, batch: ctx.profile.dispatch.batch, durationMs: p.loadDurationMs, finished: () => (done - base) / 2, send: send('e0') });
    const loadS = (epochMs() - t0) / 1000;
    const loadCpu = meter.end();
    const load = {
      durationS: round(loadS, 1),
      acceptedPerSecond: round(accepted / loadS),
      deliveredPerSecond: round((done - base) / loadS),
      rssAfterMb: round(rssBytes([pid]) / MB, 1),
      cpuCores: loadCpu,
    };
    log(`embedded: load: ${load.acceptedPerSecond} accepted/s, ${load.deliveredPerSecond} delivered/s, RSS ${load.rssAfterMb} MB`);
    // Let the backlog drain before the soak.
    const drainDeadline = Date.now() + 60_000;
    while (done - base < 2 * accepted && Date.now() < drainDeadline) await sleep(100);

    // Soak at half that rate, open loop.
    const rate = Math.max(10, Math.round(load.deliveredPerSecond / 2 / 2));
    log(`embedded: soak at ${rate} notifications/s for ${p.soakMs / 1000} s`);
    const soakBase = done;
    const acceptedBefore = accepted;
    const samples: EmbeddedResult['soak']['samples'] = [];
    const s0 = epochMs();
    const sampler = setInterval(() => {
      void fetch(`${urls.status}/metrics`)
        .then((r) => r.text())
        .then((text) => {
          const heap = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)/m.exec(text);
          samples.push({ s: round((epochMs() - s0) / 1000, 1), rssMb: round(rssBytes([pid]) / MB, 1), heapMb: heap ? round(Number(heap[1]) / MB, 1) : NaN, through: done - soakBase });
        })
        .catch(() => {});
    }, p.sampleEveryMs);
    meter.begin();
    await openLoop({ rate, durationMs: p.soakMs, batchMax: ctx.profile.dispatch.batch, send: send('e1') });
    const soakCpu = meter.end();
    clearInterval(sampler);
    const soakS = (epochMs() - s0) / 1000;
    const steady = samples.filter((s) => s.s >= soakS / 5);
    const rssFit = linearFit(steady.map((s) => s.s / 60), steady.map((s) => s.rssMb));
    const heapFit = linearFit(steady.map((s) => s.s / 60), steady.map((s) => s.heapMb));
    const soak = {
      durationS: round(soakS, 1),
      rate,
      deliveredPerSecond: round((done - soakBase) / soakS),
      rssStartMb: samples[0]?.rssMb ?? NaN,
      rssEndMb: samples[samples.length - 1]?.rssMb ?? NaN,
      heapEndMb: samples[samples.length - 1]?.heapMb ?? NaN,
      rssSlopeMbPerMin: round(rssFit.slope, 2),
      heapSlopeMbPerMin: round(heapFit.slope, 2),
      r2: round(rssFit.r2, 2),
      backlogAtEnd: 2 * (accepted - acceptedBefore) - (done - soakBase),
      cpuCores: soakCpu,
      samples,
    };
    polling = false;
    await poller;
    log(`embedded: soak: RSS ${soak.rssStartMb} -> ${soak.rssEndMb} MB, slope ${soak.rssSlopeMbPerMin} MB/min (heap ${soak.heapSlopeMbPerMin} MB/min)`);
    const result: EmbeddedResult = { launcher, readyMs, rssIdleMb, rssLaunchersMb, load, soak };
    process.stdout.write(
      table(
        `Scenario 5 - embedded mesh (${launcher}): one process, embedded bus, in-memory stores`,
        ['measure', 'value'],
        [
          ['ready after spawn (ms)', readyMs],
          ['RSS idle (MB, mesh process)', rssIdleMb],
          ['RSS of the npm/tsx launchers (MB)', rssLaunchersMb],
          [`dispatch load (${load.durationS} s): accepted/s`, load.acceptedPerSecond],
          ['dispatch load: deliveries/s', load.deliveredPerSecond],
          ['RSS after the load (MB)', load.rssAfterMb],
          [`soak (${soak.durationS} s at ${rate} notifications/s): deliveries/s`, soak.deliveredPerSecond],
          ['soak: RSS start -> end (MB)', `${soak.rssStartMb} -> ${soak.rssEndMb}`],
          ['soak: RSS slope after warm-up (MB/min)', soak.rssSlopeMbPerMin],
          ['soak: heap-used slope (MB/min)', soak.heapSlopeMbPerMin],
          ['soak: backlog at end (deliveries)', soak.backlogAtEnd],
        ],
      ) + '\n',
    );
    return result;
  }
  } finally {
    // The whole launcher tree: npm, sh, tsx and the mesh.
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // gone
    }
    if (child.exitCode === null) await Promise.race([once(child, 'exit'), sleep(30_000)]);
  }
}
