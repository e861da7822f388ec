import { describe, expect, it } from 'vitest';
import { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import { ConfigError, EnvReader } from '../platform/config.js';
import { readNotificationConfig } from './config.js';

function read(env: Record<string, string>) {
  const reader = new EnvReader(env);
  const config = readNotificationConfig(reader);
  reader.check();
  return config;
}

function problems(env: Record<string, string>): string[] {
  try {
    read(env);
    return [];
  } catch (err) {
    return (err as ConfigError).problems;
  }
}

describe('notification settings', () => {
  it('has defaults for one replica', () => {
    const config = read({});
    expect(config.prefetch).toEqual({ critical: 64, high: 32, medium: 16, low: 8 });
    expect(config.scheduler.intervalMs).toBe(1_000);
    expect(config.digestWindowMs).toBe(60_000);
    expect([...config.retry.retryUnknownOutcome]).toEqual([Channel.EMAIL]);
    expect(config.processingLeaseMs).toBeGreaterThan(config.sendTimeoutMs);
    expect(config.historySeconds).toBe(30 * 86_400);
  });

  it('reads overrides', () => {
    const config = read({
      NOTIFICATION_PREFETCH_LOW: '2',
      NOTIFICATION_MAX_ATTEMPTS_SMS: '9',
      NOTIFICATION_RETRY_UNKNOWN_OUTCOME_CHANNELS: 'email, sms',
      NOTIFICATION_RATE_USER_PER_SECOND: '0.5',
      NOTIFICATION_DIGEST_WINDOW_MS: '0',
      PULSE_HISTORY_RETENTION_SECONDS: '600',
    });
    expect(config.prefetch.low).toBe(2);
    expect(config.retry.maxAttempts[Channel.SMS]).toBe(9);
    expect([...config.retry.retryUnknownOutcome]).toEqual([Channel.EMAIL, Channel.SMS]);
    expect(config.rateLimits.user).toEqual({ perSecond: 0.5, burst: 30 });
    expect(config.digestWindowMs).toBe(0);
    expect(config.historySeconds).toBe(600);
  });

  it('names the variable of every bad value', () => {
    expect(problems({ NOTIFICATION_PREFETCH_HIGH: '0' })[0]).toMatch(/^NOTIFICATION_PREFETCH_HIGH /);
    expect(problems({ PULSE_HISTORY_RETENTION_SECONDS: '30' })[0]).toMatch(/^PULSE_HISTORY_RETENTION_SECONDS /);
    expect(problems({ NOTIFICATION_RETRY_UNKNOWN_OUTCOME_CHANNELS: 'email,fax' })[0]).toMatch(/^NOTIFICATION_RETRY_UNKNOWN_OUTCOME_CHANNELS .*fax/);
    expect(problems({ NOTIFICATION_SEND_TIMEOUT_MS: '30000', NOTIFICATION_PROCESSING_LEASE_MS: '31000' })[0]).toMatch(
      /^NOTIFICATION_PROCESSING_LEASE_MS must be longer than 32000 ms/,
    );
    expect(problems({ NOTIFICATION_RETRY_BASE_MS: '5000', NOTIFICATION_RETRY_MAX_DELAY_MS: '1000' })[0]).toMatch(/^NOTIFICATION_RETRY_MAX_DELAY_MS /);
  });
});
