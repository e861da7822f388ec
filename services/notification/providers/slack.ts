// Slack via @slack/web-api chat.postMessage. The SDK's own retries and rate-limit queueing are off, so one send is
// one request and the delivery worker owns retries. Requests go through our HttpExchange (the SDK's `fetch` hook)
// so a timeout can tell "never sent" from "may have been posted": chat.postMessage has no idempotency key, so a
// request that may have been posted is reported as unknown_outcome rather than risk a duplicate post.
// Outcome "delivered": Slack answering ok means the message is in the channel.
import { type FetchFunction, type Logger as SlackLogger, LogLevel, WebClient } from '@slack/web-api';
import { Channel } from '../../../gen/pulse/common/v1/delivery_pb.js';
import type { Logger } from '../../platform/log.js';
import { type ExchangeLimits, HttpExchange } from './http-exchange.js';
import { type ChannelProvider, type OutgoingMessage, ProviderError, type SendResult } from './provider.js';
import type { SlackConfig } from './slack-config.js';
import { classifySlackError } from './slack-failure.js';
import { isSlackTarget, slackMessage } from './slack-message.js';

/** The SDK's `fetch` hook over one send's exchange limits. */
function exchangeFetch(exchange: HttpExchange, limits: ExchangeLimits): FetchFunction {
  return async (url, init = {}) => {
    if (init.body !== undefined && typeof init.body !== 'string') throw new Error('chat.postMessage sends no multipart body');
    const request = { method: init.method ?? 'GET', url: String(url), headers: init.headers ?? {}, body: init.body };
    const { status, statusText, headers, body } = await exchange.send(request, limits);
    return new Response(body, { status, statusText, headers });
  };
}

/**
 * The SDK logs request bodies (message text) at debug level: only its warnings and errors are passed on, and those
 * carry no message content.
 */
function sdkLogger(log: Logger): SlackLogger {
  const child = log.child({ component: 'slack-web-api' });
  return {
    debug: () => {},
    info: () => {},
    warn: (...msg: unknown[]) => child.warn(msg.map(String).join(' ')),
    error: (...msg: unknown[]) => child.error(msg.map(String).join(' ')),
    setLevel: () => {},
    getLevel: () => LogLevel.WARN,
    setName: () => {},
  };
}

export class SlackProvider implements ChannelProvider {
  readonly channel = Channel.SLACK;
  private readonly exchange = new HttpExchange();
  private readonly logger: SlackLogger;

  constructor(
    private readonly config: SlackConfig,
    log: Logger,
    /** "slack", or "slack-secondary" for the failover token. */
    readonly name = 'slack',
  ) {
    this.logger = sdkLogger(log);
  }

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    if (!isSlackTarget(message.address)) throw new ProviderError('permanent', 'invalid slack channel');
    // A client per send binds the exchange to this send's signal and deadline; it holds no connections itself.
    const client = new WebClient(this.config.token, {
      slackApiUrl: this.config.apiUrl,
      fetch: exchangeFetch(this.exchange, { signal, timeoutMs: this.config.timeoutMs }),
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      logger: this.logger,
    });
    const { text, blocks } = slackMessage(message);
    try {
      // No link previews: a notification should not expand into someone else's page.
      const posted = await client.chat.postMessage({
        channel: message.address,
        text,
        blocks,
        unfurl_links: false,
        unfurl_media: false,
      });
      return { outcome: 'delivered', providerMessageId: posted.ts };
    } catch (err) {
      throw classifySlackError(err);
    }
  }

  async close(): Promise<void> {
    this.exchange.close();
  }
}
