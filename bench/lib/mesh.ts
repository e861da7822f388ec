// Where the benchmarks run from, and the six services as separate processes for a scenario: ProcessMesh
// (services/all-in-one/process-mesh.ts) with logs written to files, so the load generator spends no core on them.
import { fileURLToPath } from 'node:url';
import { ProcessMesh } from '../../services/all-in-one/process-mesh.js';
import type { Context } from './context.js';
import { brokerPid, CpuMeter } from './procstat.js';
import { log } from './report.js';
import type { StoreSetup } from './stores.js';

export type { Runtime } from '../../services/all-in-one/process-mesh.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Starts the services for one scenario on one store, on the broker at amqpUrl, with logs (and, with --cpu-prof,
 * profiles) under the run's directory; `env` is what they were given. `processes` names the services', the broker's and this process's ids, which
 * the meter reads.
 */
export async function startScenarioMesh(
  ctx: Context,
  scenario: string,
  store: StoreSetup,
  amqpUrl: string,
  env: Record<string, string> = {},
): Promise<{ mesh: ProcessMesh; env: Record<string, string | undefined>; processes: () => Record<string, number[]>; meter: CpuMeter }> {
  log(`${scenario} [${store.kind}]: starting six services (${ctx.runtime}; ${store.label})`);
  const run = `${scenario}-${store.kind}`;
  // No trace export: the figures are the services' own work.
  const meshEnv = { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', ...store.env, ...env, OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined };
  const mesh = await ProcessMesh.start({
    amqpUrl,
    ports: 'free',
    runtime: ctx.runtime,
    env: meshEnv,
    logDir: `${ctx.outDir}/logs/${run}`,
    cpuProfDir: ctx.cpuProf ? `${ctx.outDir}/profiles/${run}` : undefined,
  });
  const broker = brokerPid();
  const processes = () => ({ ...mesh.pids(), ...(broker ? { rabbitmq: [broker] } : {}), bench: [process.pid] });
  return { mesh, env: meshEnv, processes, meter: new CpuMeter(processes) };
}
