// Which provider carries an attempt when a channel has a failover provider: a plain function of the delivery and
// the breakers. One provider per attempt, never both. The attempt after one that failed on a provider goes to the
// other; otherwise the primary. A provider whose breaker is open is passed over for the other, unless that one's
// is open too (then the preferred one's breaker decides when the delivery waits until).
import type { ChannelProvider } from './provider.js';

export interface ProviderPair {
  primary: ChannelProvider;
  secondary?: ChannelProvider;
}

export type FailoverReason = 'retryable_failure' | 'breaker_open';

export interface Choice {
  provider: ChannelProvider;
  /** Set when the attempt goes to the failover provider. */
  failover?: FailoverReason;
}

/**
 * @param lastProvider the provider of the delivery's previous attempt, if it made one: a delivery that is still
 *   waiting after an attempt did not succeed with it.
 * @param isOpen whether a provider's breaker refuses calls now.
 */
export function chooseProvider(pair: ProviderPair, lastProvider: string | undefined, isOpen: (provider: ChannelProvider) => boolean): Choice {
  const { primary, secondary } = pair;
  if (!secondary) return { provider: primary };
  const failedOnPrimary = lastProvider === primary.name;
  const preferred = failedOnPrimary ? secondary : primary;
  const other = preferred === primary ? secondary : primary;
  const provider = isOpen(preferred) && !isOpen(other) ? other : preferred;
  if (provider === primary) return { provider };
  return { provider, failover: failedOnPrimary && provider === preferred ? 'retryable_failure' : 'breaker_open' };
}
