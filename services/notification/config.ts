// Notification's own settings, read once at start from NOTIFICATION_* variables (provider settings come from the
// providers' own reader). Every value has a default that suits one replica of `npm start`.
import { Channel, ChannelSchema } from '../../gen/pulse/common/v1/delivery_pb.js';
import { readHistoryRetention } from '../common/history.js';
import type { EnvReader } from '../platform/config.js';
import { type FailoverConfig, readFailoverConfig } from './providers/failover-config.js';
import { type ProviderConfig, readProviderConfig } from './providers/index.js';
import { DEFAULT_LADDERS, type DefaultLadders, parseLadders } from './ladder.js';
import type { LaneName } from './lanes.js';
import type { BucketSpec, LimitName } from './rate-limit.js';
import type { RetryPolicy } from './retry-policy.js';

export interface NotificationConfig {
  providers: ProviderConfig;
  /** Failover providers per channel (providers/failover-config.ts). */
  failovers: FailoverConfig;
  /** Jobs each lane's consumer works on at once: CRITICAL gets the most, LOW the fewest. */
  prefetch: Record<LaneName, number>;
  retry: RetryPolicy;
  /** How long one provider call may take before the worker stops waiting for it. */
  sendTimeoutMs: number;
  /** A delivery PROCESSING for longer than this is taken to have lost its worker (outcome unknown). */
  processingLeaseMs: number;
  scheduler: { intervalMs: number; batch: number };
  /** Token buckets per caller, per recipient user, per channel and overall; per replica. */
  rateLimits: Record<LimitName, BucketSpec>;
  /** How long a resolved delivery plan is reused (0: never cached). */
  planCacheTtlMs: number;
  /** How often each replica reloads its templates; a save reloads them sooner (template-cache.ts). */
  templateRefreshMs: number;
  /** LOW deliveries to one address on one channel within this window go out as one message (0: no digests). */
  digestWindowMs: number;
  /** Most notifications one digest message combines. */
  digestMaxSize: number;
  /** Seconds a notification and its deliveries are kept once nothing more is coming for them (common/history.ts). */
  historySeconds: number;
  /** Default escalation ladders per notification type, for HIGH and CRITICAL notifications without one (ladder.ts). */
  escalationLadders: DefaultLadders;
  /** How long an escalation step waits to ask status again when it could not say whether the notification was read. */
  escalationStatusRetryMs: number;
}

/**
 * How long the worker waits for a provider: the send timeout (its abort signal), plus a grace period for
 * providers slow to honour the signal. The processing lease must be longer, or a live send could be settled as lost.
 */
export function giveUpAfterMs(sendTimeoutMs: number): number {
  return sendTimeoutMs + Math.min(2_000, sendTimeoutMs);
}

/** Every channel of the contract, by its lower-case name ("in_app"): a new channel needs no line here. */
const CHANNELS = ChannelSchema.values.filter((v) => v.number !== Channel.UNSPECIFIED);
const CHANNEL_NAMES: Record<string, Channel> = Object.fromEntries(CHANNELS.map((v) => [v.localName.toLowerCase(), v.number as Channel]));
/** Attempt budgets that differ from the default 6: SMS and push carry no idempotency key, so they try less. */
const FEWER_ATTEMPTS: Partial<Record<Channel, number>> = { [Channel.SMS]: 4, [Channel.PUSH]: 4 };

/** "email,slack" -> channels; unknown names are reported against the variable. */
function channelList(env: EnvReader, name: string, fallback: string): Set<Channel> {
  const channels = new Set<Channel>();
  for (const part of env.string(name, fallback).split(',').map((p) => p.trim().toLowerCase()).filter(Boolean)) {
    const channel = CHANNEL_NAMES[part];
    if (channel === undefined) env.invalid(name, `must list channels among ${Object.keys(CHANNEL_NAMES).join(', ')} (got "${part.slice(0, 40)}")`);
    else channels.add(channel);
  }
  return channels;
}

function bucket(env: EnvReader, name: string, perSecond: number, burst: number): BucketSpec {
  return {
    perSecond: env.number(`NOTIFICATION_RATE_${name}_PER_SECOND`, perSecond, { min: 0, max: 1_000_000 }),
    burst: env.int(`NOTIFICATION_RATE_${name}_BURST`, burst, { min: 1, max: 10_000_000 }),
  };
}

export function readNotificationConfig(env: EnvReader): NotificationConfig {
  const lane = (name: string, fallback: number) => env.int(`NOTIFICATION_PREFETCH_${name}`, fallback, { min: 1, max: 10_000 });
  const attempts = (name: string, fallback: number) => env.int(`NOTIFICATION_MAX_ATTEMPTS_${name}`, fallback, { min: 1, max: 100 });
  const sendTimeoutMs = env.int('NOTIFICATION_SEND_TIMEOUT_MS', 15_000, { min: 100, max: 600_000 });
  const processingLeaseMs = env.int('NOTIFICATION_PROCESSING_LEASE_MS', 60_000, { min: 1_000, max: 3_600_000 });
  if (processingLeaseMs <= giveUpAfterMs(sendTimeoutMs)) {
    env.invalid('NOTIFICATION_PROCESSING_LEASE_MS', `must be longer than ${giveUpAfterMs(sendTimeoutMs)} ms (the send timeout and its grace)`);
  }
  const baseDelayMs = env.int('NOTIFICATION_RETRY_BASE_MS', 2_000, { min: 1, max: 3_600_000 });
  const maxDelayMs = env.int('NOTIFICATION_RETRY_MAX_DELAY_MS', 300_000, { min: 1, max: 86_400_000 });
  if (maxDelayMs < baseDelayMs) env.invalid('NOTIFICATION_RETRY_MAX_DELAY_MS', `must be at least NOTIFICATION_RETRY_BASE_MS (${baseDelayMs})`);
  const providers = readProviderConfig(env);
  return {
    providers,
    failovers: readFailoverConfig(env, providers),
    prefetch: { critical: lane('CRITICAL', 64), high: lane('HIGH', 32), medium: lane('MEDIUM', 16), low: lane('LOW', 8) },
    retry: {
      maxAttempts: {
        [Channel.UNSPECIFIED]: 1,
        ...Object.fromEntries(CHANNELS.map((v) => [v.number, attempts(v.localName, FEWER_ATTEMPTS[v.number as Channel] ?? 6)])),
      } as Record<Channel, number>,
      baseDelayMs,
      maxDelayMs,
      // Email carries a Message-ID derived from the delivery, so a resend is recognisable as the same message;
      // Slack and Twilio have no idempotency key, so an unknown outcome there goes to a person instead.
      retryUnknownOutcome: channelList(env, 'NOTIFICATION_RETRY_UNKNOWN_OUTCOME_CHANNELS', 'email'),
    },
    sendTimeoutMs,
    processingLeaseMs,
    scheduler: {
      intervalMs: env.int('NOTIFICATION_SCHEDULER_INTERVAL_MS', 1_000, { min: 10, max: 60_000 }),
      batch: env.int('NOTIFICATION_SCHEDULER_BATCH', 500, { min: 1, max: 10_000 }),
    },
    rateLimits: {
      caller: bucket(env, 'CALLER', 200, 400),
      user: bucket(env, 'USER', 10, 30),
      channel: bucket(env, 'CHANNEL', 500, 1_000),
      global: bucket(env, 'GLOBAL', 2_000, 4_000),
    },
    planCacheTtlMs: env.int('NOTIFICATION_PLAN_CACHE_TTL_MS', 5_000, { min: 0, max: 300_000 }),
    templateRefreshMs: env.int('NOTIFICATION_TEMPLATE_REFRESH_MS', 30_000, { min: 1_000, max: 3_600_000 }),
    digestWindowMs: env.int('NOTIFICATION_DIGEST_WINDOW_MS', 60_000, { min: 0, max: 86_400_000 }),
    digestMaxSize: env.int('NOTIFICATION_DIGEST_MAX_SIZE', 50, { min: 2, max: 500 }),
    historySeconds: readHistoryRetention(env),
    escalationLadders: escalationLadders(env),
    escalationStatusRetryMs: env.int('NOTIFICATION_ESCALATION_STATUS_RETRY_MS', 5_000, { min: 10, max: 600_000 }),
  };
}

function escalationLadders(env: EnvReader): DefaultLadders {
  const ladders = parseLadders(env.string('NOTIFICATION_ESCALATION_LADDERS', DEFAULT_LADDERS));
  if (typeof ladders !== 'string') return ladders;
  env.invalid('NOTIFICATION_ESCALATION_LADDERS', ladders);
  return new Map();
}
