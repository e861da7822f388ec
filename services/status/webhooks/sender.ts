// Sends pending webhook messages: the head of each notification's line per endpoint, when due, a bounded number at
// once. A 2xx answer settles a message; anything else (another status, a timeout, a refused address) retries it
// with exponential backoff and jitter (platform/backoff.ts), and the last allowed attempt dead-letters it (ReplayWebhookDeadLetters puts
// it back). A lease keeps two replicas from sending one message at once; a crash mid-send lets the lease lapse and
// the message goes again with the same webhook-id: at least once, as receivers are told.
import { Counter } from 'prom-client';
import type { EnvReader } from '../../platform/config.js';
import { backoffMs } from '../../platform/backoff.js';
import { mapConcurrent } from '../../platform/concurrency.js';
import type { Logger } from '../../platform/log.js';
import type { Metrics } from '../../platform/metrics.js';
import { type PeriodicTask, startPeriodic } from '../../platform/periodic.js';
import { type AddressPolicy, resolveChecked } from './address-check.js';
import type { EndpointsRepository } from './endpoints.js';
import { postOnce } from './http-post.js';
import type { MessageDoc, MessagesRepository } from './messages.js';
import { secretKey, webhookHeaders } from './signature.js';

export interface WebhookSettings extends AddressPolicy {
  maxAttempts: number;
  backoffMs: number;
  maxBackoffMs: number;
  timeoutMs: number;
  pollMs: number;
}

export function readWebhookSettings(env: EnvReader): WebhookSettings {
  return {
    allowHttp: env.bool('PULSE_WEBHOOK_ALLOW_HTTP', false),
    allowPrivate: env.bool('PULSE_WEBHOOK_ALLOW_PRIVATE', false),
    maxAttempts: env.int('PULSE_WEBHOOK_MAX_ATTEMPTS', 10, { min: 1, max: 100 }),
    backoffMs: env.int('PULSE_WEBHOOK_BACKOFF_MS', 2_000, { min: 1, max: 3_600_000 }),
    maxBackoffMs: env.int('PULSE_WEBHOOK_MAX_BACKOFF_MS', 3_600_000, { min: 1, max: 86_400_000 }),
    timeoutMs: env.int('PULSE_WEBHOOK_TIMEOUT_MS', 10_000, { min: 100, max: 120_000 }),
    pollMs: env.int('PULSE_WEBHOOK_POLL_MS', 1_000, { min: 10, max: 60_000 }),
  };
}

const HEADS_PER_RUN = 500;
const CONCURRENCY = 16;

export function startWebhookSender(deps: {
  endpoints: EndpointsRepository;
  messages: MessagesRepository;
  settings: WebhookSettings;
  metrics: Metrics;
  log: Logger;
  now?: () => Date;
}): PeriodicTask {
  const { endpoints, messages, settings, log } = deps;
  const now = deps.now ?? (() => new Date());
  const attempts = new Counter({
    name: 'pulse_webhook_attempts_total',
    help: 'Webhook message attempts, by outcome (sent, retry, dead)',
    labelNames: ['outcome'],
    registers: [deps.metrics.registry],
  });

  /** One attempt at a message; false when it was not this sender's to make. */
  async function attempt(message: MessageDoc): Promise<boolean> {
    const at = now();
    if (!(await messages.lease(message, at, new Date(at.getTime() + settings.timeoutMs + 5_000)))) return false;
    const endpoint = (await endpoints.all()).find((e) => e._id === message.endpointId) ?? (await endpoints.get(message.endpointId));
    if (!endpoint) return false; // removed: its pending messages went with it
    const url = new URL(endpoint.url);
    let error: string | null;
    try {
      const to = await resolveChecked(url, settings);
      const headers = webhookHeaders(secretKey(endpoint.secret)!, message._id, Math.floor(Date.now() / 1000), message.body);
      error = await postOnce(url, to, headers, message.body, settings.timeoutMs);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const done = now();
    if (error === null) {
      attempts.inc({ outcome: 'sent' });
      await messages.sent(message, done);
      return true;
    }
    const failed = message.attempts + 1;
    const retryAt = failed < settings.maxAttempts ? new Date(done.getTime() + backoffMs(settings.backoffMs, settings.maxBackoffMs, failed)) : null;
    attempts.inc({ outcome: retryAt ? 'retry' : 'dead' });
    if (!retryAt) log.warn({ endpoint_id: endpoint._id, message_id: message._id, attempts: failed, error }, 'webhook message dead-lettered');
    await messages.failed(message, error, done, retryAt);
    return true;
  }

  return startPeriodic({
    name: 'webhook sender',
    intervalMs: settings.pollMs,
    log,
    async run() {
      const heads = await messages.heads(HEADS_PER_RUN);
      const at = now().getTime();
      const due = heads.filter((m) => m.nextAttemptAt.getTime() <= at);
      const made = await mapConcurrent(due, CONCURRENCY, attempt);
      // A settled head lets the next message of its line go at once.
      if (made.some(Boolean)) return new Date();
      const soonest = Math.min(...heads.map((m) => m.nextAttemptAt.getTime()));
      return Number.isFinite(soonest) ? new Date(soonest) : undefined;
    },
  });
}
