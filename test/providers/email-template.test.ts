// A templated email over real SMTP on loopback: what arrives is the template's subject, text and (escaped) HTML, or
// plain text only when the template has no HTML part. The rendering is notification's (template-parts.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import { EmailProvider } from '../../services/notification/providers/email.js';
import { readEmailConfig } from '../../services/notification/providers/email-config.js';
import { templateVariables } from '../../services/notification/template-cache.js';
import { compileTemplate, renderTemplate } from '../../services/notification/template-parts.js';
import { EnvReader } from '../../services/platform/config.js';
import { type SmtpStandIn, startSmtpServer } from '../support/smtp-server.js';
import { outgoingMessage } from './outgoing-message.js';

let smtp: SmtpStandIn;
let email: EmailProvider;

beforeAll(async () => {
  smtp = await startSmtpServer({ auth: { user: 'pulse', pass: 's3cret' } });
  const reader = new EnvReader({ SMTP_URL: `smtp://pulse:s3cret@127.0.0.1:${smtp.port}`, EMAIL_FROM: 'pulse@example.test', EMAIL_MESSAGE_ID_DOMAIN: 'pulse.test' });
  email = new EmailProvider(readEmailConfig(reader)!);
  reader.check();
});

afterAll(async () => {
  await email.close();
  await smtp.close();
});

function rendered(source: { title: string; body: string; html: string }, message: ReturnType<typeof outgoingMessage>) {
  const compiled = compileTemplate(Channel.EMAIL, { ...source, slackBlocks: '' });
  if ('problems' in compiled) throw new Error(JSON.stringify(compiled.problems));
  return renderTemplate(compiled.template, templateVariables(message, 'fr'));
}

describe('templated email over SMTP', () => {
  it("sends the template's subject, text and HTML, with the content escaped in the HTML only", async () => {
    const message = outgoingMessage(Channel.EMAIL, { title: 'Score <-0.8>', data: { conversation_id: 'conv_42' } });
    const source = { title: 'Revue : {{ title }}', body: 'Conversation {{ data.conversation_id }}\n{{ title }}', html: '<p>{{ title }} ({{ priority }})</p>' };
    await email.send({ ...message, rendered: rendered(source, message) }, new AbortController().signal);
    const { parsed } = smtp.received.at(-1)!;
    expect(parsed.subject).toBe('Revue : Score <-0.8>');
    expect(parsed.text?.trim()).toBe('Conversation conv_42\nScore <-0.8>');
    expect(parsed.html).toBe('<p>Score &lt;-0.8&gt; (high)</p>');
    expect(parsed.headers.get('x-pulse-delivery-id')).toBe('dlv_01HZX3');
  });

  it('sends plain text only when the template has no HTML part', async () => {
    const message = outgoingMessage(Channel.EMAIL);
    await email.send({ ...message, rendered: rendered({ title: '{{ title }}', body: '{{ body }}', html: '' }, message) }, new AbortController().signal);
    const { parsed } = smtp.received.at(-1)!;
    expect(parsed.html).toBe(false);
    expect(parsed.text?.trim()).toBe('Customer threatened to cancel.\nSentiment dropped to -0.8.');
  });
});
