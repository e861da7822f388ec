// `npm run bench`: measures Pulse against its limits, on this machine, over loopback only. Prints one table per
// scenario (stdout, Markdown) and writes the same figures as JSON to bench/results/latest.json.
//
//   tsx bench/run.ts [--profile full|smoke] [--only broker,monitoring,dispatch,rpc,embedded,sentiment]
//                    [--runtime tsx|dist] [--cpu-prof] [--soak-minutes N] [--out bench/results]
//
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
import { summaryTable } from './lib/summary.js';

const SCENARIOS = ['broker', 'monitoring', 'dispatch', 'rpc', 'embedded', 'sentiment'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'full' },
    only: { type: 'string' },
    runtime: { type: 'string', default: 'tsx' },
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
const ctx: Context = { profile, runtime, outDir: runDir, cpuProf: values['cpu-prof']! };
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
  settings: { profile: profileName, runtime, cpuProf: ctx.cpuProf, scenarios: only, profileSettings: ctx.profile },
  scenarios: {} as Record<string, unknown>,
};
process.stdout.write(
  `# Pulse benchmark (${profileName} profile)\n\n${machine.cores} cores (${machine.cpu}), ${machine.memoryGb} GB, Node ${machine.node}, ` +
    `${machine.platform}; services run through ${runtime === 'dist' ? 'compiled dist/' : 'tsx'}${ctx.cpuProf ? ', under --cpu-prof' : ''}\n`,
);

const scenarios = results.scenarios as Record<string, unknown>;
const save = () => {
  const json = `${JSON.stringify(results, null, 2)}\n`;
  writeFileSync(join(runDir, 'results.json'), json);
  writeFileSync(join(outDir, 'latest.json'), json);
};

await removeStaleVhosts('pulse-bench-');
let failed = false;
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
