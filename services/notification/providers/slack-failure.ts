// Slack failures by kind. Slack answers almost everything with HTTP 200 and `{ ok: false, error }`; those platform
// errors are the caller's problem (permanent) except the few that say Slack itself is struggling. A 429 carries
// Retry-After, which the SDK (told not to queue rate-limited calls) hands over as seconds.
import { ErrorCode, type WebAPICallError } from '@slack/web-api';
import { ExchangeFailure } from './http-exchange.js';
import { fromExchangeFailure, kindForStatus } from './http-failure.js';
import { ProviderError } from './provider.js';

const RETRYABLE_PLATFORM_ERRORS = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  // The workspace is being migrated into an Enterprise organization: the API is intermittently unavailable.
  'team_added_to_org',
]);

export function classifySlackError(err: unknown): ProviderError {
  // Anything else (no code, or another one) falls through to the default.
  const error = err as WebAPICallError | undefined;
  switch (error?.code) {
    case ErrorCode.RateLimitedError:
      return new ProviderError('retryable', 'slack 429 rate limited', error.retryAfter * 1000);
    case ErrorCode.PlatformError: {
      // Slack error codes are snake_case words; anything else is not repeated.
      const code = /^[a-z_]{1,64}$/.test(error.data.error) ? error.data.error : 'platform error';
      return new ProviderError(RETRYABLE_PLATFORM_ERRORS.has(code) ? 'retryable' : 'permanent', `slack ${code}`);
    }
    case ErrorCode.HTTPError:
      return new ProviderError(kindForStatus(error.statusCode), `slack http ${error.statusCode}`);
    case ErrorCode.RequestError:
      if (error.original instanceof ExchangeFailure) return fromExchangeFailure('slack', error.original);
      return new ProviderError('retryable', 'slack request failed');
    default:
      return new ProviderError('retryable', 'slack request failed');
  }
}
