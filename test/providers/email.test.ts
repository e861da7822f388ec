// The email provider end to end against a real SMTP server on loopback: what arrives, and how each failure is
// classified.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import { EnvReader } from '../../services/platform/config.js';
import { EmailProvider } from '../../services/notification/providers/email.js';
import { readEmailConfig } from '../../services/notification/providers/email-config.js';
import { ProviderError } from '../../services/notification/providers/provider.js';
import { rejectionOf } from '../support/rejection.js';
import { type SmtpStandIn, startSmtpServer } from '../support/smtp-server.js';
import { outgoingMessage } from './outgoing-message.js';

const AUTH = { user: 'pulse', pass: 's3cret' };
const TIMEOUT_MS = 800;

let smtp: SmtpStandIn;
const providers: EmailProvider[] = [];

function provider(env: Record<string, string> = {}): EmailProvider {
  const reader = new EnvReader({
    SMTP_URL: `smtp://${AUTH.user}:${AUTH.pass}@127.0.0.1:${smtp.port}`,
    EMAIL_FROM: 'Pulse <pulse@example.test>',
    EMAIL_MESSAGE_ID_DOMAIN: 'pulse.test',
    SMTP_TIMEOUT_MS: String(TIMEOUT_MS),
    ...env,
  });
  const config = readEmailConfig(reader);
  reader.check();
  const created = new EmailProvider(config!);
  providers.push(created);
  return created;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  smtp = await startSmtpServer({ auth: AUTH });
});

afterEach(async () => {
  smtp.behave('accept');
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await smtp.close();
});

describe('email provider over SMTP', () => {
  it('sends one message with subject, text and HTML parts, From/To, a delivery Message-ID and Pulse headers', async () => {
    const before = smtp.received.length;
    const message = outgoingMessage(Channel.EMAIL, { title: 'Review <now> & then', data: { score: '<-0.8>' } });

    const result = await provider().send(message, new AbortController().signal);

    expect(result).toEqual({ outcome: 'sent', providerMessageId: '<dlv_01HZX3@pulse.test>' });
    expect(smtp.received).toHaveLength(before + 1);
    const { parsed, envelope } = smtp.received.at(-1)!;
    expect(envelope).toEqual({ from: 'pulse@example.test', to: ['dana@example.com'] });
    expect(parsed.subject).toBe('Review <now> & then');
    expect(parsed.messageId).toBe('<dlv_01HZX3@pulse.test>');
    expect(parsed.from?.value).toEqual([{ address: 'pulse@example.test', name: 'Pulse' }]);
    expect(parsed.to && !Array.isArray(parsed.to) && parsed.to.value.map((a) => a.address)).toEqual(['dana@example.com']);
    expect(parsed.text).toContain('Customer threatened to cancel.');
    expect(parsed.text).toContain('score: <-0.8>');
    expect(parsed.html).toContain('<h1 style="font-size:20px;margin:0 0 16px">Review &lt;now&gt; &amp; then</h1>');
    expect(parsed.html).toContain('<td style="padding:4px 0">&lt;-0.8&gt;</td>');
    expect(parsed.headers.get('x-pulse-notification-id')).toBe('ntf_01HZX3');
    expect(parsed.headers.get('x-pulse-delivery-id')).toBe('dlv_01HZX3');
    expect(parsed.headers.get('auto-submitted')).toBe('auto-generated');
  });

  it('gives every attempt of one delivery the same Message-ID', async () => {
    const email = provider();
    const before = smtp.received.length;
    await email.send(outgoingMessage(Channel.EMAIL, { attempt: 1 }), new AbortController().signal);
    await email.send(outgoingMessage(Channel.EMAIL, { attempt: 2 }), new AbortController().signal);

    const ids = smtp.received.slice(before).map((mail) => mail.parsed.messageId);
    expect(ids).toEqual(['<dlv_01HZX3@pulse.test>', '<dlv_01HZX3@pulse.test>']);
  });

  it('fails a malformed address permanently without connecting', async () => {
    const email = provider();
    const before = smtp.connections();

    const err = await rejectionOf(email.send(outgoingMessage(Channel.EMAIL, { address: 'dana@example.com, eve@example.com' }), new AbortController().signal), ProviderError);

    expect(err.kind).toBe('permanent');
    expect(err.message).toBe('invalid email address');
    expect(smtp.connections()).toBe(before);
  });

  it('classifies a rejected recipient (550) as permanent, without the address in the reason', async () => {
    smtp.behave('reject-recipient');
    const err = await rejectionOf(provider().send(outgoingMessage(Channel.EMAIL), new AbortController().signal), ProviderError);
    expect(err.kind).toBe('permanent');
    expect(err.message).toBe('smtp 550 recipient rejected');
  });

  it('classifies a temporary failure (451) as retryable', async () => {
    smtp.behave('fail-temporarily');
    const err = await rejectionOf(provider().send(outgoingMessage(Channel.EMAIL), new AbortController().signal), ProviderError);
    expect(err.kind).toBe('retryable');
    expect(err.message).toBe('smtp 451 local error in processing');
  });

  it('classifies refused credentials (535) as permanent', async () => {
    const email = provider({ SMTP_URL: `smtp://${AUTH.user}:wrong@127.0.0.1:${smtp.port}` });
    const err = await rejectionOf(email.send(outgoingMessage(Channel.EMAIL), new AbortController().signal), ProviderError);
    expect(err.kind).toBe('permanent');
    expect(err.message).toBe('smtp 535 authentication failed (check the SMTP credentials)');
  });

  it('classifies a refused connection as retryable', async () => {
    const email = provider({ SMTP_URL: `smtp://127.0.0.1:${await closedPort()}` });
    const err = await rejectionOf(email.send(outgoingMessage(Channel.EMAIL), new AbortController().signal), ProviderError);
    expect(err.kind).toBe('retryable');
    expect(err.message).toBe('smtp connection failed (ECONNREFUSED) (before the message was sent)');
  });

  it('classifies a timeout before the message data as retryable', async () => {
    smtp.behave('hang-before-data');
    const before = smtp.received.length;
    const err = await rejectionOf(provider().send(outgoingMessage(Channel.EMAIL), new AbortController().signal), ProviderError);
    expect(err.kind).toBe('retryable');
    expect(err.message).toBe(`smtp timeout after ${TIMEOUT_MS} ms (before the message was sent)`);
    expect(smtp.received).toHaveLength(before);
  });

  it('classifies a timeout after the message data as unknown outcome (the server did receive it)', async () => {
    smtp.behave('hang-after-data');
    const before = smtp.received.length;
    const err = await rejectionOf(provider().send(outgoingMessage(Channel.EMAIL), new AbortController().signal), ProviderError);
    expect(err.kind).toBe('unknown_outcome');
    expect(err.message).toBe(`smtp timeout after ${TIMEOUT_MS} ms (message data sent, no reply: may have been accepted)`);
    expect(smtp.received.slice(before).map((mail) => mail.acknowledged)).toEqual([false]);
  });

  it('stops when the caller aborts', async () => {
    smtp.behave('hang-before-data');
    const controller = new AbortController();
    const sending = provider().send(outgoingMessage(Channel.EMAIL), controller.signal);
    controller.abort();
    const err = await rejectionOf(sending, ProviderError);
    expect(err.kind).toBe('retryable');
    expect(err.message).toBe('smtp send aborted (before the message was sent)');
  });
});
