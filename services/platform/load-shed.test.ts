import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, createContextValues, createRouterTransport, createClient } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { Author } from '../../gen/pulse/common/v1/conversation_pb.js';
import { IngestionService, SubmitInteractionResponseSchema } from '../../gen/pulse/ingestion/v1/ingestion_service_pb.js';
import { rejectionOf } from '../../test/support/rejection.js';
import { ConfigError } from './config.js';
import { arrivalContext, ConcurrencyLimiter, loadShedding, receivedAtKey } from './load-shed.js';
import { Metrics } from './metrics.js';

const settings = { maxInFlight: 2, maxQueued: 1, maxQueueWaitMs: 50, maxEventLoopDelayMs: 0 };

describe('ConcurrencyLimiter', () => {
  it('admits up to maxInFlight, queues up to maxQueued in order, refuses the rest', async () => {
    const limiter = new ConcurrencyLimiter({ ...settings, maxQueueWaitMs: 1_000 });
    const first = await limiter.acquire();
    await limiter.acquire();
    const third = limiter.acquire();
    await expect(limiter.acquire()).rejects.toBe('queue_full');
    expect([limiter.inFlight, limiter.queued]).toEqual([2, 1]);
    first();
    first(); // releasing twice frees one slot only
    await third;
    expect([limiter.inFlight, limiter.queued]).toEqual([2, 0]);
  });

  it('refuses a request that waited too long, and one whose caller left', async () => {
    const limiter = new ConcurrencyLimiter(settings);
    await limiter.acquire();
    await limiter.acquire();
    await expect(limiter.acquire()).rejects.toBe('queue_timeout');
    const gone = new AbortController();
    const waiting = limiter.acquire(gone.signal);
    gone.abort(new ConnectError('bye', Code.Canceled));
    await expect(waiting).rejects.toMatchObject({ code: Code.Canceled });
    expect(limiter.queued).toBe(0);
  });
});

describe('loadShedding interceptor', () => {
  function service(env: Record<string, string>, handle: () => Promise<void>) {
    const metrics = new Metrics('ingestion');
    const transport = createRouterTransport(
      ({ service: register }) =>
        register(IngestionService, {
          async submitInteraction() {
            await handle();
            return create(SubmitInteractionResponseSchema);
          },
        }),
      { router: { interceptors: [loadShedding(env, metrics)] } },
    );
    return { client: createClient(IngestionService, transport), metrics };
  }
  const request = { messageId: 'm', conversationId: 'c', customerId: 'x', author: Author.CUSTOMER, text: 'hi' };

  it('answers resource_exhausted with retry-after when the line is full, and runs what it admitted', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let ran = 0;
    const { client, metrics } = service({ PULSE_MAX_IN_FLIGHT: '1', PULSE_MAX_QUEUED: '1', PULSE_MAX_EVENT_LOOP_DELAY_MS: '0' }, async () => {
      ran++;
      await gate;
    });
    const admitted = [client.submitInteraction(request), client.submitInteraction(request)];
    await new Promise((resolve) => setTimeout(resolve, 20));
    const refused = await rejectionOf(client.submitInteraction(request));
    expect(refused.code).toBe(Code.ResourceExhausted);
    expect(refused.metadata.get('retry-after')).toBe('1');
    release();
    await Promise.all(admitted);
    expect(ran).toBe(2);
    expect(await metrics.text()).toContain('pulse_rpc_shed_total{reason="queue_full",service="ingestion"} 1');
  });

  it('answers unavailable for a request that already waited past the budget since it arrived', async () => {
    const handled: string[] = [];
    const next = loadShedding({ PULSE_MAX_QUEUE_WAIT_MS: '100' }, new Metrics('ingestion'))(async (req) => {
      handled.push(String(req.contextValues.get(receivedAtKey)));
      return {} as never;
    });
    const call = (contextValues: ReturnType<typeof createContextValues>) =>
      next({ stream: false, service: IngestionService, signal: new AbortController().signal, contextValues } as never);
    const late = createContextValues();
    late.set(receivedAtKey, performance.now() - 150);
    await expect(call(late)).rejects.toMatchObject({ code: Code.Unavailable });
    await expect(call(arrivalContext())).resolves.toBeDefined();
    expect(handled).toHaveLength(1);
  });

  it('names a wrong setting at start', () => {
    expect(() => loadShedding({ PULSE_MAX_QUEUED: '-1' }, new Metrics('ingestion'))).toThrow(ConfigError);
    expect(() => loadShedding({ PULSE_MAX_QUEUED: '-1' }, new Metrics('ingestion'))).toThrow(/PULSE_MAX_QUEUED/);
  });
});
