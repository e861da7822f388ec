import { describe, expect, it } from 'vitest';
import { classifySmtpFailure } from './smtp-failure.js';

const notSent = { messageSent: false };
const sent = { messageSent: true };
const smtpError = (fields: Record<string, unknown>) => Object.assign(new Error('Message failed for recipient dana@example.com'), fields);

describe('SMTP failure classification', () => {
  it.each([
    [{ code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO' }, 'permanent', 'smtp 550 recipient rejected'],
    [{ code: 'EENVELOPE', responseCode: 553, command: 'RCPT TO' }, 'permanent', 'smtp 553 recipient rejected'],
    [{ code: 'EENVELOPE', responseCode: 551, command: 'RCPT TO' }, 'permanent', 'smtp 551 recipient rejected'],
    [{ code: 'EENVELOPE', responseCode: 553, command: 'MAIL FROM' }, 'permanent', 'smtp 553 sender rejected'],
    [{ code: 'EMESSAGE', responseCode: 554, command: 'DATA' }, 'permanent', 'smtp 554 message rejected'],
    [{ code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN' }, 'permanent', 'smtp 535 authentication failed (check the SMTP credentials)'],
    [{ code: 'EENVELOPE', responseCode: 552, command: 'RCPT TO' }, 'retryable', 'smtp 552 insufficient storage (treated as 452)'],
    [{ code: 'EMESSAGE', responseCode: 552, command: 'DATA' }, 'permanent', 'smtp 552 message rejected'],
    [{ code: 'EPROTOCOL', responseCode: 503, command: 'RSET' }, 'retryable', 'smtp 503 temporary failure'],
    [{ code: 'ECONNECTION', responseCode: 421, command: 'CONN' }, 'retryable', 'smtp 421 service not available'],
    [{ code: 'EENVELOPE', responseCode: 450, command: 'RCPT TO' }, 'retryable', 'smtp 450 mailbox unavailable'],
    [{ code: 'EENVELOPE', responseCode: 451, command: 'RCPT TO' }, 'retryable', 'smtp 451 local error in processing'],
    [{ code: 'EENVELOPE', responseCode: 452, command: 'RCPT TO' }, 'retryable', 'smtp 452 insufficient storage'],
    [{ code: 'EAUTH', responseCode: 454, command: 'AUTH PLAIN' }, 'retryable', 'smtp 454 temporary authentication failure'],
    [{ code: 'ESOCKET', originalCode: 'ECONNREFUSED' }, 'retryable', 'smtp connection failed (ECONNREFUSED) (before the message was sent)'],
    [{ code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT' }, 'retryable', 'smtp timeout (greeting_timeout) (before the message was sent)'],
    [{ code: 'EDNS' }, 'retryable', 'smtp dns lookup failed (before the message was sent)'],
    [{ code: 'EABORT' }, 'retryable', 'smtp timeout after 10000 ms (before the message was sent)'],
    [{ code: 'EAUTH' }, 'permanent', 'smtp authentication failed (check the SMTP credentials)'],
    [{ code: 'ETLS' }, 'permanent', 'smtp tls failed (ETLS: check SMTP_SECURE and the server certificate)'],
    [{ code: 'EENVELOPE' }, 'permanent', 'smtp message refused before sending (EENVELOPE)'],
    [{ code: 'ESTREAM' }, 'retryable', 'smtp error (ESTREAM)'],
  ])('%o before the message data was sent -> %s', (fields, kind, reason) => {
    const failure = classifySmtpFailure(smtpError(fields), notSent, 'timeout after 10000 ms');
    expect([failure.kind, failure.message]).toEqual([kind, reason]);
  });

  it.each([
    [{ code: 'EABORT' }, 'smtp timeout after 10000 ms (message data sent, no reply: may have been accepted)'],
    [{ code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT' }, 'smtp timeout (socket_timeout) (message data sent, no reply: may have been accepted)'],
    [{ code: 'ECONNECTION' }, 'smtp connection failed (ECONNECTION) (message data sent, no reply: may have been accepted)'],
  ])('%o after the message data was sent -> unknown outcome', (fields, reason) => {
    const failure = classifySmtpFailure(smtpError(fields), sent, 'timeout after 10000 ms');
    expect([failure.kind, failure.message]).toEqual(['unknown_outcome', reason]);
  });

  it('trusts a reply over the progress: a 5xx to the data is a refusal, not an unknown outcome', () => {
    const failure = classifySmtpFailure(smtpError({ code: 'EMESSAGE', responseCode: 550, command: 'DATA' }), sent, 'timeout');
    expect([failure.kind, failure.message]).toEqual(['permanent', 'smtp 550 message rejected']);
  });

  it('treats anything that is not an SMTP error as retryable', () => {
    expect(classifySmtpFailure(undefined, notSent, 'timeout').kind).toBe('retryable');
  });
});
