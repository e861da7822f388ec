// Static checks of the container and cluster files: Dockerfile, .dockerignore, docker-compose.yml, tilt/ and the
// Tiltfile. There is no Docker engine, Kubernetes or Tilt where these tests run, so nothing is built or deployed;
// what can be checked without them is checked here, against the code: the ports come from catalog.ts, the peers
// from each service module, and each service's environment is fed to the services' own config readers.
// The production command is also tried for real: the sources are compiled with tsconfig.build.json and each
// compiled service is started with plain node, as the image's entrypoint does.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { TokenRegistry } from '../../services/platform/auth.js';
import { SERVICE_NAMES, SERVICES, type ServiceName, urlVariable } from '../../services/platform/catalog.js';
import { EnvReader } from '../../services/platform/config.js';
import { readPlatformConfig, type ServiceModule } from '../../services/platform/service.js';
import { until } from '../support/poll.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const INFRA = ['rabbitmq', 'mongodb', 'jaeger', 'mailpit'] as const;
type Env = Record<string, string | undefined>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

// ---- the services as the code declares them ------------------------------------------------------------------

const present = SERVICE_NAMES.filter((name) => existsSync(join(ROOT, `services/${name}/service.ts`)));
const modules = new Map<ServiceName, ServiceModule<unknown>>();

beforeAll(async () => {
  for (const name of present) {
    const mod = (await import(/* @vite-ignore */ join(ROOT, `services/${name}/service.ts`))) as Record<string, ServiceModule<unknown>>;
    const module = mod[name];
    if (!module) throw new Error(`services/${name}/service.ts exports no module named ${name}`);
    modules.set(name, module);
  }
});

function peersOf(name: ServiceName): readonly ServiceName[] {
  const module = modules.get(name);
  if (!module) throw new Error(`services/${name}/service.ts is missing`);
  return module.peers;
}

/**
 * Who must start before whom for events: publisher -> the services that consume what it publishes, read from the
 * sources (`tx.emit('<event>'` and consumer specs' `events: ['<event>']`). A consumer's queue must exist before the
 * first publish, or the broker returns the event as unroutable and it is lost.
 */
function eventConsumers(): Map<ServiceName, Set<ServiceName>> {
  const sources = (name: ServiceName) =>
    readdirSync(join(ROOT, 'services', name), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !/(\.test|test-support)\.ts$/.test(file))
      .map((file) => readFileSync(join(ROOT, 'services', name, file), 'utf8'))
      .join('\n');
  const published = new Map<ServiceName, Set<string>>();
  const consumed = new Map<ServiceName, Set<string>>();
  for (const name of present) {
    const text = sources(name);
    published.set(name, new Set([...text.matchAll(/\bemit\(\s*'([a-z.]+)'/g)].map((m) => m[1])));
    consumed.set(name, new Set([...text.matchAll(/\bevents:\s*\[([^\]]*)\]/g)].flatMap((m) => [...m[1].matchAll(/'([a-z.]+)'/g)].map((e) => e[1]))));
  }
  const flow = new Map<ServiceName, Set<ServiceName>>();
  for (const [publisher, events] of published) {
    const consumers = new Set(present.filter((c) => c !== publisher && [...events].some((e) => consumed.get(c)!.has(e))));
    flow.set(publisher, consumers);
  }
  return flow;
}

/** Whether `from` waits, directly or not, for `to` in a dependency graph. */
function waitsFor(graph: (name: string) => string[], from: string, to: string, seen = new Set<string>()): boolean {
  if (from === to) return true;
  if (seen.has(from)) return false;
  seen.add(from);
  return graph(from).some((next) => waitsFor(graph, next, to, seen));
}

/** Feeds an environment to the platform's and the service's own config readers; returns the platform config. */
function checkConfig(name: ServiceName, env: Env) {
  const module = modules.get(name)!;
  const reader = new EnvReader(env);
  const platform = readPlatformConfig(reader, module);
  module.configure?.(reader);
  reader.check(); // throws ConfigError naming every bad or missing variable
  return platform;
}

/** What every container deployment needs beyond what the config readers insist on (they fall back to embedded mode). */
const DEPLOYMENT_REQUIRED = ['AMQP_URL', 'MONGODB_URI', 'PULSE_API_TOKENS', 'OTEL_SERVICE_NAME', 'OTEL_EXPORTER_OTLP_ENDPOINT'];

/** Checks one service's resolved environment in a deployment (compose or Kubernetes). */
function checkServiceEnv(
  name: ServiceName,
  env: Env,
  infra: { amqpUser: string; amqpPassword: string; replicaSet: string; peerUrl: (peer: ServiceName) => string; otlpEndpoint: string },
) {
  for (const variable of [...DEPLOYMENT_REQUIRED, ...peersOf(name).map(urlVariable)]) {
    expect(env[variable], `${name}: ${variable}`).toBeTruthy();
  }
  const platform = checkConfig(name, env);
  expect(env.PULSE_SERVICE, `${name}: PULSE_SERVICE`).toBe(name);
  expect(platform.port, `${name}: PORT`).toBe(SERVICES[name].port);
  expect(env.OTEL_SERVICE_NAME).toBe(`pulse-${name}`);
  expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(infra.otlpEndpoint);
  const amqp = new URL(platform.amqpUrl!);
  expect([amqp.hostname, amqp.port || '5672', decodeURIComponent(amqp.username), decodeURIComponent(amqp.password)]).toEqual([
    'rabbitmq',
    '5672',
    infra.amqpUser,
    infra.amqpPassword,
  ]);
  const mongo = new URL(platform.mongodbUri!);
  expect(mongo.hostname).toBe('mongodb');
  expect(mongo.searchParams.get('replicaSet') ?? (mongo.searchParams.get('directConnection') === 'true' ? infra.replicaSet : null)).toBe(
    infra.replicaSet,
  );
  for (const peer of peersOf(name)) {
    expect(platform.peerUrls[peer], `${name}: ${urlVariable(peer)}`).toBe(infra.peerUrl(peer));
    // The token this service presents must be one its peer accepts (peers read the same PULSE_API_TOKENS).
    const { registry } = TokenRegistry.parse(env.PULSE_API_TOKENS!);
    expect(() => registry.authenticate(`Bearer ${platform.serviceToken}`), `${name}'s PULSE_SERVICE_TOKEN is accepted`).not.toThrow();
  }
}

// ---- Dockerfile --------------------------------------------------------------------------------------------------

interface Stage {
  name: string;
  from: string;
  lines: string[];
}

function dockerStages(text: string): { args: Record<string, string>; stages: Stage[] } {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  let heredoc: string | undefined;
  for (const raw of text.split('\n')) {
    if (heredoc) {
      if (raw.trim() === heredoc) heredoc = undefined;
      stages.at(-1)?.lines.push(raw);
      continue;
    }
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) {
      stages.push({ name: from[2] ?? String(stages.length), from: from[1], lines: [] });
      continue;
    }
    const arg = /^ARG\s+(\w+)=(\S+)$/.exec(line);
    if (arg && stages.length === 0) args[arg[1]] = arg[2];
    const opens = /<<-?'?(\w+)'?/.exec(line);
    if (opens) heredoc = opens[1];
    stages.at(-1)?.lines.push(line);
  }
  return { args, stages };
}

function entrypointScript(text: string): string {
  const match = /COPY[^\n]*<<'EOF' \/usr\/local\/bin\/pulse-service\n([\s\S]*?)\nEOF\n/.exec(text);
  if (!match) throw new Error('Dockerfile: no entrypoint heredoc for /usr/local/bin/pulse-service');
  return `${match[1]}\n`;
}

/** .dockerignore semantics (moby patternmatcher): last matching pattern wins; a pattern also matches descendants. */
function dockerignored(patterns: string[], path: string): boolean {
  const toRegex = (pattern: string) =>
    new RegExp(
      `^${pattern
        .replace(/\/+$/, '')
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((part) =>
          part === '**/' ? '(?:.*/)?' : part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
        )
        .join('')}$`,
    );
  const candidates = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const regex = toRegex(negated ? raw.slice(1) : raw);
    if (candidates.some((candidate) => regex.test(candidate))) excluded = !negated;
  }
  return excluded;
}

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const { args, stages } = dockerStages(text);
  const stage = (name: string) => {
    const found = stages.find((s) => s.name === name);
    if (!found) throw new Error(`Dockerfile has no stage ${name}`);
    return found;
  };
  /** A stage's own lines plus those of the stages it is built FROM. */
  const lineage = (name: string): string[] => {
    const s = stage(name);
    const parent = stages.find((p) => p.name === s.from);
    return [...(parent ? lineage(parent.name) : []), ...s.lines];
  };

  it('is multi-stage on a Node 24 slim base', () => {
    expect(stages.map((s) => s.name)).toEqual(expect.arrayContaining(['base', 'deps', 'prod-deps', 'build', 'dev', 'production']));
    const base = stage('base').from.replace(/^\$\{(\w+)\}$/, (_, name: string) => args[name] ?? '');
    expect(base).toMatch(/^node:24(\.\d+)*-(bookworm-|trixie-)?slim$/);
    for (const s of stages) expect([base, ...stages.map((p) => p.name)], `FROM of ${s.name}`).toContain(s.from.replace(/^\$\{\w+\}$/, base));
  });

  it('installs with npm ci, compiles with tsconfig.build.json, and ships production dependencies only', () => {
    expect(stage('deps').lines.some((l) => /\bnpm ci\b(?!.*--omit=dev)/.test(l))).toBe(true);
    expect(stage('prod-deps').lines.some((l) => /\bnpm ci\b.*--omit=dev/.test(l))).toBe(true);
    expect(stage('build').from).toBe('deps');
    expect(stage('build').lines.some((l) => /tsc -p tsconfig\.build\.json/.test(l))).toBe(true);
    const production = stage('production').lines;
    expect(stages.at(-1)!.name, 'production is the default (last) stage').toBe('production');
    expect(production).toContain('COPY --from=prod-deps /app/node_modules ./node_modules');
    expect(production).toContain('COPY --from=build /app/dist ./dist');
    expect(production).toContain('COPY package.json ./'); // "type": "module" for the compiled ESM
    expect(production.some((l) => /COPY (--\S+ )*(services|gen)\b/.test(l)), 'no TypeScript sources in production').toBe(false);
    expect(production.some((l) => /--from=deps\b/.test(l)), 'no dev dependencies in production').toBe(false);
  });

  it('runs as a non-root user with NODE_ENV set, in both production and dev', () => {
    for (const name of ['production', 'dev']) {
      const users = lineage(name).filter((l) => /^USER\s/.test(l));
      expect(users.at(-1), `${name} user`).toMatch(/^USER\s+(node|[1-9]\d*)(:\S+)?$/);
    }
    expect(lineage('production').some((l) => /^ENV\s+NODE_ENV=production\b/.test(l))).toBe(true);
    expect(lineage('dev').join('\n')).toMatch(/NODE_ENV=development/);
    expect(lineage('dev').join('\n')).toMatch(/PULSE_WATCH=1/);
    expect(text).toMatch(/^WORKDIR \/app$/m);
    expect(text).toMatch(/^ENTRYPOINT \["pulse-service"\]$/m);
  });

  it('has an entrypoint that knows exactly the services of catalog.ts (and the embedded all-in-one mesh)', () => {
    const script = entrypointScript(text);
    const names = /^\s*([\w|-]+)\)\s*;;/m.exec(script)?.[1].split('|');
    expect(names?.sort()).toEqual([...SERVICE_NAMES, 'all-in-one'].sort());
    for (const name of SERVICE_NAMES) expect(existsSync(join(ROOT, `services/${name}/main.ts`)) || !present.includes(name)).toBe(true);
    expect(existsSync(join(ROOT, 'services/platform/telemetry-register.ts'))).toBe(true);
  });

  describe('entrypoint script, run with sh', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'pulse-entrypoint-'));
      writeFileSync(join(dir, 'pulse-service'), entrypointScript(text));
      mkdirSync(join(dir, 'bin'));
      mkdirSync(join(dir, 'node_modules/.bin'), { recursive: true });
      const fake = '#!/bin/sh\necho "$(basename "$0") $* | OTEL_SERVICE_NAME=$OTEL_SERVICE_NAME PULSE_SERVICE=$PULSE_SERVICE"\n';
      for (const path of ['bin/node', 'node_modules/.bin/tsx']) {
        writeFileSync(join(dir, path), fake);
        chmodSync(join(dir, path), 0o755);
      }
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const sh = (args: string[], env: Env) =>
      run('sh', ['pulse-service', ...args], { cwd: dir, env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, ...env } }).then(
        ({ stdout }) => ({ code: 0, out: stdout.trim() }),
        (err: { code: number; stderr: string }) => ({ code: err.code, out: err.stderr.trim() }),
      );

    it('runs the compiled service named by PULSE_SERVICE with the telemetry module preloaded', async () => {
      expect(await sh([], { PULSE_SERVICE: 'review' })).toEqual({
        code: 0,
        out: 'node --enable-source-maps --import ./dist/services/platform/telemetry-register.js dist/services/review/main.js | OTEL_SERVICE_NAME=pulse-review PULSE_SERVICE=review',
      });
    });

    it('takes the service as an argument too, and keeps an OTEL_SERVICE_NAME that is set', async () => {
      expect((await sh(['status'], { OTEL_SERVICE_NAME: 'custom' })).out).toBe(
        'node --enable-source-maps --import ./dist/services/platform/telemetry-register.js dist/services/status/main.js | OTEL_SERVICE_NAME=custom PULSE_SERVICE=status',
      );
    });

    it('runs tsx watch on the sources in the dev image', async () => {
      expect((await sh([], { PULSE_SERVICE: 'ingestion', PULSE_WATCH: '1' })).out).toBe(
        'tsx watch --clear-screen=false --import ./services/platform/telemetry-register.ts services/ingestion/main.ts | OTEL_SERVICE_NAME=pulse-ingestion PULSE_SERVICE=ingestion',
      );
    });

    it('refuses a missing or unknown service, listing the valid ones', async () => {
      for (const env of [{}, { PULSE_SERVICE: 'platform' }, { PULSE_SERVICE: '../x' }]) {
        const result = await sh([], env);
        expect(result.code).toBe(64);
        expect(result.out).toMatch(/set PULSE_SERVICE .* ingestion sentiment review preference notification status/);
      }
    });
  });

  it('has a build tsconfig that compiles services and gen to dist without tests', () => {
    const config = JSON.parse(read('tsconfig.build.json')) as Json;
    expect(config.extends).toBe('./tsconfig.json');
    expect(config.compilerOptions).toMatchObject({ noEmit: false, outDir: 'dist', rootDir: '.' });
    expect(config.include).toEqual(['gen', 'services']);
    expect(config.exclude).toEqual(expect.arrayContaining(['**/*.test.ts', '**/test-support.ts']));
  });

  it('.dockerignore keeps out what the image does not need and lets in everything the Dockerfile copies', () => {
    const patterns = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const out = ['node_modules/x/index.js', 'dist/services/a.js', '.git/HEAD', '.env', '.ci/run', 'test/e2e/x.test.ts', 'services/platform/auth.test.ts', 'services/notification/test-support.ts', 'docker-compose.yml', 'tilt/kustomization.yaml', 'docs/operations.md'];
    for (const path of out) expect(dockerignored(patterns, path), `${path} is ignored`).toBe(true);
    const copied = [...text.matchAll(/^COPY (?!--from)(?:--\S+ )*(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/)).filter((p) => !p.startsWith('<<'));
    expect(copied.length).toBeGreaterThan(4);
    const inside = ['services/platform/main.ts', 'services/ingestion/main.ts', 'gen/pulse/ingestion/v1/ingestion_service_pb.ts'];
    for (const path of [...copied, ...inside]) expect(dockerignored(patterns, path), `${path} reaches the build`).toBe(false);
  });
});

describe('compiled services start with plain node, as in the production image', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pulse-dist-'));
    await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json', '--outDir', join(dir, 'dist')], { cwd: ROOT });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('compiles no tests and no test support into the image', () => {
    const compiled = readdirSync(join(dir, 'dist'), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js'));
    expect(compiled).toContain(join('services', 'platform', 'main.js'));
    expect(compiled.filter((file) => /(\.test|test-support|[\\/]platform[\\/]testing)\.js$/.test(file))).toEqual([]);
  });

  it.each(SERVICE_NAMES)('%s', async (name) => {
    if (!present.includes(name)) return expect.fail(`services/${name}/service.ts is missing`);
    const child: ChildProcess = spawn(
      process.execPath,
      ['--enable-source-maps', '--import', './dist/services/platform/telemetry-register.js', `dist/services/${name}/main.js`],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          NODE_ENV: 'production',
          PORT: '0',
          HOST: '127.0.0.1',
          LOG_LEVEL: 'info',
          OTEL_SERVICE_NAME: `pulse-${name}`,
          PULSE_API_TOKENS: 'dev:dev-only-not-a-secret-token,pulse-services:dev-only-not-a-secret-service-token',
          PULSE_SERVICE_TOKEN: 'dev-only-not-a-secret-service-token',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const port = await until(
        `${name} to listen`,
        () => {
          const listening = Number(/"port":(\d+)[^\n]*listening/.exec(output)?.[1]);
          if (!listening) throw new Error(child.exitCode === null ? `output so far:\n${output}` : `exited with ${child.exitCode}:\n${output}`);
          return listening;
        },
        20_000,
      );
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toContain(`pulse_rpc_server_requests_total`);
      if (peersOf(name).length === 0) expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code, `clean exit on SIGTERM:\n${output}`).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

// ---- docker-compose.yml ------------------------------------------------------------------------------------------

function parseDotenv(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!match) continue;
    const value = match[2].trim();
    vars[match[1]] = /^(["']).*\1$/.test(value) ? value.slice(1, -1) : value;
  }
  return vars;
}

/** Compose variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, $VAR, $$. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\$|\$\{(\w+)(?:(:?-)([^}]*))?\}|\$(\w+)/g, (whole, braced?: string, op?: string, fallback?: string, bare?: string) => {
    if (whole === '$$') return '$';
    const name = braced ?? bare!;
    const set = vars[name];
    if (op === ':-') return set ? set : (fallback ?? '');
    if (op === '-') return set !== undefined ? set : (fallback ?? '');
    return set ?? '';
  });
}

function composeVariables(text: string): { name: string; fallback: string | undefined }[] {
  return [...text.matchAll(/\$\{(\w+)(?::?-([^}]*))?\}/g)].map((m) => ({ name: m[1], fallback: m[2] }));
}

describe('docker-compose.yml', () => {
  const text = read('docker-compose.yml');
  const compose = parse(text, { merge: true }) as Json;
  const services = compose.services as Record<string, Json>;
  const dotenv = parseDotenv(read('.env.example'));
  const scenarios: [string, Record<string, string>][] = [
    ['without .env', {}],
    ['with .env copied from .env.example', dotenv],
  ];
  const envOf = (name: string, vars: Record<string, string>): Env =>
    Object.fromEntries(Object.entries(services[name].environment ?? {}).map(([k, v]) => [k, interpolate(String(v ?? ''), vars)]));
  const publishedPorts = (name: string) =>
    (services[name].ports as string[]).map((p) => {
      const parts = String(p).split(':');
      return { host: Number(parts.at(-2)), container: Number(parts.at(-1)), bind: parts.length === 3 ? parts[0] : undefined };
    });

  it('has the infrastructure and the six services', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining([...INFRA, ...SERVICE_NAMES]));
  });

  it('runs RabbitMQ with the management UI and a health check', () => {
    expect(services.rabbitmq.image).toMatch(/^rabbitmq:[\d.]+-management$/);
    expect(services.rabbitmq.healthcheck.test).toEqual(['CMD', 'rabbitmq-diagnostics', '-q', 'ping']);
    expect(publishedPorts('rabbitmq').map((p) => p.container)).toEqual(expect.arrayContaining([5672, 15672]));
  });

  it('runs MongoDB as a single-node replica set that initiates itself and is healthy once primary', () => {
    const args = services.mongodb.command as string[];
    const replicaSet = args[args.indexOf('--replSet') + 1];
    expect(replicaSet).toBe('rs0');
    const check = (services.mongodb.healthcheck.test as string[]).join(' ');
    expect(check).toContain('mongosh');
    expect(check).toContain(`rs.initiate({ _id: '${replicaSet}', members: [{ _id: 0, host: 'mongodb:27017' }] })`);
    expect(check).toContain('isWritablePrimary');
  });

  it('runs Jaeger with OTLP and its UI, and Mailpit with SMTP and its UI', () => {
    expect(services.jaeger.image).toMatch(/^jaegertracing\/(jaeger|all-in-one):/);
    expect(publishedPorts('jaeger').map((p) => p.container)).toEqual(expect.arrayContaining([16686, 4317, 4318]));
    expect((services.jaeger.command as string[]).join(' ')).toContain('receivers.otlp.protocols.http.endpoint=0.0.0.0:4318');
    expect(publishedPorts('mailpit').map((p) => p.container)).toEqual(expect.arrayContaining([8025, 1025]));
    expect(services.mailpit.healthcheck.test).toEqual(['CMD', '/mailpit', 'readyz']);
  });

  it('publishes every port on 127.0.0.1 only', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const port of (service.ports ?? []) as string[]) expect(String(port), name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
  });

  it.each(SERVICE_NAMES)('%s: one image, its port, /readyz health check, restart policy, memory limit', (name) => {
    const service = services[name];
    expect(service.build).toEqual({ context: '.', target: 'production' });
    expect(service.environment.PULSE_SERVICE).toBe(name);
    expect(String(service.environment.PORT)).toBe(String(SERVICES[name].port));
    expect(publishedPorts(name)).toEqual([{ host: SERVICES[name].port, container: SERVICES[name].port, bind: '127.0.0.1' }]);
    const check = (service.healthcheck.test as string[]).join(' ');
    expect(check).toMatch(/^CMD node -e fetch\('http:\/\/127\.0\.0\.1:' \+ process\.env\.PORT \+ '\/readyz'\)/);
    expect(service.restart).toMatch(/^(always|unless-stopped|on-failure(:\d+)?)$/);
    expect(service.deploy?.resources?.limits?.memory ?? service.mem_limit).toMatch(/^\d+[MG]$/);
    expect(service.read_only).toBe(true);
    expect(service.cap_drop).toEqual(['ALL']);
    expect(service.security_opt).toContain('no-new-privileges:true');
  });

  it.each(SERVICE_NAMES)('%s: waits for the infrastructure and its peers to be healthy', (name) => {
    const dependsOn = services[name].depends_on as Record<string, { condition: string }>;
    expect(dependsOn.rabbitmq?.condition).toBe('service_healthy');
    expect(dependsOn.mongodb?.condition).toBe('service_healthy');
    expect(dependsOn.jaeger?.condition).toMatch(/^service_(started|healthy)$/);
    for (const peer of peersOf(name)) expect(dependsOn[peer]?.condition, `${name} -> ${peer}`).toBe('service_healthy');
  });

  it('each publisher waits for the consumers of its events (unless a consumer already waits for it, as a peer)', () => {
    const graph = (name: string) => Object.keys(services[name]?.depends_on ?? {});
    const flow = eventConsumers();
    expect(flow.get('ingestion')).toEqual(new Set(['sentiment', 'notification']));
    for (const [publisher, consumers] of flow) {
      for (const consumer of consumers) {
        if (waitsFor(graph, consumer, publisher)) continue; // e.g. preference.changed -> notification, which calls preference
        expect(services[publisher].depends_on[consumer]?.condition, `${publisher} waits for ${consumer}`).toBe('service_healthy');
      }
    }
  });

  it('notification waits for Mailpit, and the depends_on graph has no cycle', () => {
    expect(services.notification.depends_on.mailpit.condition).toBe('service_healthy');
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (name: string, path: string[]) => {
      expect(services[name], `${path.join(' -> ')} names an unknown service`).toBeDefined();
      if (done.has(name)) return;
      expect(visiting.has(name), `cycle: ${[...path, name].join(' -> ')}`).toBe(false);
      visiting.add(name);
      for (const dep of Object.keys(services[name].depends_on ?? {})) visit(dep, [...path, name]);
      visiting.delete(name);
      done.add(name);
    };
    for (const name of Object.keys(services)) visit(name, []);
  });

  describe.each(scenarios)('%s', (_, vars) => {
    it.each(SERVICE_NAMES)('%s: the environment passes the service config and points at the compose hosts', (name) => {
      const rabbit = Object.fromEntries(Object.entries(services.rabbitmq.environment).map(([k, v]) => [k, interpolate(String(v), vars)]));
      const args = services.mongodb.command as string[];
      checkServiceEnv(name, envOf(name, vars), {
        amqpUser: rabbit.RABBITMQ_DEFAULT_USER,
        amqpPassword: rabbit.RABBITMQ_DEFAULT_PASS,
        replicaSet: args[args.indexOf('--replSet') + 1],
        peerUrl: (peer) => `http://${peer}:${SERVICES[peer].port}`,
        otlpEndpoint: 'http://jaeger:4318',
      });
    });
  });

  it('defaults every variable to its .env.example value, and uses every variable .env.example sets', () => {
    const used = composeVariables(text);
    for (const { name, fallback } of used) {
      expect(fallback, `\${${name}} needs a default so compose works without .env`).toBeDefined();
      if (name in dotenv) expect(fallback, `default of ${name}`).toBe(dotenv[name]);
    }
    for (const name of Object.keys(dotenv)) expect(used.map((v) => v.name), `${name} from .env.example`).toContain(name);
  });

  it('only sends email to Mailpit by default, and passes Slack and Twilio settings through when set', () => {
    const env = services.notification.environment as Record<string, string>;
    expect(interpolate(env.SMTP_URL, {})).toBe('smtp://mailpit:1025');
    for (const name of ['SLACK_BOT_TOKEN', 'TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM']) {
      expect(env[name]).toBe(`\${${name}:-}`);
      expect(dotenv[name]).toBe('');
    }
  });

  it('runs Prometheus on the scrape config and alert rules, scraping every service', () => {
    const mounts = services.prometheus.volumes as string[];
    expect(mounts).toContain('./ops/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    expect(mounts).toContain('./ops/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro');
    const config = parse(read('ops/prometheus/prometheus.yml')) as Json;
    expect(config.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
    const job = (config.scrape_configs as Json[]).find((j) => j.job_name === 'pulse');
    expect(job.metrics_path).toBe('/metrics');
    expect(job.static_configs[0].targets.sort()).toEqual(SERVICE_NAMES.map((n) => `${n}:${SERVICES[n].port}`).sort());
  });
});

// ---- tilt/ (kustomize) ---------------------------------------------------------------------------------------------

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  file: string;
  [key: string]: Json;
}

/** The objects `kustomize build tilt` would emit (resources only; this layout uses no generators or patches). */
function kustomizeResources(dir: string): K8sObject[] {
  const kustomization = parse(read(join(dir, 'kustomization.yaml'))) as Json;
  expect(kustomization.kind, `${dir}/kustomization.yaml`).toBe('Kustomization');
  for (const unsupported of ['patches', 'configMapGenerator', 'secretGenerator', 'images', 'namePrefix', 'nameSuffix', 'replacements']) {
    expect(kustomization[unsupported], `${dir}: ${unsupported} is not modelled by this test`).toBeUndefined();
  }
  return (kustomization.resources as string[]).flatMap((entry) => {
    const path = join(dir, entry);
    if (existsSync(join(ROOT, path, 'kustomization.yaml'))) return kustomizeResources(path);
    expect(existsSync(join(ROOT, path)), `${path} exists`).toBe(true);
    return parseAllDocuments(read(path)).map((doc) => {
      expect(doc.errors, path).toEqual([]);
      return { ...(doc.toJS() as K8sObject), file: path };
    });
  });
}

describe('tilt/ manifests', () => {
  const objects = kustomizeResources('tilt');
  const find = (kind: string, name: string) => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found) throw new Error(`tilt/ has no ${kind} ${name}`);
    return found;
  };
  const container = (name: string) => find('Deployment', name).spec.template.spec.containers[0] as Json;
  const tiltImage = /^IMAGE = '([^']+)'$/m.exec(read('Tiltfile'))?.[1];

  /** The environment a container sees: envFrom (in order; later wins), then env (wins over envFrom). */
  function containerEnv(c: Json): Env {
    const env: Env = {};
    const source = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
    const secretValues = (secret: K8sObject): Record<string, string> => ({
      ...Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString()])),
      ...(secret.stringData ?? {}),
    });
    for (const from of c.envFrom ?? []) {
      const ref = from.configMapRef ?? from.secretRef;
      const object = source(from.configMapRef ? 'ConfigMap' : 'Secret', ref.name);
      if (!object) {
        expect(ref.optional, `${ref.name} is defined in tilt/ or optional`).toBe(true);
        continue;
      }
      Object.assign(env, from.configMapRef ? object.data : secretValues(object));
    }
    for (const entry of c.env ?? []) {
      if ('value' in entry) env[entry.name] = String(entry.value);
      else if (entry.valueFrom?.secretKeyRef) {
        const ref = entry.valueFrom.secretKeyRef;
        const secret = source('Secret', ref.name);
        expect(secret, `Secret ${ref.name}`).toBeDefined();
        env[entry.name] = secretValues(secret!)[ref.key];
        expect(env[entry.name], `${ref.name}.${ref.key}`).toBeDefined();
      } else if (entry.valueFrom?.configMapKeyRef) {
        const ref = entry.valueFrom.configMapKeyRef;
        env[entry.name] = source('ConfigMap', ref.name)?.data?.[ref.key];
      }
    }
    return env;
  }
  const portNumber = (c: Json, port: string | number) =>
    typeof port === 'number' ? port : (c.ports as Json[]).find((p) => p.name === port)?.containerPort;

  it('every object is well formed and unique', () => {
    const keys = objects.map((o) => `${o.kind}/${o.metadata?.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const o of objects) {
      expect(o.apiVersion, o.file).toBeTruthy();
      expect(o.metadata.name, o.file).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      const podLabels = d.spec.template.metadata.labels;
      expect(podLabels, `${d.metadata.name}: selector matches the pod labels`).toMatchObject(d.spec.selector.matchLabels);
      const service = find('Service', d.metadata.name);
      expect(podLabels, `Service ${d.metadata.name} selects its pods`).toMatchObject(service.spec.selector);
    }
  });

  it('has RabbitMQ, MongoDB (replica set), Jaeger and Mailpit, each with a readiness probe', () => {
    for (const name of INFRA) expect(container(name).readinessProbe, name).toBeDefined();
    expect(container('rabbitmq').image).toMatch(/^rabbitmq:[\d.]+-management$/);
    expect(container('mongodb').args.slice(0, 2)).toEqual(['--replSet', 'rs0']);
    expect(container('mongodb').readinessProbe.exec.command.join(' ')).toContain(
      "rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: 'mongodb:27017' }] })",
    );
    // rs.initiate reaches the member by name before the pod is ready.
    expect(find('Service', 'mongodb').spec.publishNotReadyAddresses).toBe(true);
    expect(find('Service', 'jaeger').spec.ports.map((p: Json) => p.port)).toEqual(expect.arrayContaining([16686, 4317, 4318]));
    expect(find('Service', 'mailpit').spec.ports.map((p: Json) => p.port)).toEqual(expect.arrayContaining([8025, 1025]));
    expect(find('Service', 'rabbitmq').spec.ports.map((p: Json) => p.port)).toEqual(expect.arrayContaining([5672, 15672]));
  });

  it.each(SERVICE_NAMES)('%s: the Tiltfile image, its port, gRPC readiness and /healthz probes, resources, non-root', (name) => {
    const c = container(name);
    expect(c.image).toBe(tiltImage);
    expect(c.ports).toEqual([{ name: 'http', containerPort: SERVICES[name].port }]);
    expect(c.readinessProbe.grpc.port).toBe(SERVICES[name].port); // grpc.health.v1 (test/observability/health-probe.test.ts)
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    for (const probe of [c.livenessProbe, c.startupProbe].filter(Boolean)) {
      expect(portNumber(c, probe.httpGet.port)).toBe(SERVICES[name].port);
    }
    const service = find('Service', name);
    expect(service.spec.ports).toHaveLength(1);
    expect(service.spec.ports[0].port).toBe(SERVICES[name].port);
    expect(portNumber(c, service.spec.ports[0].targetPort)).toBe(SERVICES[name].port);
    for (const kind of ['requests', 'limits']) {
      expect(c.resources[kind].cpu, `${kind}.cpu`).toBeTruthy();
      expect(c.resources[kind].memory, `${kind}.memory`).toBeTruthy();
    }
    const pod = find('Deployment', name).spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(c.securityContext.capabilities.drop).toEqual(['ALL']);
  });

  it.each(SERVICE_NAMES)('%s: the environment passes the service config and points at the cluster services', (name) => {
    const rabbitEnv = containerEnv(container('rabbitmq'));
    const otlp = find('Service', 'jaeger').spec.ports.find((p: Json) => p.port === 4318);
    expect(otlp).toBeDefined();
    checkServiceEnv(name, containerEnv(container(name)), {
      amqpUser: rabbitEnv.RABBITMQ_DEFAULT_USER!,
      amqpPassword: rabbitEnv.RABBITMQ_DEFAULT_PASS!,
      replicaSet: container('mongodb').args[1],
      peerUrl: (peer) => `http://${find('Service', peer).metadata.name}:${find('Service', peer).spec.ports[0].port}`,
      otlpEndpoint: 'http://jaeger:4318',
    });
  });

  it('other infrastructure does not run as root either', () => {
    for (const name of INFRA) {
      const pod = find('Deployment', name).spec.template.spec;
      expect(pod.securityContext.runAsNonRoot, name).toBe(true);
      expect(container(name).securityContext.allowPrivilegeEscalation, name).toBe(false);
    }
  });
});

// ---- Tiltfile ------------------------------------------------------------------------------------------------------

/** The text between the parentheses of the first call `fn(` whose arguments start with `first` (if given). */
function callArgs(text: string, fn: string, first = ''): string {
  let from = 0;
  for (;;) {
    const start = text.indexOf(`${fn}(`, from);
    if (start < 0) throw new Error(`Tiltfile: no ${fn}(${first}...)`);
    let depth = 0;
    for (let i = start + fn.length; i < text.length; i++) {
      if (text[i] === '(') depth++;
      else if (text[i] === ')' && --depth === 0) {
        const args = text.slice(start + fn.length + 1, i);
        if (args.trimStart().startsWith(first)) return args;
        from = i;
        break;
      }
    }
  }
}
const stringList = (args: string, key: string): string[] => {
  const list = new RegExp(`\\b${key}=\\[([^\\]]*)\\]`).exec(args)?.[1];
  if (list === undefined) throw new Error(`no ${key}=[...] in ${args.slice(0, 60)}...`);
  return [...list.matchAll(/'([^']*)'/g)].map((m) => m[1]);
};

describe('Tiltfile', () => {
  const text = read('Tiltfile');
  const image = /^IMAGE = '([^']+)'$/m.exec(text)?.[1];
  const infra = [...(/^INFRA = \[(.*)\]$/m.exec(text)?.[1] ?? '').matchAll(/'([^']*)'/g)].map((m) => m[1]);
  const services = Object.fromEntries(
    [...text.matchAll(/^\s+'([a-z-]+)': \{'port': (\d+), 'after': \[([^\]]*)\]\},$/gm)].map((m) => [
      m[1],
      { port: Number(m[2]), after: [...m[3].matchAll(/'([^']*)'/g)].map((a) => a[1]) },
    ]),
  );
  const objects = kustomizeResources('tilt');
  const deployments = objects.filter((o) => o.kind === 'Deployment');

  it('deploys tilt/ through kustomize', () => {
    expect(text).toContain("k8s_yaml(kustomize('tilt'))");
  });

  it('builds the image the service manifests use, from the dev target, with live update of services/ and gen/', () => {
    const build = callArgs(text, 'docker_build', 'IMAGE');
    expect(image).toBeTruthy();
    const users = deployments.filter((d) => d.spec.template.spec.containers.some((c: Json) => c.image === image)).map((d) => d.metadata.name);
    expect(users.sort()).toEqual([...SERVICE_NAMES].sort());
    expect(build).toMatch(/\btarget='dev'/);
    expect(build).toMatch(/\bdockerfile='Dockerfile'/);
    expect(read('Dockerfile')).toMatch(/^FROM \S+ AS dev$/m);
    const workdir = /^WORKDIR (\S+)$/m.exec(read('Dockerfile'))?.[1];
    expect(build).toContain(`sync('./services', '${workdir}/services')`);
    expect(build).toContain(`sync('./gen', '${workdir}/gen')`);
    expect(build).toMatch(/live_update=\[\s*fall_back_on\(\['package\.json', 'package-lock\.json'\]\)/);
  });

  it('runs buf generate on proto changes without depending on its own output', () => {
    const resource = callArgs(text, 'local_resource', "'buf-generate'");
    expect(resource).toMatch(/\bcmd='[^']*\bbuf generate\b[^']*'/);
    const out = (parse(read('buf.gen.yaml')) as Json).plugins.map((p: Json) => String(p.out).replace(/\/$/, ''));
    const deps = stringList(resource, 'deps');
    expect(deps).toContain('proto');
    for (const dep of deps) {
      expect(['.', './', ''], `dep ${dep} would include gen/`).not.toContain(dep);
      for (const dir of out) expect(dep === dir || dep.startsWith(`${dir}/`), `dep ${dep} is buf's output`).toBe(false);
      expect(existsSync(join(ROOT, dep)), `${dep} exists`).toBe(true);
    }
    expect(stringList(resource, 'ignore')).toEqual(expect.arrayContaining(out));
  });

  it('lists every service with its catalog port, waiting for the infrastructure and its peers', () => {
    expect(Object.keys(services).sort()).toEqual([...SERVICE_NAMES].sort());
    expect(infra.sort()).toEqual([...INFRA].sort());
    for (const name of SERVICE_NAMES) {
      expect(services[name].port, name).toBe(SERVICES[name].port);
      for (const peer of peersOf(name)) expect(services[name].after, `${name} waits for ${peer}`).toContain(peer);
      for (const dep of services[name].after) expect(SERVICE_NAMES, `${name}: after ${dep}`).toContain(dep);
    }
    const graph = (name: string) => services[name]?.after ?? [];
    for (const [publisher, consumers] of eventConsumers()) {
      for (const consumer of consumers) {
        if (!waitsFor(graph, consumer, publisher)) expect(services[publisher].after, `${publisher} waits for ${consumer}`).toContain(consumer);
      }
    }
    const loop = text.slice(text.indexOf('for name, service in SERVICES.items():'));
    expect(loop).toContain("port_forwards=['%d:%d' % (port, port)]");
    expect(loop).toContain("resource_deps=INFRA + service['after']");
    expect(loop).toContain("labels=['services']");
  });

  it('port-forwards every infrastructure UI and labels it infra; resources name real workloads', () => {
    const forwards: Record<string, number> = { rabbitmq: 15672, jaeger: 16686, mailpit: 8025, mongodb: 27017 };
    for (const [name, port] of Object.entries(forwards)) {
      const resource = callArgs(text, 'k8s_resource', `'${name}'`);
      expect(stringList(resource, 'port_forwards'), name).toContain(`${port}:${port}`);
      expect(stringList(resource, 'labels')).toEqual(['infra']);
      expect(deployments.map((d) => d.metadata.name)).toContain(name);
    }
  });
});
