// The six services as separate processes on one RabbitMQ virtual host, started the way `npm run start:<service>`
// starts them (tsx, telemetry registered first), or from the compiled dist/ (`npm run build`). Unlike
// ProcessMesh (services/all-in-one/process-mesh.ts) the services write their logs to files rather than to a pipe
// into this process, which is also the load generator and must not spend its core reading them; and each can be
// run under `--cpu-prof`.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../services/all-in-one/process-mesh.js';
import { generateToken } from '../../services/platform/auth.js';
import { type ServiceIdentities, serviceIdentities } from '../../services/all-in-one/identities.js';
import { SERVICE_NAMES, type ServiceName, START_ORDER, urlVariable } from '../../services/platform/catalog.js';
import { sleep } from './stats.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type Runtime = 'tsx' | 'dist';

export interface MeshOptions {
  amqpUrl: string;
  runtime: Runtime;
  /** Extra environment for every service. */
  env: Record<string, string | undefined>;
  /** Where each service's stdout and stderr go (one file per service). */
  logDir: string;
  /** When set, every service runs under --cpu-prof and writes its profiles to <dir>/<service>/ on exit. */
  cpuProfDir?: string;
}

/** Node arguments that run a TypeScript entry the way the npm scripts do, or its compiled twin. */
export function entryArgs(runtime: Runtime, entry: string): string[] {
  if (runtime === 'dist') {
    return ['--import', './dist/services/platform/telemetry-register.js', join('dist', entry.replace(/\.ts$/, '.js'))];
  }
  return ['--import', 'tsx', '--import', './services/platform/telemetry-register.ts', entry];
}

export function checkDist(): void {
  if (!existsSync(join(ROOT, 'dist/services/platform/telemetry-register.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (or drop --runtime dist)');
  }
}

export async function waitReady(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`process exited (${child.exitCode ?? child.signalCode}) before ${url} was ready`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} was not ready within ${timeoutMs} ms`);
    await sleep(50);
  }
}

export class BenchMesh {
  private readonly children = new Map<ServiceName, ChildProcess>();

  private constructor(
    private readonly options: MeshOptions,
    readonly ports: Record<ServiceName, number>,
    /** Token for the load generator (identity `dev`, role admin), as ProcessMesh makes it. */
    readonly token: string,
    /** Each service's own identity (pulse-<service>, role service). */
    private readonly identities: ServiceIdentities,
  ) {}

  static async start(options: MeshOptions): Promise<BenchMesh> {
    if (options.runtime === 'dist') checkDist();
    mkdirSync(options.logDir, { recursive: true });
    if (options.cpuProfDir) mkdirSync(options.cpuProfDir, { recursive: true });
    const ports = {} as Record<ServiceName, number>;
    for (const name of SERVICE_NAMES) ports[name] = await freePort();
    const mesh = new BenchMesh(options, ports, generateToken(), serviceIdentities());
    try {
      for (const name of START_ORDER) await mesh.startService(name);
    } catch (err) {
      await mesh.stop();
      throw err;
    }
    return mesh;
  }

  url(name: ServiceName): string {
    return `http://127.0.0.1:${this.ports[name]}`;
  }

  get urls(): Record<ServiceName, string> {
    return Object.fromEntries(SERVICE_NAMES.map((name) => [name, this.url(name)])) as Record<ServiceName, string>;
  }

  /** Process ids per service, for CPU and memory readings. */
  pids(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [name, child] of this.children) if (child.pid) out[name] = [child.pid];
    return out;
  }

  private async startService(name: ServiceName): Promise<void> {
    const env: Record<string, string | undefined> = {
      ...process.env,
      ...this.options.env,
      AMQP_URL: this.options.amqpUrl,
      PORT: String(this.ports[name]),
      HOST: '127.0.0.1',
      PULSE_API_TOKENS: `dev:${this.token}:admin,${this.identities.entries}`,
      PULSE_SERVICE_TOKEN: this.identities.tokens[name],
      OTEL_SERVICE_NAME: `pulse-${name}`,
      ...Object.fromEntries(SERVICE_NAMES.map((peer) => [urlVariable(peer), this.url(peer)])),
    };
    const profiling = this.options.cpuProfDir
      ? // One directory per service: the tsx loader thread writes a profile of its own next to the main thread's.
        ['--cpu-prof', `--cpu-prof-dir=${join(this.options.cpuProfDir, name)}`]
      : [];
    const log = openSync(join(this.options.logDir, `${name}.log`), 'a');
    const child = spawn(process.execPath, [...profiling, ...entryArgs(this.options.runtime, `services/${name}/main.ts`)], {
      cwd: ROOT,
      env,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    this.children.set(name, child);
    await waitReady(this.url(name), child);
  }

  /** Stops every service gracefully (SIGTERM, so profiles are written), upstream first. */
  async stop(): Promise<void> {
    for (const name of [...START_ORDER].reverse()) {
      const child = this.children.get(name);
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    this.children.clear();
  }
}
