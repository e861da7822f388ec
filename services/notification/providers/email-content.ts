// What an email notification looks like: subject = title, a plain-text part and a small self-contained HTML part
// (everything escaped, data as a two-column table), or the subject, text and HTML its template wrote; headers that tie it to the delivery. The Message-ID is
// derived from the delivery id alone, so every attempt of one delivery carries the same id and a receiving system
// (or a person reading headers) can recognise a retry as the same message.
import { Priority } from '../../../gen/pulse/common/v1/delivery_pb.js';
import type { Rendered } from '../template-parts.js';
import type { OutgoingMessage } from './provider.js';
import { normaliseWhitespace } from './text-fit.js';

export interface EmailContent {
  subject: string;
  text: string;
  /** Absent when a template has no HTML part: the email is plain text. */
  html?: string;
  messageId: string;
  headers: Record<string, string>;
  priority: 'high' | 'normal' | 'low';
}

/** Ids go into headers: anything beyond a plain token is replaced so a header can never be broken or injected. */
function token(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, '_');
}

export function messageIdFor(deliveryId: string, domain: string): string {
  return `<${token(deliveryId)}@${domain}>`;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]);
}

/** Blank lines separate paragraphs, single line breaks stay line breaks. */
function htmlParagraphs(body: string): string {
  return body
    .split(/\r?\n\s*\r?\n/)
    .map((paragraph) => paragraph.trim())
    .filter((paragraph) => paragraph !== '')
    .map((paragraph) => `<p style="margin:0 0 12px;line-height:1.5">${escapeHtml(paragraph).replace(/\r?\n/g, '<br>')}</p>`)
    .join('\n');
}

function htmlTable(data: Record<string, string>): string {
  const rows = Object.entries(data).map(
    ([key, value]) =>
      `<tr><th style="text-align:left;padding:4px 12px 4px 0;color:#57606a;font-weight:600;vertical-align:top">${escapeHtml(key)}</th>` +
      `<td style="padding:4px 0">${escapeHtml(value)}</td></tr>`,
  );
  return rows.length === 0 ? '' : `<table style="border-collapse:collapse;margin:8px 0 16px;font-size:14px">\n${rows.join('\n')}\n</table>`;
}

const PRIORITY: Partial<Record<Priority, EmailContent['priority']>> = {
  [Priority.CRITICAL]: 'high',
  [Priority.HIGH]: 'high',
  [Priority.LOW]: 'low',
};

export function renderEmail(message: OutgoingMessage, messageIdDomain: string): EmailContent {
  const fixed = message.rendered ? templatedEmail(message.rendered) : fixedLayout(message);
  return {
    ...fixed,
    messageId: messageIdFor(message.deliveryId, messageIdDomain),
    headers: {
      'X-Pulse-Notification-Id': token(message.notificationId),
      'X-Pulse-Delivery-Id': token(message.deliveryId),
      'X-Pulse-Notification-Type': token(message.notificationType),
      // RFC 3834: machine-generated, so auto-responders do not answer it.
      'Auto-Submitted': 'auto-generated',
    },
    priority: PRIORITY[message.priority] ?? 'normal',
  };
}

/** A template's parts as they are; without an HTML part the email is plain text. */
function templatedEmail(rendered: Rendered): Pick<EmailContent, 'subject' | 'text' | 'html'> {
  return { subject: normaliseWhitespace(rendered.title), text: rendered.body, html: rendered.html || undefined };
}

function fixedLayout(message: OutgoingMessage): Pick<EmailContent, 'subject' | 'text' | 'html'> {
  const subject = normaliseWhitespace(message.title);
  const footer = `Sent by Pulse · notification ${message.notificationId}`;
  const dataLines = Object.entries(message.data).map(([key, value]) => `${key}: ${value}`);
  const text = [subject, message.body.trim(), dataLines.join('\n'), `-- \n${footer}`].filter((part) => part !== '').join('\n\n');
  const html = `<!doctype html>
<html>
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(subject)}</title></head>
<body style="margin:0;padding:24px;background:#f6f8fa;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2328">
<div style="max-width:600px;margin:0 auto;background:#ffffff;border:1px solid #d0d7de;border-radius:6px;padding:24px">
<h1 style="font-size:20px;margin:0 0 16px">${escapeHtml(subject)}</h1>
${htmlParagraphs(message.body)}
${htmlTable(message.data)}
<p style="margin:16px 0 0;font-size:12px;color:#57606a">${escapeHtml(footer)}</p>
</div>
</body>
</html>
`;
  return { subject, text, html };
}
