// Scenario 5: the embedded mesh (`npm start`: six services in one process, embedded bus, in-memory stores).
//   - time from spawning `npm start` to every service answering /readyz;
//   - resident memory idle, then after scenario 3's load (dispatch, closed loop, for a while), then during a soak
//     at half the rate that load reached, sampled throughout: the slope of a least-squares line through the
//     samples once `npm start`'s retention window has filled (settled notifications are kept 5 minutes, swept
//     every minute; the first fifth when the soak is too short for that) says whether memory keeps growing;
//   - what the growth is made of: the in-memory stores hold notifications, deliveries, statuses, inbox items,
//     outbox rows and processed-event records until their retention passes, so the documents they hold
//     (pulse_store_documents) are sampled with the memory, memory is fitted against them, and what the documents
//     do not explain is reported as its own slope (a leak would show there);
//   - the same start-up measured for the compiled mesh (dist/, `npm run build`), when built.
// The memory figure is the RSS of the Node process that runs the mesh; the npm and tsx launcher processes in
// front of it are reported separately.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import { join } from 'node:path';
import { SERVICE_NAMES, SERVICES, type ServiceName } from '../../services/platform/catalog.js';
import { benchClients } from '../lib/clients.js';
import type { Context } from '../lib/context.js';
import { type Due, openLoop, windowed } from '../lib/load.js';
import { ROOT } from '../lib/mesh.js';
import { EMBEDDED_RETENTION } from '../../services/all-in-one/mesh.js';
import { CpuMeter, processTree, rssBytes, waitQuiet } from '../lib/procstat.js';
import { log, table } from '../lib/report.js';
import { epochMs, linearFit, round, sleep } from '../lib/stats.js';
import { createUsers, notificationRequest, UNLIMITED_RATES } from './dispatch.js';

const MB = 2 ** 20;
const minutes = (samples: readonly { s: number }[]) => samples.map((sample) => sample.s / 60);

async function portFree(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

function sumSeries(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && wanted.every((pair) => line.includes(pair))) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

interface Sample {
  s: number;
  rssMb: number;
  heapMb: number;
  documents: number;
  through: number;
}

export interface EmbeddedResult {
  launcher: string;
  readyMs: number;
  rssIdleMb: number;
  rssLaunchersMb: number;
  /** The same mesh started other ways: compiled (dist/), and `node --import tsx` without the npm and tsx CLI wrappers. */
  variants: Record<string, { readyMs: number; rssIdleMb: number; rssTreeMb: number }>;
  load: { durationS: number; acceptedPerSecond: number; deliveredPerSecond: number; rssAfterMb: number; documentsAfter: number; cpuCores: Record<string, number> };
  soak: {
    durationS: number;
    rate: number;
    deliveredPerSecond: number;
    rssStartMb: number;
    rssEndMb: number;
    heapEndMb: number;
    /** The fits start here (seconds into the soak), once the retention windows have filled. */
    steadyFromS: number;
    rssSlopeMbPerMin: number;
    /** Slope through the lowest sample of each half: garbage collection's saw-tooth left out. */
    rssFloorSlopeMbPerMin: number;
    heapSlopeMbPerMin: number;
    heapFloorSlopeMbPerMin: number;
    r2: number;
    documentsStart: number;
    documentsEnd: number;
    documentsSlopePerMin: number;
    /** RSS fitted against documents held: bytes per document, and the slope of what they leave unexplained. */
    bytesPerDocument: number;
    unexplainedSlopeMbPerMin: number;
    backlogAtEnd: number;
    /** Set when the mesh process died during the soak (seconds into it). */
    exitedAfterS?: number;
    cpuCores: Record<string, number>;
    samples: Sample[];
    /** Documents held at the end, by service and collection. */
    documentsByCollection: Record<string, number>;
  };
}

interface Running {
  child: ChildProcess;
  urls: Record<ServiceName, string>;
  token: string;
  readyMs: number;
  output: () => string;
}

type Launcher = 'npm' | 'dist' | 'node-tsx' | 'worker';

async function launch(kind: Launcher, env: Record<string, string | undefined>): Promise<Running> {
  const started = performance.now();
  const options = { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'], detached: true };
  const child =
    kind === 'npm'
      ? spawn('npm', ['start', '--silent'], { ...options, env: { ...env, PATH: `${process.execPath.replace(/\/node$/, '')}:${process.env.PATH}` } })
      : kind === 'dist'
        ? spawn(process.execPath, ['--import', './dist/services/platform/telemetry-register.js', 'dist/services/all-in-one/main.js'], options)
        : kind === 'node-tsx'
          ? spawn(process.execPath, ['--import', 'tsx', '--import', './services/platform/telemetry-register.ts', 'services/all-in-one/main.ts'], options)
          : spawn(process.execPath, ['--import', 'tsx', '--import', './services/platform/telemetry-register.ts', 'bench/workers/embedded.ts'], options);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    if (output.length < 200_000) output += chunk.toString();
  });
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    if (errors.length < 20_000) errors += chunk.toString();
  });
  const running: Running = { child, urls: {} as Record<ServiceName, string>, token: '', readyMs: NaN, output: () => output };
  try {
    if (kind === 'worker') {
      while (!output.includes('"urls"')) {
        if (child.exitCode !== null) throw new Error(`embedded mesh exited: ${output} ${errors}`);
        await sleep(20);
      }
      ({ urls: running.urls, token: running.token } = JSON.parse(output.split('\n').find((line) => line.includes('"urls"'))!));
    } else {
      running.urls = Object.fromEntries(SERVICE_NAMES.map((name) => [name, `http://127.0.0.1:${SERVICES[name].port}`])) as Record<ServiceName, string>;
    }
    const deadline = Date.now() + 60_000;
    for (const name of SERVICE_NAMES) {
      for (;;) {
        const ok = await fetch(`${running.urls[name]}/readyz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
        if (ok) break;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`embedded mesh never got ready: ${output.slice(-2_000)} ${errors.slice(-2_000)}`);
        await sleep(20);
      }
    }
    running.readyMs = round(performance.now() - started);
    // The banner with the token comes once the console's gateway is up too, which may be a moment after the six
    // services answer /readyz.
    while (!(running.token = /export PULSE_TOKEN=(\S+)/.exec(output)?.[1] ?? '')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start printed no token: ${output.slice(-2_000)} ${errors.slice(-2_000)}`);
      await sleep(20);
    }
    return running;
  } catch (err) {
    await stop(child);
    throw err;
  }
}

/** Stops the launcher's whole process group (npm, sh, tsx and the mesh). */
async function stop(child: ChildProcess): Promise<void> {
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    return; // gone
  }
  if (child.exitCode === null && child.signalCode === null) await Promise.race([once(child, 'exit'), sleep(30_000)]);
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
  await waitQuiet(() => [process.pid], 0.25, ctx.profile.quietMaxWaitMs);
  // `npm start` itself when its ports are free; otherwise the same startMesh() on free ports.
  const kind: Launcher = standard ? 'npm' : 'worker';
  const launcher = standard ? 'npm start' : 'bench/workers/embedded.ts (standard ports taken)';
  log(`embedded: starting with ${launcher}`);
  const mesh = await launch(kind, env);
  let result: EmbeddedResult;
  try {
    result = await measure(ctx, mesh, launcher);
  } finally {
    await stop(mesh.child);
  }
  const variants: [Launcher, string][] = [['node-tsx', 'node --import tsx (no npm, no tsx CLI)']];
  if (existsSync(join(ROOT, 'dist/services/all-in-one/main.js'))) variants.push(['dist', 'compiled dist/ (npm run build)']);
  for (const [variant, name] of standard && p.variants !== false ? variants : []) {
    if (!(await Promise.all(SERVICE_NAMES.map((n) => portFree(SERVICES[n].port)))).every(Boolean)) break;
    await waitQuiet(() => [process.pid], 0.25, ctx.profile.quietMaxWaitMs);
    const other = await launch(variant, env);
    try {
      const pid = meshPid(other.child.pid!);
      await sleep(ctx.profile.warmupMs ?? 5_000);
      result.variants[name] = { readyMs: other.readyMs, rssIdleMb: round(rssBytes([pid]) / MB, 1), rssTreeMb: round(rssBytes(processTree(other.child.pid!)) / MB, 1) };
      log(`embedded: ${name}: ready in ${other.readyMs} ms; idle RSS ${result.variants[name].rssIdleMb} MB (${result.variants[name].rssTreeMb} MB with its helpers)`);
    } finally {
      await stop(other.child);
    }
  }
  print(result);
  return result;
}

async function measure(ctx: Context, mesh: Running, launcher: string): Promise<EmbeddedResult> {
  const p = ctx.profile.embedded;
  const { urls } = mesh;
  const clients = benchClients(urls, mesh.token);
  const pid = meshPid(mesh.child.pid!);
  const launchers = processTree(mesh.child.pid!).filter((x) => x !== pid);
  await sleep(ctx.profile.warmupMs ?? 5_000);
  const rssIdleMb = round(rssBytes([pid]) / MB, 1);
  const rssLaunchersMb = round(rssBytes(launchers) / MB, 1);
  log(`embedded: ready in ${mesh.readyMs} ms; idle RSS ${rssIdleMb} MB (launchers ${rssLaunchersMb} MB)`);

  const users = ctx.profile.dispatch.users;
  await createUsers(clients, users);
  // Deliveries through (in-app DELIVERED + console sends), heap and documents held, from the services' /metrics.
  const read = async () => {
    const [status, notification, ...rest] = await Promise.all([urls.status, urls.notification, urls.ingestion, urls.sentiment, urls.review, urls.preference].map(metricsText));
    const all = [status, notification, ...rest];
    return {
      through: sumSeries(status, 'pulse_notification_deliveries_final_total', { channel: 'in_app', state: 'delivered' }) + sumSeries(notification, 'pulse_delivery_attempts_total', { channel: 'email', outcome: 'sent' }),
      heapMb: round(sumSeries(status, 'nodejs_heap_size_used_bytes') / MB, 1),
      documents: all.reduce((n, text) => n + sumSeries(text, 'pulse_store_documents'), 0),
    };
  };
  let latest = await read();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      latest = await read().catch(() => latest);
      await sleep(250);
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
  try {
    // Scenario 3's load, on the embedded mesh.
    log(`embedded: dispatch load, window ${ctx.profile.dispatch.window}, ${p.loadDurationMs / 1000} s`);
    const base = latest.through;
    meter.begin();
    const t0 = epochMs();
    await windowed({
      window: ctx.profile.dispatch.window,
      batch: ctx.profile.dispatch.batch,
      durationMs: p.loadDurationMs,
      finished: () => (latest.through - base) / 2,
      send: send('e0'),
    });
    const loadS = (epochMs() - t0) / 1000;
    const loadCpu = meter.end();
    const load = {
      durationS: round(loadS, 1),
      acceptedPerSecond: round(accepted / loadS),
      deliveredPerSecond: round((latest.through - base) / loadS),
      rssAfterMb: round(rssBytes([pid]) / MB, 1),
      documentsAfter: latest.documents,
      cpuCores: loadCpu,
    };
    log(`embedded: load: ${load.acceptedPerSecond} accepted/s, ${load.deliveredPerSecond} delivered/s, RSS ${load.rssAfterMb} MB, ${load.documentsAfter} documents`);
    // Let the backlog drain before the soak.
    const drainDeadline = Date.now() + 60_000;
    while (latest.through - base < 2 * accepted && Date.now() < drainDeadline) await sleep(100);

    // Soak at half that rate, open loop.
    const rate = Math.max(10, Math.round(load.deliveredPerSecond / 2 / 2));
    log(`embedded: soak at ${rate} notifications/s for ${p.soakMs / 1000} s`);
    const soakBase = latest.through;
    const acceptedBefore = accepted;
    const samples: Sample[] = [];
    const s0 = epochMs();
    const sampler = setInterval(() => {
      samples.push({ s: round((epochMs() - s0) / 1000, 1), rssMb: round(rssBytes([pid]) / MB, 1), heapMb: latest.heapMb, documents: latest.documents, through: latest.through - soakBase });
    }, p.sampleEveryMs);
    meter.begin();
    // The soak ends early if the mesh dies (the in-memory stores keep every document: at a high enough rate the V8
    // heap runs out); how long it lasted is then the finding.
    let exitedAfterS: number | undefined;
    const exited = new Promise<void>((resolve) => mesh.child.once('exit', () => resolve()));
    const meshGone = (async () => {
      for (;;) {
        if (rssBytes([pid]) === 0) {
          exitedAfterS = round((epochMs() - s0) / 1000, 1);
          return;
        }
        await sleep(500);
      }
    })();
    await Promise.race([openLoop({ rate, durationMs: p.soakMs, batchMax: ctx.profile.dispatch.batch, send: send('e1') }), meshGone, exited]);
    if (exitedAfterS !== undefined) log(`embedded: the mesh process died ${exitedAfterS} s into the soak`);
    const soakCpu = meter.end();
    clearInterval(sampler);
    const soakS = (epochMs() - s0) / 1000;
    // Records leave a retention plus one sweep after they settle: only then can the line be flat.
    const filledS = EMBEDDED_RETENTION.historySeconds + 60;
    const steadyFromS = soakS >= filledS + 120 ? filledS : soakS / 5;
    const steady = samples.filter((s) => s.s >= steadyFromS);
    const documentsFit = linearFit(minutes(steady), steady.map((s) => s.documents));
    // The garbage collector saws RSS up and down by hundreds of MB; what it keeps is the floor: the lowest sample of
    // each half of the steady window, per minute between the halves' midpoints.
    // The heap's floor is the data live after a collection; RSS keeps what the heap once reached.
    const half = (steady.length / 2) | 0;
    const halvesApartMin = steady.length > 1 ? (steady[steady.length - 1].s - steady[0].s) / 2 / 60 : NaN;
    const floorSlope = (of: (s: Sample) => number) => {
      const floor = (part: readonly Sample[]) => Math.min(...part.map(of));
      return half > 0 ? (floor(steady.slice(half)) - floor(steady.slice(0, half))) / halvesApartMin : NaN;
    };
    const rssFit = linearFit(minutes(steady), steady.map((s) => s.rssMb));
    const heapFit = linearFit(minutes(steady), steady.map((s) => s.heapMb));
    const perDoc = linearFit(steady.map((s) => s.documents), steady.map((s) => s.rssMb));
    const unexplained = linearFit(minutes(steady), steady.map((s) => s.rssMb - (perDoc.intercept + perDoc.slope * s.documents)));
    const first = samples[0];
    const last = samples[samples.length - 1];
    const documentsByCollection: Record<string, number> = {};
    for (const name of SERVICE_NAMES) {
      const text = await metricsText(urls[name]).catch(() => '');
      for (const [, collection, value] of text.matchAll(/^pulse_store_documents\{[^}]*collection="([^"]+)"[^}]*\} (\S+)$/gm)) {
        if (Number(value) > 0) documentsByCollection[`${name}.${collection}`] = Number(value);
      }
    }
    const soak = {
      durationS: round(soakS, 1),
      rate,
      deliveredPerSecond: round((latest.through - soakBase) / soakS),
      rssStartMb: first?.rssMb ?? NaN,
      rssEndMb: last?.rssMb ?? NaN,
      heapEndMb: last?.heapMb ?? NaN,
      steadyFromS: round(steadyFromS),
      rssSlopeMbPerMin: round(rssFit.slope, 2),
      rssFloorSlopeMbPerMin: round(floorSlope((s) => s.rssMb), 2),
      heapSlopeMbPerMin: round(heapFit.slope, 2),
      heapFloorSlopeMbPerMin: round(floorSlope((s) => s.heapMb), 2),
      r2: round(rssFit.r2, 2),
      documentsStart: first?.documents ?? NaN,
      documentsEnd: last?.documents ?? NaN,
      documentsSlopePerMin: round(documentsFit.slope),
      bytesPerDocument: round(perDoc.slope * MB),
      unexplainedSlopeMbPerMin: round(unexplained.slope, 2),
      backlogAtEnd: 2 * (accepted - acceptedBefore) - (latest.through - soakBase),
      exitedAfterS,
      cpuCores: soakCpu,
      samples,
      documentsByCollection,
    };
    log(
      `embedded: soak: RSS ${soak.rssStartMb} -> ${soak.rssEndMb} MB, slope ${soak.rssSlopeMbPerMin} MB/min (heap ${soak.heapSlopeMbPerMin} MB/min); ` +
        `documents ${soak.documentsStart} -> ${soak.documentsEnd}, ${soak.bytesPerDocument} B each; unexplained ${soak.unexplainedSlopeMbPerMin} MB/min`,
    );
    return { launcher, readyMs: mesh.readyMs, rssIdleMb, rssLaunchersMb, variants: {}, load, soak };
  } finally {
    polling = false;
    await poller;
  }
}

function print(r: EmbeddedResult): void {
  const { load, soak } = r;
  process.stdout.write(
    table(
      `Scenario 5 - embedded mesh (${r.launcher}): one process, embedded bus, in-memory stores`,
      ['measure', 'value'],
      [
        ['ready after spawn (ms)', r.readyMs],
        ['RSS idle (MB, mesh process)', r.rssIdleMb],
        ['RSS of the npm/tsx launchers (MB)', r.rssLaunchersMb],
        ...Object.entries(r.variants).flatMap(([name, v]) => [
          [`${name}: ready after spawn (ms)`, v.readyMs],
          [`${name}: RSS idle (MB, mesh process / with helpers)`, `${v.rssIdleMb} / ${v.rssTreeMb}`],
        ]),
        [`dispatch load (${load.durationS} s): accepted/s`, load.acceptedPerSecond],
        ['dispatch load: deliveries/s', load.deliveredPerSecond],
        ['RSS after the load (MB)', load.rssAfterMb],
        [`soak (${soak.durationS} s at ${soak.rate} notifications/s): deliveries/s`, soak.deliveredPerSecond],
        ['soak: RSS start -> end (MB)', `${soak.rssStartMb} -> ${soak.rssEndMb}`],
        [`soak: RSS slope from ${soak.steadyFromS} s on (MB/min)`, soak.rssSlopeMbPerMin],
        ['soak: RSS floor slope, lowest sample of each half of that (MB/min)', soak.rssFloorSlopeMbPerMin],
        ['soak: heap-used slope (MB/min)', soak.heapSlopeMbPerMin],
        ['soak: heap-used floor slope, lowest sample of each half (MB/min)', soak.heapFloorSlopeMbPerMin],
        ['soak: documents held start -> end', `${soak.documentsStart} -> ${soak.documentsEnd}`],
        ['soak: documents held, slope (per min)', soak.documentsSlopePerMin],
        ['soak: RSS per document held (bytes)', soak.bytesPerDocument],
        ['soak: RSS slope the documents do not explain (MB/min)', soak.unexplainedSlopeMbPerMin],
        ['soak: backlog at end (deliveries)', soak.backlogAtEnd],
        ...(soak.exitedAfterS !== undefined ? [['soak: the mesh process DIED after (s)', soak.exitedAfterS] as [string, number]] : []),
      ],
    ) +
      '\n' +
      table(
        'Scenario 5 - documents held by the embedded stores at the end of the soak',
        ['service.collection', 'documents'],
        Object.entries(soak.documentsByCollection)
          .sort((a, b) => b[1] - a[1])
          .map(([name, n]) => [name, n]),
      ) +
      '\n',
  );
}
