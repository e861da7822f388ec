// The Slack provider end to end against the Slack stand-in, which checks every request against Slack's OpenAPI
// description.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import { EnvReader } from '../../services/platform/config.js';
import { ProviderError } from '../../services/notification/providers/provider.js';
import { SlackProvider } from '../../services/notification/providers/slack.js';
import { readSlackConfig } from '../../services/notification/providers/slack-config.js';
import { rejectionOf } from '../support/rejection.js';
import { type SlackStandIn, startSlackStandIn } from '../support/slack-standin.js';
import { outgoingMessage } from './outgoing-message.js';

const TOKEN = 'xoxb-1234-5678-abcdef';
const TIMEOUT_MS = 500;

let slack: SlackStandIn;
const providers: SlackProvider[] = [];

function provider(apiUrl = slack.apiUrl): SlackProvider {
  const env = new EnvReader({ SLACK_BOT_TOKEN: TOKEN, SLACK_API_URL: apiUrl, SLACK_TIMEOUT_MS: String(TIMEOUT_MS) });
  const config = readSlackConfig(env);
  env.check();
  const created = new SlackProvider(config!, pino({ level: 'silent' }));
  providers.push(created);
  return created;
}

beforeAll(async () => {
  slack = await startSlackStandIn();
});

afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
  expect(slack.violations()).toEqual([]);
});

afterAll(async () => {
  await slack.close();
});

describe('Slack provider via chat.postMessage', () => {
  it('posts the title in bold and the body, with blocks and a text fallback, and reports delivered with the ts', async () => {
    const before = slack.requests.length;
    const result = await provider().send(outgoingMessage(Channel.SLACK, { title: 'Refund <threat>' }), new AbortController().signal);

    expect(result.outcome).toBe('delivered');
    expect(result.providerMessageId).toMatch(/^\d{10}\.\d{6}$/);
    const requests = slack.requests.slice(before);
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request.url).toBe('/api/chat.postMessage');
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request.body.channel).toBe('C0123456789');
    expect(request.body.text).toBe('*Refund &lt;threat&gt;*\nCustomer threatened to cancel.\nSentiment dropped to -0.8.');
    const blocks = JSON.parse(String(request.body.blocks)) as { type: string }[];
    expect(blocks.map((b) => b.type)).toEqual(['section', 'context']);
  });

  it('fails an impossible channel permanently without a request', async () => {
    const before = slack.requests.length;
    const err = await rejectionOf(provider().send(outgoingMessage(Channel.SLACK, { address: 'not a channel' }), new AbortController().signal), ProviderError);
    expect(err.kind).toBe('permanent');
    expect(err.message).toBe('invalid slack channel');
    expect(slack.requests).toHaveLength(before);
  });

  it.each([
    ['channel_not_found', 'permanent'],
    ['not_in_channel', 'permanent'],
    ['is_archived', 'permanent'],
    ['invalid_auth', 'permanent'],
    ['account_inactive', 'permanent'],
    ['msg_too_long', 'permanent'],
  ] as const)('classifies the platform error %s as %s', async (error, kind) => {
    slack.misbehave({ kind: 'platform', error });
    const err = await rejectionOf(provider().send(outgoingMessage(Channel.SLACK), new AbortController().signal), ProviderError);
    expect(err.kind).toBe(kind);
    expect(err.message).toBe(`slack ${error}`);
  });

  it('classifies 429 as retryable and honours Retry-After, with no retry of its own', async () => {
    const before = slack.requests.length;
    slack.misbehave({ kind: 'rate-limit', retryAfterS: 7 });
    const err = await rejectionOf(provider().send(outgoingMessage(Channel.SLACK), new AbortController().signal), ProviderError);
    expect(err.kind).toBe('retryable');
    expect(err.retryAfterMs).toBe(7000);
    expect(slack.requests).toHaveLength(before + 1);
  });

  it('classifies a 5xx as retryable, with no retry of its own', async () => {
    const before = slack.requests.length;
    slack.misbehave({ kind: 'status', status: 503 });
    const err = await rejectionOf(provider().send(outgoingMessage(Channel.SLACK), new AbortController().signal), ProviderError);
    expect(err.kind).toBe('retryable');
    expect(err.message).toBe('slack http 503');
    expect(slack.requests).toHaveLength(before + 1);
  });

  it('classifies a timeout after the request was sent as unknown outcome', async () => {
    const before = slack.requests.length;
    slack.misbehave({ kind: 'slow', delayMs: TIMEOUT_MS * 4 });
    const err = await rejectionOf(provider().send(outgoingMessage(Channel.SLACK), new AbortController().signal), ProviderError);
    expect(err.kind).toBe('unknown_outcome');
    expect(err.message).toBe(`slack timeout after ${TIMEOUT_MS} ms (request may have been sent)`);
    expect(slack.requests).toHaveLength(before + 1);
  });

  it('classifies a refused connection as retryable', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));

    const err = await rejectionOf(provider(`http://127.0.0.1:${port}/api/`).send(outgoingMessage(Channel.SLACK), new AbortController().signal), ProviderError);
    expect(err.kind).toBe('retryable');
    expect(err.message).toBe('slack connection failed (ECONNREFUSED) (request not sent)');
  });

  it('stops at once when the caller aborts, before sending', async () => {
    const before = slack.requests.length;
    const controller = new AbortController();
    controller.abort();
    const err = await rejectionOf(provider().send(outgoingMessage(Channel.SLACK), controller.signal), ProviderError);
    expect(err.kind).toBe('retryable');
    expect(err.message).toBe('slack aborted (request not sent)');
    expect(slack.requests).toHaveLength(before);
  });
});
