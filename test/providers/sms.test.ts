// The SMS provider end to end against the Twilio stand-in, which checks every request against Twilio's OpenAPI
// description.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import { EnvReader } from '../../services/platform/config.js';
import { ProviderError } from '../../services/notification/providers/provider.js';
import { SmsProvider } from '../../services/notification/providers/sms.js';
import { readSmsConfig } from '../../services/notification/providers/sms-config.js';
import { rejectionOf } from '../support/rejection.js';
import { startTwilioStandIn, type TwilioStandIn } from '../support/twilio-standin.js';
import { outgoingMessage } from './outgoing-message.js';

const ACCOUNT = `AC${'0123456789abcdef'.repeat(2)}`;
const AUTH_TOKEN = 'f'.repeat(32);
const TIMEOUT_MS = 500;

let twilio: TwilioStandIn;
const providers: SmsProvider[] = [];

function provider(env: Record<string, string> = {}): SmsProvider {
  const reader = new EnvReader({
    TWILIO_ACCOUNT_SID: ACCOUNT,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_FROM: '+14155550100',
    TWILIO_API_URL: twilio.apiUrl,
    TWILIO_TIMEOUT_MS: String(TIMEOUT_MS),
    ...env,
  });
  const config = readSmsConfig(reader);
  reader.check();
  const created = new SmsProvider(config!);
  providers.push(created);
  return created;
}

beforeAll(async () => {
  twilio = await startTwilioStandIn();
});

afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
  expect(twilio.violations()).toEqual([]);
});

afterAll(async () => {
  await twilio.close();
});

describe('SMS provider via Twilio messages.create', () => {
  it('creates one message from the sender with title and body, and reports sent with the SID', async () => {
    const before = twilio.requests.length;
    const result = await provider().send(outgoingMessage(Channel.SMS), new AbortController().signal);

    expect(result.outcome).toBe('sent');
    expect(result.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    const requests = twilio.requests.slice(before);
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request.url).toBe(`/2010-04-01/Accounts/${ACCOUNT}/Messages.json`);
    expect(request.headers.authorization).toBe(`Basic ${Buffer.from(`${ACCOUNT}:${AUTH_TOKEN}`).toString('base64')}`);
    expect(request.body).toEqual({
      To: '+14155550123',
      From: '+14155550100',
      Body: 'Conversation needs review\nCustomer threatened to cancel. Sentiment dropped to -0.8.',
    });
  });

  it('sends through a Messaging Service when TWILIO_FROM is one', async () => {
    const service = `MG${'a'.repeat(32)}`;
    const before = twilio.requests.length;
    await provider({ TWILIO_FROM: service }).send(outgoingMessage(Channel.SMS), new AbortController().signal);
    expect(twilio.requests[before].body).toMatchObject({ MessagingServiceSid: service });
    expect(twilio.requests[before].body.From).toBeUndefined();
  });

  it('fails a number that is not E.164 permanently without a request', async () => {
    const before = twilio.requests.length;
    const err = await rejectionOf(provider().send(outgoingMessage(Channel.SMS, { address: '415-555-0123' }), new AbortController().signal), ProviderError);
    expect(err.kind).toBe('permanent');
    expect(err.message).toBe('invalid phone number (not E.164)');
    expect(twilio.requests).toHaveLength(before);
  });

  it.each([
    [21211, 400, 'permanent', "twilio 21211 invalid 'To' number"],
    [21614, 400, 'permanent', "twilio 21614 'To' number is not a mobile number"],
    [21610, 400, 'permanent', "twilio 21610 'To' number unsubscribed (replied STOP)"],
    [20003, 401, 'permanent', 'twilio 20003 authentication failed (check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)'],
  ] as const)('classifies error %i (HTTP %i) as %s', async (code, status, kind, reason) => {
    twilio.misbehave({ kind: 'error', code, status });
    const err = await rejectionOf(provider().send(outgoingMessage(Channel.SMS), new AbortController().signal), ProviderError);
    expect(err.kind).toBe(kind);
    expect(err.message).toBe(reason);
  });

  it('classifies 429 as retryable and honours Retry-After, with no retry of its own', async () => {
    const before = twilio.requests.length;
    twilio.misbehave({ kind: 'rate-limit', retryAfterS: 3 });
    const err = await rejectionOf(provider().send(outgoingMessage(Channel.SMS), new AbortController().signal), ProviderError);
    expect(err.kind).toBe('retryable');
    expect(err.message).toBe('twilio 20429 too many requests');
    expect(err.retryAfterMs).toBe(3000);
    expect(twilio.requests).toHaveLength(before + 1);
  });

  it('classifies a 5xx as retryable', async () => {
    twilio.misbehave({ kind: 'status', status: 503 });
    const err = await rejectionOf(provider().send(outgoingMessage(Channel.SMS), new AbortController().signal), ProviderError);
    expect(err.kind).toBe('retryable');
    expect(err.message).toBe('twilio 20500 server error');
  });

  it('classifies a timeout after the request was sent as unknown outcome', async () => {
    const before = twilio.requests.length;
    twilio.misbehave({ kind: 'slow', delayMs: TIMEOUT_MS * 4 });
    const err = await rejectionOf(provider().send(outgoingMessage(Channel.SMS), new AbortController().signal), ProviderError);
    expect(err.kind).toBe('unknown_outcome');
    expect(err.message).toBe(`twilio timeout after ${TIMEOUT_MS} ms (request may have been sent)`);
    expect(twilio.requests).toHaveLength(before + 1);
  });

  it('classifies a refused connection as retryable', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));

    const err = await rejectionOf(provider({ TWILIO_API_URL: `http://127.0.0.1:${port}` }).send(outgoingMessage(Channel.SMS), new AbortController().signal), ProviderError);
    expect(err.kind).toBe('retryable');
    expect(err.message).toBe('twilio connection failed (ECONNREFUSED) (request not sent)');
  });
});
