// Liveness and readiness. /healthz says the process is alive; /readyz (and grpc.health.v1.Health/Check) say it can
// do its work: broker, store and required peers reachable, no required breaker open.
import type { ServiceImpl } from '@connectrpc/connect';
import { Code, ConnectError } from '@connectrpc/connect';
import { create } from '@bufbuild/protobuf';
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthCheckResponseSchema,
} from '../../gen/grpc/health/v1/health_pb.js';

export interface ReadinessCheck {
  name: string;
  /** Resolves when ready; throws (with a short reason, no secrets) when not. */
  check(): Promise<void> | void;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, string>;
}

const CHECK_TIMEOUT_MS = 1_000;

export class Readiness {
  private readonly checks: ReadinessCheck[] = [];

  add(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  async report(): Promise<ReadinessReport> {
    const results = await Promise.all(
      this.checks.map(async ({ name, check }) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
            }),
          ]);
          return [name, 'ok'] as const;
        } catch (err) {
          return [name, (err as Error).message || 'not ready'] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return { ready: results.every(([, status]) => status === 'ok'), checks: Object.fromEntries(results) };
  }
}

/** A check that a peer answers its /healthz. Results are cached briefly so probes do not fan out. */
export type Probe = (url: string, timeoutMs: number) => Promise<{ ok: boolean; status: number }>;

const fetchProbe: Probe = (url, timeoutMs) => fetch(url, { signal: AbortSignal.timeout(timeoutMs) });

/** `probe` asks the peer's /healthz; default fetch (an https peer with a private CA needs tls.ts httpsGet). */
export function peerCheck(name: string, baseUrl: string, cacheMs = 2_000, probe: Probe = fetchProbe): ReadinessCheck {
  let checkedAt = 0;
  let last: Error | undefined;
  return {
    name: `peer:${name}`,
    async check() {
      if (Date.now() - checkedAt > cacheMs) {
        try {
          const res = await probe(`${baseUrl}/healthz`, CHECK_TIMEOUT_MS);
          last = res.ok ? undefined : new Error(`healthz answered ${res.status}`);
        } catch {
          last = new Error('unreachable');
        }
        checkedAt = Date.now();
      }
      if (last) throw last;
    },
  };
}

/** grpc.health.v1.Health: "" or a served service name gets the readiness; other names are not_found. */
export function healthService(readiness: Readiness, served: string[]): ServiceImpl<typeof Health> {
  const status = async (service: string) => {
    if (service !== '' && !served.includes(service)) throw new ConnectError(`unknown service ${JSON.stringify(service.slice(0, 200))}`, Code.NotFound);
    const { ready } = await readiness.report();
    return create(HealthCheckResponseSchema, { status: ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING });
  };
  return {
    check: (req) => status(req.service),
    async *watch(req, ctx) {
      let last: ServingStatus | undefined;
      while (!ctx.signal.aborted) {
        const current = await status(req.service);
        if (current.status !== last) yield current;
        last = current.status;
        await sleep(1_000, ctx.signal); // wakes at once when the caller leaves or its deadline passes
      }
      // Ended by the deadline (or the caller leaving), not by the server: say so rather than end as if done.
      throw ConnectError.from(ctx.signal.reason, Code.DeadlineExceeded);
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
