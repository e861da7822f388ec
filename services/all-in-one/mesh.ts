// The whole mesh in one process: six services on their own ports sharing one embedded bus, each with its own
// in-memory store. Behind `npm start` and the end-to-end tests.
import { generateToken } from '../platform/auth.js';
import { serviceIdentities } from './identities.js';
import type { EventBus } from '../platform/bus/bus.js';
import { EmbeddedBus } from '../platform/bus/embedded.js';
import { SERVICES, type ServiceName, START_ORDER, urlVariable } from '../platform/catalog.js';
import type { RunningService, ServiceModule } from '../platform/service.js';
import { startService } from '../platform/service.js';
import { ingestion } from '../ingestion/service.js';
import { notification } from '../notification/service.js';
import { preference } from '../preference/service.js';
import { review } from '../review/service.js';
import { sentiment } from '../sentiment/service.js';
import { status } from '../status/service.js';

/**
 * What `npm start` keeps, in seconds. Everything is held in memory there: an hour of sent outbox rows, a week of
 * processed event ids and a month of settled notifications would soon be most of the process under steady load.
 * In one process nothing is redelivered late, and minutes are enough to look at what was just sent; with these,
 * memory levels off under any steady load. Each can still be set in the environment.
 */
export const EMBEDDED_RETENTION = { outboxSeconds: 60, inboxSeconds: 120, historySeconds: 300 };

const MODULES = { ingestion, sentiment, review, preference, notification, status } as Record<ServiceName, ServiceModule<never>>;

export interface MeshOptions {
  /** Base environment (provider settings, limits, ...). Default process.env. */
  env?: Record<string, string | undefined>;
  /** Listen on the standard ports (8081-8086), or on free ports (tests). Default standard. */
  ports?: 'standard' | 'free';
}

export interface Mesh {
  services: Record<ServiceName, RunningService>;
  urls: Record<ServiceName, string>;
  /** A bearer token callers can use: PULSE_DEV_TOKEN, or the generated one (identity `dev`, role admin). */
  token: string;
  /** True when the token was generated for this run. */
  generatedToken: boolean;
  bus: EventBus;
  stop(): Promise<void>;
}

export async function startMesh(options: MeshOptions = {}): Promise<Mesh> {
  const base = { ...(options.env ?? process.env) };
  let token = base.PULSE_DEV_TOKEN ?? '';
  const generatedToken = !base.PULSE_API_TOKENS;
  if (generatedToken) {
    token = generateToken();
    base.PULSE_API_TOKENS = `dev:${token}:admin`;
  }
  // Each service calls its peers as itself (pulse-<service>, role service), unless one PULSE_SERVICE_TOKEN is given.
  const ownTokens = base.PULSE_SERVICE_TOKEN ? undefined : serviceIdentities();
  if (ownTokens) base.PULSE_API_TOKENS = [base.PULSE_API_TOKENS, ownTokens.entries].filter(Boolean).join(',');
  delete base.AMQP_URL; // one process, one embedded bus
  delete base.PORT;
  base.PULSE_OUTBOX_RETENTION_SECONDS ??= String(EMBEDDED_RETENTION.outboxSeconds);
  base.PULSE_INBOX_RETENTION_SECONDS ??= String(EMBEDDED_RETENTION.inboxSeconds);
  base.PULSE_HISTORY_RETENTION_SECONDS ??= String(EMBEDDED_RETENTION.historySeconds);
  const bus = new EmbeddedBus();
  const started: RunningService[] = [];
  const urls = {} as Record<ServiceName, string>;
  try {
    for (const module of START_ORDER.map((name) => MODULES[name])) {
      const env = {
        ...base,
        PORT: String(options.ports === 'free' ? 0 : SERVICES[module.name].port),
        ...(ownTokens ? { PULSE_SERVICE_TOKEN: ownTokens.tokens[module.name] } : {}),
        ...Object.fromEntries(Object.entries(urls).map(([name, url]) => [urlVariable(name as ServiceName), url])),
      };
      const running = await startService(module, { env, bus });
      started.push(running);
      urls[module.name] = running.url;
    }
  } catch (err) {
    for (const running of started.reverse()) await running.stop();
    await bus.close();
    throw err;
  }
  return {
    services: Object.fromEntries(started.map((s) => [s.name, s])) as Record<ServiceName, RunningService>,
    urls,
    token,
    generatedToken,
    bus,
    async stop() {
      // Upstream first, so nothing new flows into a service that is already stopping.
      for (const running of [...started].reverse()) await running.stop();
      await bus.close();
    },
  };
}
