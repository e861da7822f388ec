// The mesh as six separate processes on one RabbitMQ: what `npm run start:mesh` runs locally, what the
// cross-process tests drive (kill -9 a service, start it again, watch nothing get lost) and what the benchmarks load.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateToken } from '../platform/auth.js';
import { SERVICE_NAMES, SERVICES, type ServiceName, START_ORDER, urlVariable } from '../platform/catalog.js';
import { type ServiceIdentities, serviceIdentities } from './identities.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How long a service may take to stop after SIGTERM before it is killed. */
const STOP_GRACE_MS = 30_000;

/** The services' TypeScript run through tsx (as the npm scripts do), or the compiled dist/ (`npm run build`). */
export type Runtime = 'tsx' | 'dist';

export interface ProcessMeshOptions {
  amqpUrl: string;
  /** Standard ports (8081-8086), or free ones (tests). */
  ports?: 'standard' | 'free';
  /** Extra environment for every service (limits, provider settings, OTEL_*). */
  env?: Record<string, string | undefined>;
  /** Default tsx. */
  runtime?: Runtime;
  /** Receives each line a service writes (stdout and stderr). Default: prefixed to this process's stdout. */
  onLine?: (service: ServiceName, line: string) => void;
  /**
   * Instead of onLine: each service's output goes straight to `<logDir>/<service>.log`, never through this process
   * (a load generator must not spend its core reading logs).
   */
  logDir?: string;
  /** Every service runs under --cpu-prof and writes its profiles to `<cpuProfDir>/<service>/` when it stops. */
  cpuProfDir?: string;
}

/** Node arguments that run a service the way the npm scripts do (telemetry registered first), or its compiled twin. */
function entryArgs(runtime: Runtime, name: ServiceName): string[] {
  if (runtime === 'dist') return ['--import', './dist/services/platform/telemetry-register.js', `dist/services/${name}/main.js`];
  return ['--import', 'tsx', '--import', './services/platform/telemetry-register.ts', `services/${name}/main.ts`];
}

/** A port free at the moment of asking (another process may take it before it is bound: callers retry). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

export class ProcessMesh {
  private readonly children = new Map<ServiceName, ChildProcess>();

  private constructor(
    private readonly options: ProcessMeshOptions,
    readonly ports: Record<ServiceName, number>,
    /** Token for callers (the `dev` entry of PULSE_API_TOKENS, role admin). */
    readonly token: string,
    /** Each service's own identity (pulse-<service>, role service), presented to its peers. */
    private readonly identities: ServiceIdentities,
  ) {}

  static async start(options: ProcessMeshOptions): Promise<ProcessMesh> {
    if (options.runtime === 'dist' && !existsSync(join(ROOT, 'dist/services/platform/telemetry-register.js'))) {
      throw new Error('dist/ is missing: run `npm run build` first');
    }
    if (options.logDir) mkdirSync(options.logDir, { recursive: true });
    const ports = {} as Record<ServiceName, number>;
    for (const name of SERVICE_NAMES) ports[name] = options.ports === 'free' ? await freePort() : SERVICES[name].port;
    const mesh = new ProcessMesh(options, ports, generateToken(), serviceIdentities());
    try {
      for (const name of START_ORDER) {
        // A free port can be taken by another process between being picked and being bound: pick again.
        for (let attempt = 1; ; attempt++) {
          try {
            await mesh.startService(name);
            break;
          } catch (err) {
            if (options.ports !== 'free' || attempt === 3) throw err;
            mesh.ports[name] = await freePort();
          }
        }
      }
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

  /** Starts one service process and waits until its /readyz says ready. */
  async startService(name: ServiceName, readyTimeoutMs = 60_000): Promise<void> {
    if (this.children.has(name)) throw new Error(`${name} is already running`);
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
    const { cpuProfDir, logDir } = this.options;
    // One directory per service: the tsx loader thread writes a profile of its own next to the main thread's.
    const profiling = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${join(cpuProfDir, name)}`] : [];
    const logFile = logDir ? openSync(join(logDir, `${name}.log`), 'a') : undefined;
    const child = spawn(process.execPath, [...profiling, ...entryArgs(this.options.runtime ?? 'tsx', name)], {
      cwd: ROOT,
      env,
      stdio: ['ignore', logFile ?? 'pipe', logFile ?? 'pipe'],
    });
    if (logFile !== undefined) closeSync(logFile);
    this.children.set(name, child);
    if (logFile === undefined) this.forwardLines(name, child);
    child.once('exit', () => {
      if (this.children.get(name) === child) this.children.delete(name);
    });
    await this.waitReady(name, readyTimeoutMs);
  }

  private forwardLines(name: ServiceName, child: ChildProcess): void {
    const onLine = this.options.onLine ?? ((service, line) => process.stdout.write(`${service.padEnd(12)} | ${line}\n`));
    for (const stream of [child.stdout!, child.stderr!]) {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line) onLine(name, line);
      });
    }
  }

  async waitReady(name: ServiceName, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const child = this.children.get(name);
      if (!child) throw new Error(`${name} exited before it was ready`);
      try {
        const res = await fetch(`${this.url(name)}/readyz`, { signal: AbortSignal.timeout(1_000) });
        // Only this service's answer counts: another process may hold the port.
        if (res.ok && ((await res.json()) as { service?: string }).service === name) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${name} was not ready within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Sends a signal (default SIGKILL: no goodbye, no cleanup) and waits for the process to end. */
  async kill(name: ServiceName, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.children.get(name);
    if (!child) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }

  /** Sends a signal without waiting for an exit: SIGSTOP and SIGCONT make a hung service, not a dead one. */
  signal(name: ServiceName, signal: NodeJS.Signals): void {
    this.children.get(name)?.kill(signal);
  }

  /** Process ids per service, for CPU and memory readings. */
  pids(): Record<string, number[]> {
    return Object.fromEntries([...this.children].flatMap(([name, child]) => (child.pid ? [[name, [child.pid]]] : [])));
  }

  async restart(name: ServiceName): Promise<void> {
    await this.kill(name);
    await this.startService(name);
  }

  /** Stops every service gracefully (SIGTERM: CPU profiles are written), upstream first; one that hangs is killed. */
  async stop(): Promise<void> {
    for (const name of [...START_ORDER].reverse()) {
      const timer = setTimeout(() => this.signal(name, 'SIGKILL'), STOP_GRACE_MS);
      await this.kill(name, 'SIGTERM');
      clearTimeout(timer);
    }
  }
}
