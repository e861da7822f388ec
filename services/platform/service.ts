// The one way a Pulse service runs. A service module declares its name, its peers, its own settings and a start
// function that wires repositories, handlers and consumers; everything else (config, store, bus, outbox, inbox,
// server, auth, tracing, metrics, health, graceful shutdown) is done here, the same for all six.
import type { ConnectRouter, Client } from '@connectrpc/connect';
import type { Tracer } from '@opentelemetry/api';
import { authInterceptor, type Authenticator, type TokenRegistry } from './auth.js';
import { readAuthConfig } from './auth-config.js';
import { type Breaker, type BreakerSettings, createBreaker } from './breaker.js';
import type { EventBus } from './bus/bus.js';
import { type ConsumerSpec, INBOX_RETENTION_SECONDS, initInbox, startConsumer } from './bus/consumer.js';
import { EmbeddedBus } from './bus/embedded.js';
import type { EventName } from './bus/events.js';
import { Outbox, OUTBOX_RETENTION_SECONDS } from './bus/outbox.js';
import { SERVICES, type ServiceDescriptor, type ServiceName, urlVariable } from './catalog.js';
import { EnvReader } from './config.js';
import { healthService, peerCheck, Readiness } from './health.js';
import { deadline, errorBoundary, serverMetrics } from './interceptors.js';
import { loadShedding } from './load-shed.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { createPeerClient } from './peers.js';
import { type RpcServer, startRpcServer, type WebhookRoute } from './server.js';
import type { Store } from './store/collection.js';
import { openStore } from './store/open.js';
import { type TlsConfig, httpsGet, readTlsConfig } from './tls.js';
import { serverTracing, tracer as createTracer } from './tracing.js';
import { createTransact, type Transact } from './unit-of-work.js';
import { Health } from '../../gen/grpc/health/v1/health_pb.js';

export interface PlatformConfig {
  logLevel: string;
  port: number;
  host: string;
  amqpUrl: string | undefined;
  mongodbUri: string | undefined;
  /** Where the embedded store journals its writes (no MONGODB_URI): survives process crashes. */
  dataDir: string | undefined;
  /** Each service's database is `<prefix><service>` (a benchmark or test run keeps to databases of its own). */
  databasePrefix: string;
  tokens: TokenRegistry;
  /** Static tokens and (when configured) JWTs: who a credential stands for (auth-config.ts). */
  authenticator: Authenticator;
  /** Token entries without roles or scopes (full access), warned about at start. */
  unscopedCallers: string[];
  /** Token this service presents to its peers. */
  serviceToken: string;
  /** Serve TLS, and what to trust when calling https peers (tls.ts). */
  tls: TlsConfig;
  maxRequestBytes: number;
  rpcTimeoutMs: number;
  rpcMaxTimeoutMs: number;
  peerTimeoutMs: number;
  shutdownGraceMs: number;
  breaker: BreakerSettings;
  peerUrls: Partial<Record<ServiceName, string>>;
  /** Seconds sent outbox rows and processed-event records (inbox) are kept (TTL indexes). */
  retention: { outboxSeconds: number; inboxSeconds: number };
}

export interface Runtime<C> {
  readonly name: ServiceName;
  /** The service's own settings, from its configure(). */
  readonly config: C;
  readonly platform: PlatformConfig;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
  readonly store: Store;
  readonly bus: EventBus;
  readonly readiness: Readiness;
  /** Store writes and the events they cause, committed together. */
  readonly transaction: Transact;
  /** Typed client of a declared peer. */
  peer<N extends ServiceName>(name: N): Client<ServiceDescriptor<N>>;
  /** Registers an idempotent consumer; it starts before the server accepts requests. */
  consume<N extends EventName>(spec: ConsumerSpec<N>): void;
  /** A circuit breaker for an outside dependency (a provider), shown in metrics. */
  breaker(name: string, settings?: Partial<BreakerSettings>): Breaker;
}

export interface ServiceParts {
  /** Registers the service's RPC implementation. */
  routes(router: ConnectRouter): void;
  /** POST paths for providers' callbacks, served beside the RPCs without a token (each checks its caller). */
  webhooks?: Record<string, WebhookRoute>;
  /** Starts background work (schedulers); runs once the server is listening. */
  start?(): void;
  /** Stops background work before the store closes. */
  stop?(): Promise<void>;
}

export interface ServiceModule<C = void> {
  name: ServiceName;
  /** Services this one calls; their URLs come from `<PEER>_URL`. */
  peers: readonly ServiceName[];
  /** Reads the service's own settings; problems are reported together with the platform's. */
  configure?(env: EnvReader): C;
  start(runtime: Runtime<C>): Promise<ServiceParts>;
}

export interface RunningService {
  readonly name: ServiceName;
  readonly port: number;
  readonly url: string;
  readonly runtime: Runtime<unknown>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Environment to read settings from. Default process.env. */
  env?: Record<string, string | undefined>;
  /** Shared bus (the embedded mesh); default: RabbitMQ with AMQP_URL, else a private embedded bus. */
  bus?: EventBus;
  /** Store to use instead of opening one from MONGODB_URI. */
  store?: Store;
  log?: Logger;
}

const PUBLIC_SERVICES = new Set([Health.typeName]);

export function readPlatformConfig(env: EnvReader, module: Pick<ServiceModule<unknown>, 'name' | 'peers'>): PlatformConfig {
  const auth = readAuthConfig(env);
  const peerUrls: Partial<Record<ServiceName, string>> = {};
  for (const peer of module.peers) {
    peerUrls[peer] = env.url(urlVariable(peer), `http://localhost:${SERVICES[peer].port}`, ['http', 'https']);
  }
  return {
    logLevel: env.oneOf('LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    port: env.int('PORT', SERVICES[module.name].port, { min: 0, max: 65_535 }),
    host: env.string('HOST', '0.0.0.0'),
    amqpUrl: env.url('AMQP_URL', undefined, ['amqp', 'amqps']),
    mongodbUri: env.url('MONGODB_URI', undefined, ['mongodb', 'mongodb+srv']),
    dataDir: env.string('PULSE_DATA_DIR'),
    databasePrefix: databasePrefix(env),
    tokens: auth.tokens,
    authenticator: auth.authenticator,
    unscopedCallers: auth.unscoped,
    tls: readTlsConfig(env),
    serviceToken:
      module.peers.length > 0 ? env.required('PULSE_SERVICE_TOKEN', 'the token this service presents to its peers') : '',
    maxRequestBytes: env.int('PULSE_MAX_REQUEST_BYTES', 1024 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
    rpcTimeoutMs: env.int('PULSE_RPC_TIMEOUT_MS', 10_000, { min: 10, max: 600_000 }),
    rpcMaxTimeoutMs: env.int('PULSE_RPC_MAX_TIMEOUT_MS', 60_000, { min: 10, max: 3_600_000 }),
    peerTimeoutMs: env.int('PULSE_PEER_TIMEOUT_MS', 2_000, { min: 10, max: 600_000 }),
    shutdownGraceMs: env.int('PULSE_SHUTDOWN_GRACE_MS', 10_000, { min: 0, max: 600_000 }),
    breaker: {
      errorThresholdPercentage: env.int('PULSE_BREAKER_ERROR_PERCENT', 50, { min: 1, max: 100 }),
      volumeThreshold: env.int('PULSE_BREAKER_VOLUME', 10, { min: 1, max: 100_000 }),
      resetTimeoutMs: env.int('PULSE_BREAKER_RESET_MS', 10_000, { min: 100, max: 3_600_000 }),
      rollingWindowMs: env.int('PULSE_BREAKER_WINDOW_MS', 10_000, { min: 100, max: 3_600_000 }),
    },
    peerUrls,
    // MongoDB keeps a TTL index's expiry as first created: change it later with collMod, not only here.
    retention: {
      outboxSeconds: env.int('PULSE_OUTBOX_RETENTION_SECONDS', OUTBOX_RETENTION_SECONDS, { min: 0, max: 30 * 86_400 }),
      inboxSeconds: env.int('PULSE_INBOX_RETENTION_SECONDS', INBOX_RETENTION_SECONDS, { min: 60, max: 365 * 86_400 }),
    },
  };
}

/** MongoDB refuses database names with these characters, and the journal file takes the same name. */
function databasePrefix(env: EnvReader): string {
  const prefix = env.string('PULSE_DATABASE_PREFIX', 'pulse_');
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(prefix)) env.invalid('PULSE_DATABASE_PREFIX', 'must be letters, digits, _ or - (at most 40)');
  return prefix;
}

async function openBus(config: PlatformConfig, deps: { log: Logger; metrics: Metrics }): Promise<EventBus> {
  if (!config.amqpUrl) return new EmbeddedBus();
  const { connectRabbitBus } = await import('./bus/rabbitmq.js');
  return connectRabbitBus(config.amqpUrl, deps);
}

export async function startService<C>(module: ServiceModule<C>, options: StartOptions = {}): Promise<RunningService> {
  const env = new EnvReader(options.env ?? process.env);
  const platform = readPlatformConfig(env, module);
  const config = module.configure ? module.configure(env) : (undefined as C);
  env.check();

  const name = module.name;
  const log = options.log ?? createLogger(name, platform.logLevel);
  const metrics = new Metrics(name);
  const tracer = createTracer(name);
  const store = options.store ?? (await openStore(name, platform.mongodbUri, platform.dataDir, platform.databasePrefix));
  const bus = options.bus ?? (await openBus(platform, { log, metrics }));
  if (bus.kind === 'embedded') metrics.busConnected.set(1); // in process: connected for as long as it runs
  const outbox = new Outbox(store, bus, { log, metrics, tracer }, platform.retention.outboxSeconds);
  await outbox.init();
  await initInbox(store, platform.retention.inboxSeconds);
  const transaction = createTransact(store, outbox, bus);

  const readiness = new Readiness();
  readiness.add({
    name: 'bus',
    check: () => {
      if (!bus.isReady()) throw new Error('broker unreachable');
    },
  });
  readiness.add({ name: 'store', check: () => store.ping() });
  for (const peer of module.peers) {
    const url = platform.peerUrls[peer]!;
    const ca = url.startsWith('https:') ? platform.tls.ca : undefined;
    readiness.add(peerCheck(peer, url, undefined, ca ? (probeUrl, timeoutMs) => httpsGet(probeUrl, ca, timeoutMs) : undefined));
  }

  const breakers = new Map<string, Breaker>();
  const breaker = (breakerName: string, settings: Partial<BreakerSettings> = {}) => {
    let existing = breakers.get(breakerName);
    if (!existing) {
      breakers.set(breakerName, (existing = createBreaker(breakerName, { ...platform.breaker, ...settings }, { metrics, log })));
    }
    return existing;
  };
  const peers = new Map<ServiceName, Client<ServiceDescriptor<ServiceName>>>();
  const consumers: ConsumerSpec<EventName>[] = [];

  const runtime: Runtime<C> = {
    name,
    config,
    platform,
    log,
    metrics,
    tracer,
    store,
    bus,
    readiness,
    transaction,
    breaker,
    peer<N extends ServiceName>(peer: N) {
      if (!module.peers.includes(peer)) throw new Error(`${name} does not declare ${peer} as a peer`);
      let client = peers.get(peer);
      if (!client) {
        client = createPeerClient(SERVICES[peer].descriptor, {
          name: peer,
          baseUrl: platform.peerUrls[peer]!,
          token: platform.serviceToken,
          ca: platform.tls.ca,
          timeoutMs: platform.peerTimeoutMs,
          breaker: breaker(`peer:${peer}`),
          metrics,
          tracer,
        });
        peers.set(peer, client);
      }
      return client as Client<ServiceDescriptor<N>>;
    },
    consume(spec) {
      consumers.push(spec as unknown as ConsumerSpec<EventName>);
    },
  };

  const parts = await module.start(runtime);
  // Queues are declared before the port opens, so no event caused by this service's first request is unroutable.
  const running = await Promise.all(
    consumers.map((spec) => startConsumer({ service: name, bus, store, transaction, tracer, metrics, log }, spec)),
  );
  const served = SERVICES[name].descriptor.typeName;
  let server: RpcServer;
  try {
    server = await startRpcServer({
      port: platform.port,
      host: platform.host,
      readMaxBytes: platform.maxRequestBytes,
      log,
      tls: platform.tls.server,
      interceptors: [
        serverTracing(tracer),
        serverMetrics(metrics),
        errorBoundary(log),
        loadShedding(options.env ?? process.env, metrics, PUBLIC_SERVICES),
        deadline(platform.rpcTimeoutMs, platform.rpcMaxTimeoutMs),
        authInterceptor(platform.authenticator, PUBLIC_SERVICES),
      ],
      routes: (router) => {
        router.service(Health, healthService(readiness, [served]));
        parts.routes(router);
      },
      plainRoutes: {
        '/healthz': () => ({ status: 200, contentType: 'text/plain', body: 'ok\n' }),
        '/readyz': async () => {
          const report = await readiness.report();
          const body = JSON.stringify({ service: name, ...report });
          return { status: report.ready ? 200 : 503, contentType: 'application/json', body: `${body}\n` };
        },
        '/metrics': async () => ({ status: 200, contentType: metrics.registry.contentType, body: await metrics.text() }),
      },
      webhooks: parts.webhooks,
    });
  } catch (err) {
    await Promise.all(running.map((consumer) => consumer.cancel()));
    throw err;
  }
  outbox.start();
  parts.start?.();
  const url = `${platform.tls.server ? 'https' : 'http'}://localhost:${server.port}`;
  log.info({ port: server.port, store: store.kind, bus: bus.kind, tls: Boolean(platform.tls.server) }, `${name} listening`);
  if (platform.unscopedCallers.length > 0) {
    log.warn(
      { callers: platform.unscopedCallers },
      'PULSE_API_TOKENS entries without roles or scopes have full access (development only): add ":role" to each, see docs/security.md',
    );
  }

  let stopping: Promise<void> | undefined;
  return {
    name,
    port: server.port,
    url,
    runtime: runtime as Runtime<unknown>,
    stop: () =>
      (stopping ??= (async () => {
        await server.close(platform.shutdownGraceMs);
        await Promise.all(running.map((consumer) => consumer.cancel()));
        await parts.stop?.();
        await outbox.stop();
        for (const b of breakers.values()) b.shutdown();
        if (!options.bus) await bus.close();
        if (!options.store) await store.close();
        log.info(`${name} stopped`);
      })()),
  };
}
