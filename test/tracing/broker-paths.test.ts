// The trace across the broker's failure paths, on RabbitMQ with the platform's outbox and consumer in a process
// started like a service (fixtures/retry-and-replay.ts), exporting OTLP/JSON to this test: a retried event stays in
// the trace it was published in, and a dead letter replayed from an operator's request is processed in that
// request's trace with a link to the original publish (docs/tracing.md).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { describeBroker } from '../support/broker.js';
import { createVhost } from '../support/vhost.js';
import { Kind, type ReceivedSpan, startOtlpReceiver } from './otlp-receiver.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ERROR = 2;

describeBroker('trace across retries and dead-letter replays (RabbitMQ)', () => {
  it('keeps a retried event in its trace and links a replayed dead letter to where it was published', async () => {
    const receiver = await startOtlpReceiver();
    const vhost = await createVhost('pulse-test-');
    try {
      await run(process.execPath, ['--import', 'tsx', '--import', './services/platform/telemetry-register.ts', 'test/tracing/fixtures/retry-and-replay.ts'], {
        cwd: ROOT,
        timeout: 60_000,
        env: {
          ...process.env,
          AMQP_URL: vhost.url,
          OTEL_SERVICE_NAME: 'pulse-fixture',
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_BSP_SCHEDULE_DELAY: '50',
          OTEL_TRACES_EXPORTER: undefined,
          OTEL_SDK_DISABLED: undefined,
        },
      });
      expect(receiver.errors).toEqual([]);
      const spans = receiver.spans;
      const byId = new Map(spans.map((s) => [s.spanId, s]));
      const named = (name: string) => spans.filter((s) => s.scope === 'pulse.fixture' && s.name === name);
      const one = (name: string) => {
        const found = named(name);
        expect(found, name).toHaveLength(1);
        return found[0];
      };

      // Retried: both attempts in the request's trace; the second under the first one's move to the retry queue.
      const retryRequest = one('retry request');
      const retryPublish = one('publish customer.interaction.new');
      const attempts = named('process customer.interaction.new').sort((a, b) => Number(a.attributes['pulse.attempt']) - Number(b.attributes['pulse.attempt']));
      expect(attempts.map((s) => s.attributes['pulse.attempt'])).toEqual([1, 2]);
      for (const attempt of attempts) {
        expect(attempt.traceId).toBe(retryRequest.traceId);
        expect(attempt.kind).toBe(Kind.CONSUMER);
        expect(attempt.links).toEqual([]);
        expect(ancestry(attempt, byId)).toContain(retryPublish);
      }
      expect(attempts[0].status.code).toBe(ERROR);
      expect(attempts[0].events).toEqual([
        { name: 'exception', attributes: { 'exception.type': 'Error', 'exception.message': 'first attempt failed for [email]' } },
      ]);
      expect(attempts[1].status.code).not.toBe(ERROR);
      // amqplib's delivery span of the first attempt, from which the move to the retry queue was published.
      const firstDelivery = spans.find(
        (s) => s.scope === '@opentelemetry/instrumentation-amqplib' && s.kind === Kind.CONSUMER && s.parentSpanId === attempts[0].parentSpanId,
      );
      expect(firstDelivery).toBeDefined();
      expect(ancestry(attempts[1], byId)).toContain(firstDelivery);

      // Replayed: processed in the operator's trace, linked to the publish in the original trace.
      const deadLetterPublish = one('publish sentiment.analysis.complete');
      const replayRequest = one('ReplayDeadLetters');
      const processed = named('process sentiment.analysis.complete');
      expect(processed).toHaveLength(2);
      const [failed, replayed] = [...processed].sort((a, b) => Number(a.startNs - b.startNs));
      expect(failed.traceId).toBe(deadLetterPublish.traceId);
      expect(failed.status.code).toBe(ERROR);
      expect(failed.links).toEqual([]);
      expect(replayed.traceId).toBe(replayRequest.traceId);
      expect(ancestry(replayed, byId)[0]).toBe(replayRequest);
      expect(replayed.links).toEqual([{ traceId: deadLetterPublish.traceId, spanId: deadLetterPublish.spanId, attributes: { 'pulse.link': 'origin' } }]);

      expect(receiver.bodies.join('\n')).not.toContain('zed.quill');
    } finally {
      await vhost.remove();
      await receiver.close();
    }
  }, 90_000);
});

/** The span's ancestors and itself, root first. */
function ancestry(span: ReceivedSpan, byId: Map<string, ReceivedSpan>): ReceivedSpan[] {
  const chain = [span];
  for (let parent = byId.get(span.parentSpanId); parent; parent = byId.get(parent.parentSpanId)) chain.unshift(parent);
  return chain;
}
