// Scenario 4: what the platform stack costs per RPC. The same handler (GetInteraction of one stored interaction)
// behind the full Pulse stack, a bare connect-node server and a bare @grpc/grpc-js server, each in a process of
// its own, called by the same client (connect-node's gRPC transport over one HTTP/2 connection) from this
// process: first the most each serves with a fixed number of calls in flight, then open-loop fixed rates (fractions
// of what the full stack served) with latencies from each call's due time. Server CPU per request (from /proc) is the measure that does not depend on the client.
import { type ChildProcess, spawn } from 'node:child_process';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { IngestionService } from '../../gen/pulse/ingestion/v1/ingestion_service_pb.js';
import { generateToken } from '../../services/platform/auth.js';
import { bearer } from '../../services/platform/peers.js';
import type { Context } from '../lib/context.js';
import { openLoop } from '../lib/load.js';
import { freePort } from '../../services/all-in-one/process-mesh.js';
import { ROOT } from '../lib/mesh.js';
import { cpuMs, machineBusyMs, waitQuiet } from '../lib/procstat.js';
import { log, table } from '../lib/report.js';
import { epochMs, type Percentiles, percentiles, round, sleep } from '../lib/stats.js';

const KINDS = ['full', 'connect', 'grpc'] as const;
type Kind = (typeof KINDS)[number];
const MESSAGE_ID = 'bench-rpc-message';

export interface RpcRow {
  server: Kind;
  /** 'max' (closed loop) or the offered rate. */
  load: string;
  requestsPerSecond: number;
  errors: number;
  latencyMs: Percentiles;
  /** Server CPU per request, microseconds. */
  serverCpuUs: number;
  serverCores: number;
  clientCores: number;
  /** What the rest of the machine used meanwhile. */
  otherCores: number;
}

async function startServer(kind: Kind, token: string, cpuProfDir?: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const profiling = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}/${kind}`] : [];
  const args = [...profiling, '--import', 'tsx', ...(kind === 'full' ? ['--import', './services/platform/telemetry-register.ts'] : []), 'bench/workers/rpc-server.ts', kind, String(port), token];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, OTEL_SERVICE_NAME: 'pulse-ingestion', OTEL_EXPORTER_OTLP_ENDPOINT: undefined },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}: ${out}`)));
  });
  child.stdout!.resume();
  return { child, url: `http://127.0.0.1:${port}` };
}

export async function runRpc(ctx: Context): Promise<{ rows: RpcRow[]; ratios: Record<string, number>; rates: number[] }> {
  const p = ctx.profile.rpc;
  const token = generateToken();
  const rows: RpcRow[] = [];
  // The fixed rates are fractions of what the full stack serves (measured first), the same for all three servers.
  let rates: number[] = [];
  for (const kind of KINDS) {
    const { child, url } = await startServer(kind, token, ctx.cpuProf ? `${ctx.outDir}/profiles/rpc` : undefined);
    try {
      const client = createClient(
        IngestionService,
        createGrpcTransport({ baseUrl: url, interceptors: kind === 'full' ? [bearer(token)] : [] }),
      );
      const call = () => client.getInteraction({ messageId: MESSAGE_ID });
      const check = await call();
      if (check.interaction?.messageId !== MESSAGE_ID) throw new Error(`${kind} server answered ${JSON.stringify(check)}`);
      // Warm-up.
      await closedLoop(call, 32, ctx.profile.warmupMs ?? 2_000);
      const measure = async (load: string, run: () => Promise<{ count: number; errors: number; latencies: number[] }>) => {
        await waitQuiet(() => [child.pid!, process.pid], 0.25, ctx.profile.quietMaxWaitMs);
        const machine0 = machineBusyMs();
        const cpu0 = cpuMs([child.pid!]);
        const client0 = cpuMs([process.pid]);
        const t0 = epochMs();
        const { count, errors, latencies } = await run();
        const elapsed = epochMs() - t0;
        const serverCpu = cpuMs([child.pid!]) - cpu0;
        const clientCpu = cpuMs([process.pid]) - client0;
        const row: RpcRow = {
          server: kind,
          load,
          requestsPerSecond: round((count / elapsed) * 1000),
          errors,
          latencyMs: percentiles(latencies),
          serverCpuUs: round((serverCpu * 1000) / Math.max(1, count)),
          serverCores: round(serverCpu / elapsed, 2),
          clientCores: round(clientCpu / elapsed, 2),
          otherCores: round(Math.max(0, machineBusyMs() - machine0 - serverCpu - clientCpu) / elapsed, 2),
        };
        rows.push(row);
        log(`rpc: ${kind} ${load}: ${row.requestsPerSecond}/s, p99 ${round(row.latencyMs.p99, 2)} ms, server ${row.serverCpuUs} us/req, cores server ${row.serverCores} client ${row.clientCores}`);
      };
      await measure('max', () => closedLoop(call, p.maxConcurrency, p.durationMs));
      if (kind === 'full') rates = p.rates.map((share) => Math.max(50, Math.round((rows[rows.length - 1].requestsPerSecond * share) / 50) * 50));
      for (const rate of rates) {
        await measure(`${rate}/s`, async () => {
          const latencies: number[] = [];
          let errors = 0;
          let pending = 0;
          await openLoop({
            rate,
            durationMs: p.durationMs,
            batchMax: 1,
            send: (items) => {
              for (const item of items) {
                pending++;
                call().then(
                  () => latencies.push(epochMs() - item.dueAt),
                  () => errors++,
                ).finally(() => pending--);
              }
            },
          });
          while (pending > 0) await sleep(5);
          return { count: latencies.length, errors, latencies };
        });
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
  const max = (kind: Kind) => rows.find((r) => r.server === kind && r.load === 'max')!;
  const ratios = {
    fullVsConnect: round(max('full').requestsPerSecond / max('connect').requestsPerSecond, 2),
    fullVsGrpc: round(max('full').requestsPerSecond / max('grpc').requestsPerSecond, 2),
    cpuFullVsConnect: round(max('connect').serverCpuUs / max('full').serverCpuUs, 2),
  };
  process.stdout.write(
    table(
      'Scenario 4 - RPC overhead: GetInteraction, gRPC client (connect-node, HTTP/2) against each server (ms)',
      ['server', 'load', 'req/s', 'p50', 'p99', 'p99.9', 'errors', 'server us/req', 'server cores', 'client cores', 'other cores'],
      rows.map((r) => [r.server, r.load, r.requestsPerSecond, r.latencyMs.p50, r.latencyMs.p99, r.latencyMs.p999, r.errors, r.serverCpuUs, r.serverCores, r.clientCores, r.otherCores]),
    ) +
      `\nfull stack / bare connect-node: ${ratios.fullVsConnect} of the throughput, ${ratios.cpuFullVsConnect} of the per-request efficiency (server CPU); full / grpc-js: ${ratios.fullVsGrpc}\n`,
  );
  return { rows, ratios, rates };
}

async function closedLoop(call: () => Promise<unknown>, concurrency: number, durationMs: number) {
  const end = epochMs() + durationMs;
  const latencies: number[] = [];
  let errors = 0;
  const worker = async () => {
    while (epochMs() < end) {
      const t = epochMs();
      try {
        await call();
        latencies.push(epochMs() - t);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { count: latencies.length, errors, latencies };
}
