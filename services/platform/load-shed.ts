// Load shedding: past capacity a Node service does not fail, it slows down. Every request in the process shares
// one event loop, so under twice the load it can serve, latency grows without limit until callers time out
// (deadline_exceeded, while the handler may still commit: the caller cannot know whether its request was
// accepted). Two bounds turn that into a fast, explicit answer before any work is done:
//   - the event loop's delay: when the process is behind by more than maxEventLoopDelayMs (CPU-bound overload),
//     new requests are refused with `unavailable` until it catches up (only where a service has the process to
//     itself: not in the embedded mesh);
//   - waiting time: a request that has already waited maxQueueWaitMs since the server received it (behind others
//     in the event loop, or for a slot) is refused with `unavailable` instead of being handled late;
//   - concurrency: at most maxInFlight requests are handled at once (I/O-bound overload: a slow store or broker),
//     at most maxQueued wait for a slot; past that, `resource_exhausted`.
// Every refusal carries `retry-after` and happens before the handler runs: nothing is written for a refused
// request, and every admitted one runs to completion with bounded latency.
//
// Unary RPCs only: server streams (WatchStatus, Health/Watch) live for minutes and would hold a slot each.
// Health checks are exempt, so probes still answer while the service sheds load.
//
// Settings (per process): PULSE_MAX_IN_FLIGHT (default 64; 0 turns the concurrency bound off), PULSE_MAX_QUEUED
// (256), PULSE_MAX_QUEUE_WAIT_MS (2000), PULSE_MAX_EVENT_LOOP_DELAY_MS (500; 0 turns the delay bound off). With
// PULSE_MAX_IN_FLIGHT=0 and PULSE_MAX_EVENT_LOOP_DELAY_MS=0 nothing is shed at all.
import { Code, ConnectError, type ContextValues, createContextKey, createContextValues, type Interceptor } from '@connectrpc/connect';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge } from 'prom-client';
import { EnvReader } from './config.js';
import type { Metrics } from './metrics.js';

export interface LoadShedSettings {
  /** RPCs handled at once; 0 turns load shedding off. */
  maxInFlight: number;
  /** RPCs waiting for a slot; one more is refused at once (resource_exhausted). */
  maxQueued: number;
  /** Longest an RPC may wait, from its arrival to its handler starting, before it is refused (unavailable). */
  maxQueueWaitMs: number;
  /** Event loop delay (p90 over the last sample) above which new RPCs are refused (unavailable); 0: no bound. */
  maxEventLoopDelayMs: number;
}

export function readLoadShedSettings(env: EnvReader): LoadShedSettings {
  return {
    maxInFlight: env.int('PULSE_MAX_IN_FLIGHT', 64, { min: 0, max: 100_000 }),
    maxQueued: env.int('PULSE_MAX_QUEUED', 256, { min: 0, max: 1_000_000 }),
    maxQueueWaitMs: env.int('PULSE_MAX_QUEUE_WAIT_MS', 2_000, { min: 1, max: 600_000 }),
    maxEventLoopDelayMs: env.int('PULSE_MAX_EVENT_LOOP_DELAY_MS', 500, { min: 0, max: 600_000 }),
  };
}

export type Refusal = 'queue_full' | 'queue_timeout' | 'event_loop_delay';

/** When the server received the request (performance.now()), set by arrivalContext. */
export const receivedAtKey = createContextKey<number | undefined>(undefined, { description: 'when the request arrived' });

/** Context values for a new request, stamped with its arrival: the connect-node adapter's `contextValues` option. */
export function arrivalContext(): ContextValues {
  const values = createContextValues();
  values.set(receivedAtKey, performance.now());
  return values;
}

const SAMPLE_MS = 200;

/**
 * The process's event loop delay, sampled every 200 ms (one sampler per process: there is one loop). It measures a
 * service's load only when the service has the process to itself: in the embedded mesh six services share the loop,
 * and one busy service would make all six refuse requests, so there the bound stands aside (the others stay).
 */
class LoopDelay {
  private static shared: LoopDelay | undefined;
  /** p90 of the delay over the last sample, in ms. */
  private delay = 0;
  /** Services in this process that use it. */
  users = 0;

  static get(): LoopDelay {
    const loop = (LoopDelay.shared ??= new LoopDelay());
    loop.users++;
    return loop;
  }

  /** The delay, when it says something about one service; 0 when several share the process. */
  get current(): number {
    return this.users === 1 ? this.delay : 0;
  }

  private constructor() {
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    setInterval(() => {
      this.delay = histogram.count > 0 ? histogram.percentile(90) / 1e6 : 0;
      histogram.reset();
    }, SAMPLE_MS).unref();
  }
}

/** A counting semaphore with a bounded FIFO waiting line. */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: { admit: () => void; timer: NodeJS.Timeout }[] = [];

  constructor(private readonly settings: LoadShedSettings) {}

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with a release function once admitted; rejects with the refusal when shed. */
  acquire(signal?: AbortSignal, waitMs = this.settings.maxQueueWaitMs): Promise<() => void> {
    if (this.active < this.settings.maxInFlight) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.settings.maxQueued) return Promise.reject<() => void>('queue_full' satisfies Refusal);
    return new Promise((resolve, reject) => {
      const entry = {
        admit: () => {
          clearTimeout(entry.timer);
          signal?.removeEventListener('abort', onAbort);
          this.active++;
          resolve(this.releaser());
        },
        timer: setTimeout(() => leave('queue_timeout' satisfies Refusal), waitMs),
      };
      const leave = (why: unknown) => {
        const at = this.waiting.indexOf(entry);
        if (at >= 0) this.waiting.splice(at, 1);
        clearTimeout(entry.timer);
        signal?.removeEventListener('abort', onAbort);
        reject(why);
      };
      const onAbort = () => leave(signal?.reason ?? new ConnectError('the caller went away', Code.Canceled));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiting.shift()?.admit();
    };
  }
}

/**
 * The interceptor; place it after the metrics and error boundary (so refusals are counted) and before deadline and
 * auth (so a flood is refused before it costs a token check). Reads its settings from env and stops the service
 * at start (ConfigError naming the variable) when one is wrong.
 */
export function loadShedding(
  env: Record<string, string | undefined>,
  metrics: Metrics,
  exempt: ReadonlySet<string> = new Set(['grpc.health.v1.Health']),
): Interceptor {
  const reader = new EnvReader(env);
  const settings = readLoadShedSettings(reader);
  reader.check();
  const registers = [metrics.registry];
  if (settings.maxInFlight === 0 && settings.maxEventLoopDelayMs === 0) return (next) => next;
  const limiter = new ConcurrencyLimiter({ ...settings, maxInFlight: settings.maxInFlight || Number.MAX_SAFE_INTEGER });
  const loop = settings.maxEventLoopDelayMs > 0 ? LoopDelay.get() : undefined;
  new Gauge({
    name: 'pulse_event_loop_delay_seconds',
    help: 'Event loop delay, p90 over the last 200 ms',
    registers,
    collect() {
      this.set((loop?.current ?? 0) / 1000);
    },
  });
  const shed = new Counter({ name: 'pulse_rpc_shed_total', help: 'RPCs refused by load shedding, by reason', labelNames: ['reason'], registers });
  const inFlight = new Gauge({ name: 'pulse_rpc_in_flight', help: 'Unary RPCs being handled', registers });
  const queued = new Gauge({ name: 'pulse_rpc_queued', help: 'Unary RPCs waiting for a slot', registers });
  const sample = () => {
    inFlight.set(limiter.inFlight);
    queued.set(limiter.queued);
  };
  return (next) => async (req) => {
    if (req.stream || exempt.has(req.service.typeName)) return next(req);
    if (loop && loop.current > settings.maxEventLoopDelayMs) {
      shed.inc({ reason: 'event_loop_delay' satisfies Refusal });
      throw new ConnectError(
        `server overloaded: ${Math.round(loop.current)} ms behind; nothing was done, retry later`,
        Code.Unavailable,
        { 'retry-after': '1' },
      );
    }
    const receivedAt = req.contextValues.get(receivedAtKey);
    const waited = receivedAt === undefined ? 0 : performance.now() - receivedAt;
    let release: () => void;
    try {
      if (waited >= settings.maxQueueWaitMs) throw 'queue_timeout' satisfies Refusal;
      release = await limiter.acquire(req.signal, settings.maxQueueWaitMs - waited);
    } catch (why) {
      if (why !== 'queue_full' && why !== 'queue_timeout') throw ConnectError.from(why, Code.Canceled);
      shed.inc({ reason: why });
      sample();
      const retryAfter = { 'retry-after': '1' };
      throw why === 'queue_full'
        ? new ConnectError(
            `server busy: ${settings.maxInFlight} requests in progress and ${settings.maxQueued} waiting; nothing was done, retry later`,
            Code.ResourceExhausted,
            retryAfter,
          )
        : new ConnectError(`server busy: not handled within ${settings.maxQueueWaitMs} ms of arrival; nothing was done, retry later`, Code.Unavailable, retryAfter);
    }
    sample();
    try {
      return await next(req);
    } finally {
      release();
      sample();
    }
  };
}
