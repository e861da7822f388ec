// The operating tools these tests run for real (Jaeger, Prometheus, promtool, grpc-health-probe), built from
// tools/*/go.mod by scripts/build-tools.sh into ~/.cache/pulse/tools/bin (or PULSE_TOOLS_BIN). Locally a test whose tool is
// missing is skipped, visibly; with PULSE_REQUIRE_TOOLS=1 (CI) it fails instead. Each tool process is started on
// free loopback ports by its test and stopped by it.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'vitest';

export const ROOT = resolve(import.meta.dirname, '../..');
/** Where scripts/build-tools.sh puts them (outside the checkout, so fresh clones reuse them). */
export const TOOLS_BIN =
  process.env.PULSE_TOOLS_BIN ?? process.env.PULSE_TOOLS_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'pulse/tools/bin');

export type Tool = 'jaeger' | 'prometheus' | 'promtool' | 'grpc-health-probe';

export function toolPath(tool: Tool): string {
  return join(TOOLS_BIN, tool);
}

function missing(tools: Tool[]): Tool[] {
  return tools.filter((tool) => {
    try {
      accessSync(toolPath(tool), constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
}

/** describe(), when every tool is built; otherwise a visible skip (locally) or a failing test (PULSE_REQUIRE_TOOLS=1). */
export function describeWithTools(name: string, tools: Tool[], suite: () => void): void {
  const absent = missing(tools);
  if (absent.length === 0) {
    describe(name, suite);
    return;
  }
  const why = `${absent.join(', ')} not built in ${TOOLS_BIN}; run scripts/build-tools.sh (needs Go)`;
  if (process.env.PULSE_REQUIRE_TOOLS === '1') {
    describe(name, () => {
      it(`needs ${tools.join(', ')}`, () => {
        throw new Error(`${why}. PULSE_REQUIRE_TOOLS=1 makes this a failure.`);
      });
    });
    return;
  }
  console.warn(`[tool tests] skipping "${name}": ${why}. Set PULSE_REQUIRE_TOOLS=1 to fail instead.`);
  describe.skip(`${name} (skipped: ${why})`, suite);
}

/** Runs a tool to its end; resolves with its exit code and output (a non-zero exit is an answer, not an error). */
export async function runTool(tool: Tool, args: string[], timeoutMs = 30_000): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(toolPath(tool), args, { cwd: ROOT, timeout: timeoutMs });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const failed = err as { code?: number | string; stdout?: string; stderr?: string; killed?: boolean };
    if (typeof failed.code !== 'number') throw err;
    return { code: failed.code, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

export interface ToolProcess {
  /** What the process wrote (stdout and stderr), the latest 2,000 lines. */
  lines: string[];
  stop(): Promise<void>;
}

/**
 * Starts a long-running tool and resolves once `ready()` does (polled every 200 ms within timeoutMs), or fails
 * with the tool's last lines when it exits or is not ready in time.
 */
export async function startTool(
  tool: Tool,
  args: string[],
  options: { env?: Record<string, string>; ready: () => Promise<boolean>; timeoutMs?: number },
): Promise<ToolProcess> {
  const child: ChildProcess = spawn(toolPath(tool), args, { cwd: ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      lines.push(...chunk.split('\n').filter(Boolean));
      if (lines.length > 2_000) lines.splice(0, lines.length - 2_000);
    });
  }
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${tool} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${lines.slice(-30).join('\n')}`);
    }
    if (await options.ready().catch(() => false)) return { lines, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${tool} was not ready within ${options.timeoutMs ?? 60_000} ms:\n${lines.slice(-30).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** GET a URL on loopback and parse its JSON body (throws on a non-2xx answer, with the body). */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${body.slice(0, 500)}`);
  return JSON.parse(body) as T;
}
