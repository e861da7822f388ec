// Email over SMTP with nodemailer's pooled transport: one send per delivery, failures classified (smtp-failure.ts).
// Outcome "sent": a 250 to the message means the server took responsibility for it, not that it reached an inbox.
import { createTransport, type Transporter } from 'nodemailer';
import { Channel } from '../../../gen/pulse/common/v1/delivery_pb.js';
import { isEmailAddress } from './email-address.js';
import type { EmailConfig } from './email-config.js';
import { renderEmail } from './email-content.js';
import { type ChannelProvider, type OutgoingMessage, ProviderError, type SendResult } from './provider.js';
import { classifySmtpFailure, type SendProgress } from './smtp-failure.js';

export class EmailProvider implements ChannelProvider {
  readonly channel = Channel.EMAIL;
  private readonly transporter: Transporter;
  /** Keyed by the per-send AbortSignal, which nodemailer carries on the message data to the stream step. */
  private readonly progress = new WeakMap<AbortSignal, SendProgress>();

  constructor(
    private readonly config: EmailConfig,
    /** "smtp", or "smtp-secondary" for the failover relay. */
    readonly name = 'smtp',
  ) {
    this.transporter = createTransport({
      pool: true,
      host: config.host,
      port: config.port,
      secure: config.secure,
      auth: config.auth,
      connectionTimeout: config.timeoutMs,
      greetingTimeout: config.timeoutMs,
      socketTimeout: config.timeoutMs,
      // The pool may resend a message on a fresh connection only when the server dropped an idle pooled connection
      // before a byte of the message went out (nodemailer's own rule); once, so retries stay the engine's call.
      maxRequeues: 1,
      logger: false,
    });
    this.transporter.use('stream', (mail, done) => {
      const progress = mail.data.signal && this.progress.get(mail.data.signal);
      // The message stream as the connection reads it (the last processing step), untouched: its 'end' fires once
      // the connection consumed the last byte, which it starts to do only after the server accepted DATA.
      if (progress) {
        mail.message.processFunc((output) => {
          output.once('end', () => {
            progress.messageSent = true;
          });
          return output;
        });
      }
      done();
    });
  }

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    if (!isEmailAddress(message.address)) throw new ProviderError('permanent', 'invalid email address');
    const content = renderEmail(message, this.config.messageIdDomain);
    const deadline = AbortSignal.timeout(this.config.timeoutMs);
    const sendSignal = AbortSignal.any([signal, deadline]);
    const progress: SendProgress = { messageSent: false };
    this.progress.set(sendSignal, progress);
    try {
      await this.transporter.sendMail({
        from: this.config.from,
        to: message.address,
        subject: content.subject,
        text: content.text,
        html: content.html,
        messageId: content.messageId,
        headers: content.headers,
        priority: content.priority,
        signal: sendSignal,
      });
      return { outcome: 'sent', providerMessageId: content.messageId };
    } catch (err) {
      const interruption = deadline.aborted ? `timeout after ${this.config.timeoutMs} ms` : 'send aborted';
      throw classifySmtpFailure(err, progress, interruption);
    }
  }

  async close(): Promise<void> {
    this.transporter.close();
  }
}
