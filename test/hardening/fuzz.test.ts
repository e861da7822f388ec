// Hostile input on every endpoint. For every RPC of every service (taken from the service descriptors in the
// catalog, plus the gRPC health service each one serves), over Connect JSON, Connect binary and gRPC: malformed
// JSON, wrong types, unknown enum values, huge strings, lists and maps, deep nesting, invalid UTF-8, truncated and
// garbage protobuf, broken gRPC/Connect framing, over-size bodies, requests without a token, and random
// valid-shape messages. Every answer must be a proper Connect/gRPC error or a success: never internal/unknown,
// never a stack trace, never a hang past the deadline; the services stay up and their memory stays bounded.
//
// Cases come from a seeded PRNG: the seed is printed, and PULSE_FUZZ_SEED=<seed> replays a run. PULSE_FUZZ_CASES
// sets the cases per RPC and protocol (default 40); PULSE_FUZZ_ONLY=<regexp> limits the run to matching RPCs
// ("status:StatusService/WatchStatus").
import type { DescMethod } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Health } from '../../gen/grpc/health/v1/health_pb.js';
import { type Mesh, startMesh } from '../../services/all-in-one/mesh.js';
import { SERVICES, type ServiceName } from '../../services/platform/catalog.js';
import { random, seedFromEnv } from './support/prng.js';
import { binaryPayloads, jsonPayloads, type Payload } from './support/shapes.js';
import { type Answer, closeSessions, envelope, judge, PROTOCOLS, type Protocol, sendConnect, sendGrpc, type Target } from './support/wire.js';

const SEED = seedFromEnv();
const CASES = Math.max(20, Number(process.env.PULSE_FUZZ_CASES ?? 40));
/** The request size limit the mesh runs with; over-size cases go past it. */
const MAX_REQUEST_BYTES = 256 * 1024;
/** Deadline sent with every request (unary and streams). */
const DEADLINE_MS = 1_500;
/** No answer within this long is a hang. */
const CLIENT_TIMEOUT_MS = 5_000;
const CONCURRENCY = 12;
/** Generous: the fuzz cases allocate megabytes each, and the mesh's stores keep what was accepted. */
const MAX_RSS_GROWTH_MB = 512;

interface Case {
  rpc: string;
  protocol: Protocol;
  kind: string;
  target: Target;
  body: Uint8Array;
  token?: string;
  preframed?: boolean;
  grpcCodec?: 'proto' | 'json';
}

interface Result extends Case {
  answer: Answer;
  problem?: string;
}

function rpcTargets(mesh: Mesh): { rpc: string; method: DescMethod; target: Target }[] {
  const targets: { rpc: string; method: DescMethod; target: Target }[] = [];
  for (const [name, { descriptor }] of Object.entries(SERVICES)) {
    for (const service of [descriptor, Health]) {
      for (const method of service.methods) {
        const path = `/${service.typeName}/${method.name}`;
        const streaming = method.methodKind !== 'unary';
        targets.push({ rpc: `${name}:${service.typeName.split('.').pop()}/${method.name}`, method, target: { baseUrl: mesh.urls[name as ServiceName], path, streaming } });
      }
    }
  }
  return targets;
}

/** Framing attacks on gRPC and Connect streaming envelopes. */
function framingCases(valid: Uint8Array, maxBytes: number): Payload[] {
  return [
    { kind: 'frame:length-overrun', body: envelope(valid, 0, valid.length + 1_000) },
    { kind: 'frame:length-short', body: envelope(valid, 0, Math.max(0, valid.length - 1)) },
    { kind: 'frame:compressed-without-encoding', body: envelope(valid, 1) },
    { kind: 'frame:unknown-flags', body: envelope(valid, 0x7c) },
    { kind: 'frame:two-messages', body: new Uint8Array([...envelope(valid), ...envelope(valid)]) },
    { kind: 'frame:empty-body', body: new Uint8Array() },
    { kind: 'frame:partial-prefix', body: new Uint8Array([0, 0, 0]) },
    { kind: 'frame:declared-oversize', body: envelope(valid, 0, maxBytes * 4) },
  ];
}

function casesFor(rpc: string, method: DescMethod, target: Target, token: string): Case[] {
  const cases: Case[] = [];
  for (const protocol of PROTOCOLS) {
    const rng = random(SEED).fork(`${rpc}:${protocol}`);
    const json = protocol === 'connect-json';
    const payloads = json ? jsonPayloads(method.input, rng, CASES, MAX_REQUEST_BYTES) : binaryPayloads(method.input, rng, CASES, MAX_REQUEST_BYTES);
    const framed = protocol === 'grpc' || target.streaming;
    // Swap some random cases for framing attacks and requests without a valid token, keeping the count.
    const extra: Case[] = [
      { rpc, protocol, kind: 'auth:none', target, body: payloads[payloads.length - 1].body },
      { rpc, protocol, kind: 'auth:wrong', target, body: payloads[payloads.length - 1].body, token: 'not-a-token-but-long-enough' },
    ];
    if (framed) {
      const valid = payloads[payloads.length - 1].body;
      for (const p of framingCases(valid, MAX_REQUEST_BYTES)) extra.push({ rpc, protocol, kind: p.kind, target, body: p.body, token, preframed: true });
    }
    if (protocol === 'grpc') {
      for (const p of jsonPayloads(method.input, rng.fork('grpc-json'), 4, MAX_REQUEST_BYTES)) {
        extra.push({ rpc, protocol, kind: `json-codec:${p.kind}`, target, body: p.body, token, grpcCodec: 'json' });
      }
    }
    const kept = payloads.slice(0, Math.max(0, CASES - extra.length));
    for (const p of kept) cases.push({ rpc, protocol, kind: p.kind, target, body: p.body, token });
    cases.push(...extra);
  }
  return cases;
}

async function send(c: Case): Promise<Result> {
  const options = { token: c.token, timeoutMs: CLIENT_TIMEOUT_MS, deadlineMs: DEADLINE_MS, preframed: c.preframed, grpcCodec: c.grpcCodec };
  const answer =
    c.protocol === 'grpc' ? await sendGrpc(c.target, c.body, options) : await sendConnect(c.target, c.protocol === 'connect-proto', c.body, options);
  return { ...c, answer, problem: judge(answer, DEADLINE_MS) };
}

async function runPool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')).join('\n');
}

describe('hostile input on every endpoint', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    const env: Record<string, string | undefined> = {
      ...process.env,
      LOG_LEVEL: process.env.PULSE_FUZZ_LOG_LEVEL ?? 'fatal',
      PULSE_MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES),
      PULSE_API_TOKENS: undefined, // a generated `dev` token with full access
    };
    mesh = await startMesh({ ports: 'free', env });
  }, 60_000);

  afterAll(async () => {
    closeSessions();
    await mesh?.stop();
  }, 60_000);

  it('answers every case with a proper error or a success, stays up and bounded', async () => {
    const only = process.env.PULSE_FUZZ_ONLY ? new RegExp(process.env.PULSE_FUZZ_ONLY) : undefined;
    const targets = rpcTargets(mesh).filter(({ rpc }) => !only || only.test(rpc));
    const all = targets.flatMap(({ rpc, method, target }) => casesFor(rpc, method, target, mesh.token));
    console.log(`fuzz: seed ${SEED} (replay with PULSE_FUZZ_SEED=${SEED}), ${targets.length} RPCs, ${all.length} cases`);

    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    const results = await runPool(all, CONCURRENCY, send);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    // Let the last large buffers go before measuring.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rssAfter = process.memoryUsage().rss;

    // Per RPC: cases sent per protocol.
    const rows = [['rpc', ...PROTOCOLS, 'total']];
    for (const { rpc } of targets) {
      const mine = results.filter((r) => r.rpc === rpc);
      rows.push([rpc, ...PROTOCOLS.map((p) => String(mine.filter((r) => r.protocol === p).length)), String(mine.length)]);
    }
    console.log(`fuzz: cases per RPC\n${table(rows)}`);
    // The error-code histogram, per protocol and overall.
    const codes = [...new Set(results.map((r) => r.answer.code))].sort();
    const histogram = [['code', ...PROTOCOLS, 'total']];
    for (const code of codes) {
      const n = (p?: Protocol) => results.filter((r) => r.answer.code === code && (!p || r.protocol === p)).length;
      histogram.push([code, ...PROTOCOLS.map((p) => String(n(p))), String(n())]);
    }
    console.log(`fuzz: answers by code (${results.length} cases in ${seconds} s)\n${table(histogram)}`);
    // What drew each code, briefly: the case kinds (without their field) most often answered with it.
    for (const code of codes) {
      const kinds = new Map<string, number>();
      for (const r of results.filter((x) => x.answer.code === code)) {
        const kind = r.kind.split(':').slice(0, r.kind.startsWith('json-codec') ? 2 : 1).join(':');
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
      const top = [...kinds].sort((a, b) => b[1] - a[1]).slice(0, 6);
      console.log(`fuzz: ${code} <- ${top.map(([k, n]) => `${k} ${n}`).join(', ')}`);
    }
    const slowest = [...results].sort((a, b) => b.answer.ms - a.answer.ms)[0];
    console.log(`fuzz: slowest answer ${slowest.answer.ms} ms (${slowest.rpc} ${slowest.protocol} ${slowest.kind} -> ${slowest.answer.code})`);
    console.log(`fuzz: rss ${Math.round(rssBefore / 2 ** 20)} MB -> ${Math.round(rssAfter / 2 ** 20)} MB`);

    const problems = results.filter((r) => r.problem);
    for (const p of problems.slice(0, 40)) {
      console.log(`fuzz PROBLEM: ${p.rpc} ${p.protocol} ${p.kind}: ${p.problem} (body ${p.body.length} bytes: ${Buffer.from(p.body.subarray(0, 48)).toString('hex')})`);
    }
    expect(problems.map((p) => `${p.rpc} ${p.protocol} ${p.kind}: ${p.problem}`), `seed ${SEED}`).toEqual([]);

    // Every service is still alive and answering.
    for (const [name, url] of Object.entries(mesh.urls)) {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
      expect(res.status, `${name} /healthz`).toBe(200);
    }
    expect((rssAfter - rssBefore) / 2 ** 20, 'rss growth (MB)').toBeLessThan(MAX_RSS_GROWTH_MB);
  }, 600_000);
});
