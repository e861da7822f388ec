// `npm run bench`: measures Pulse against its limits, on this machine, over loopback only. Prints one table per
// scenario (stdout, Markdown) and writes the same figures as JSON to bench/results/latest.json.
//
//   tsx bench/run.ts [--profile full|smoke] [--only broker,monitoring,dispatch,rpc,embedded,sentiment]
//                    [--stores durable,memory,mongodb] [--runtime tsx|dist] [--cpu-prof] [--soak-minutes N]
//                    [--out bench/results]
//
// --stores: what the mesh scenarios (monitoring, dispatch) run the services on, in order. durable (the headline):
//           embedded stores journalled under a fresh PULSE_DATA_DIR, as `npm run start:mesh` runs them; memory:
//           no journal (does not survive a restart); mongodb: MONGODB_URI, on databases of the run's own. Default:
//           durable alone in smoke, else durable and memory, and mongodb too when MONGODB_URI is set.
//           Without scenario 1, a short broker measurement runs first, so the mesh's figures always have the
//           broker's limit of the same run beside them.
// --profile smoke: tiny counts and durations (under a minute in all), for CI to keep the harness from rotting.
// --runtime dist: run the services from the compiled dist/ (`npm run build` first) instead of through tsx.
// --cpu-prof: run the service processes under `node --cpu-prof`; profiles land in <out>/profiles/<scenario>/ and
//             are summarised by bench/profile-summary.ts.
// --soak-minutes: how long the embedded soak runs (the profile's own length otherwise: 20 minutes in full).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Context, PROFILES, type ProfileName } from './lib/context.js';
import { ROOT, type Runtime } from './lib/mesh.js';
import { log } from './lib/report.js';
import { removeStaleVhosts } from './lib/rabbit.js';
import { chooseStores } from './lib/stores.js';
import { summaryTable } from './lib/summary.js';

const SCENARIOS = ['broker', 'monitoring', 'dispatch', 'rpc', 'embedded', 'sentiment'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'full' },
    only: { type: 'string' },
    runtime: { type: 'string', default: 'tsx' },
    stores: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'soak-minutes': { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'bench/results') },
  },
});

const profileName = values.profile as ProfileName;
if (!(profileName in PROFILES)) throw new Error(`--profile must be one of ${Object.keys(PROFILES).join(', ')}`);
const runtime = values.runtime as Runtime;
if (runtime !== 'tsx' && runtime !== 'dist') throw new Error('--runtime must be tsx or dist');
const only = values.only ? (values.only.split(',').map((s) => s.trim()) as Scenario[]) : [...SCENARIOS];
for (const name of only) if (!SCENARIOS.includes(name)) throw new Error(`unknown scenario "${name}" (known: ${SCENARIOS.join(', ')})`);

const outDir = resolve(values.out!);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const runDir = join(outDir, `run-${stamp}`);
mkdirSync(runDir, { recursive: true });

const profile = { ...PROFILES[profileName] };
if (values['soak-minutes'] !== undefined) {
  const minutes = Number(values['soak-minutes']);
  if (!(minutes > 0 && minutes <= 120)) throw new Error('--soak-minutes must be a number of minutes, at most 120');
  profile.embedded = { ...profile.embedded, soakMs: minutes * 60_000 };
}
const mongodbUri = process.env.MONGODB_URI || undefined;
const stores = chooseStores(values.stores, profileName, mongodbUri);
const ctx: Context = { profile, runtime, outDir: runDir, cpuProf: values['cpu-prof']!, stores, mongodbUri };
const meshScenarios = only.some((name) => name === 'monitoring' || name === 'dispatch');
// The mesh's figures need the broker's limit of the same run beside them.
const yardstick = meshScenarios && !only.includes('broker');
const machine = {
  cores: os.availableParallelism(),
  cpu: os.cpus()[0]?.model ?? 'unknown',
  memoryGb: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
};
const results: Record<string, unknown> = {
  startedAt: new Date().toISOString(),
  machine,
  settings: { profile: profileName, runtime, cpuProf: ctx.cpuProf, scenarios: only, stores, mongodb: mongodbUri ? 'MONGODB_URI set' : 'MONGODB_URI not set', profileSettings: ctx.profile },
  scenarios: {} as Record<string, unknown>,
};
process.stdout.write(
  `# Pulse benchmark (${profileName} profile)\n\n${machine.cores} cores (${machine.cpu}), ${machine.memoryGb} GB, Node ${machine.node}, ` +
    `${machine.platform}; services run through ${runtime === 'dist' ? 'compiled dist/' : 'tsx'}${ctx.cpuProf ? ', under --cpu-prof' : ''}\n`,
);
if (meshScenarios) {
  process.stdout.write(
    `\nMesh scenarios run on: ${stores.join(', ')}` +
      (stores.includes('mongodb') ? '' : mongodbUri ? ' (MongoDB not asked for)' : ' (MongoDB rows not run: MONGODB_URI is not set)') +
      '\n',
  );
}

const scenarios = results.scenarios as Record<string, unknown>;
const save = () => {
  const json = `${JSON.stringify(results, null, 2)}\n`;
  writeFileSync(join(runDir, 'results.json'), json);
  writeFileSync(join(outDir, 'latest.json'), json);
};

await removeStaleVhosts();
let failed = false;
if (yardstick) {
  const { runBroker, YARDSTICK } = await import('./scenarios/broker.js');
  // A second attempt when the first is disturbed (a worker's connection closed under it).
  for (let attempt = 1; attempt <= 2 && !scenarios.broker; attempt++) {
    try {
      scenarios.broker = { yardstick: true, ...(await runBroker(ctx, { ...YARDSTICK, durationMs: Math.min(YARDSTICK.durationMs, profile.broker.durationMs) })) };
    } catch (err) {
      log(`broker yardstick, attempt ${attempt}, failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }
  failed ||= !scenarios.broker;
  save();
}
for (const name of only) {
  const started = Date.now();
  try {
    scenarios[name] = await runScenario(name);
  } catch (err) {
    failed = true;
    log(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    scenarios[name] = { error: err instanceof Error ? err.message : String(err) };
  }
  log(`${name} took ${Math.round((Date.now() - started) / 1000)} s`);
  save();
}
results.finishedAt = new Date().toISOString();
const summary = summaryTable(scenarios as never);
results.summary = summary.rows;
process.stdout.write(`${summary.text}\n`);
save();
process.stdout.write(`\nJSON: ${join(outDir, 'latest.json')} (and ${join(runDir, 'results.json')})\n`);
process.exit(failed ? 1 : 0);

async function runScenario(name: Scenario): Promise<unknown> {
  switch (name) {
    case 'broker':
      return (await import('./scenarios/broker.js')).runBroker(ctx);
    case 'monitoring':
      return (await import('./scenarios/monitoring.js')).runMonitoring(ctx);
    case 'dispatch':
      return (await import('./scenarios/dispatch.js')).runDispatch(ctx);
    case 'rpc':
      return (await import('./scenarios/rpc.js')).runRpc(ctx);
    case 'sentiment':
      return (await import('./scenarios/sentiment.js')).runSentiment(ctx);
    case 'embedded':
      return (await import('./scenarios/embedded.js')).runEmbedded(ctx);
    default:
      throw new Error(`scenario ${name} is not implemented yet`);
  }
}
