import { describe, expect, it } from 'vitest';
import { Channel, Priority } from '../../../gen/pulse/common/v1/delivery_pb.js';
import { isEmailAddress, senderAddress } from './email-address.js';
import { escapeHtml, messageIdFor, renderEmail } from './email-content.js';
import type { OutgoingMessage } from './provider.js';

const message: OutgoingMessage = {
  deliveryId: 'dlv_1',
  notificationId: 'ntf_1',
  channel: Channel.EMAIL,
  address: 'dana@example.com',
  title: 'Angry <customer>\n & "refund"',
  body: 'First line\nsecond line\n\nNew paragraph <b>not bold</b>',
  data: { conversation: 'c<1>' },
  priority: Priority.CRITICAL,
  notificationType: 'review.required',
  attempt: 2,
};

describe('email content', () => {
  it('uses the title as a one-line subject and escapes everything in the HTML part', () => {
    const email = renderEmail(message, 'pulse.example.com');
    expect(email.subject).toBe('Angry <customer> & "refund"');
    expect(email.html).toContain('Angry &lt;customer&gt; &amp; &quot;refund&quot;');
    expect(email.html).toContain('<p style="margin:0 0 12px;line-height:1.5">First line<br>second line</p>');
    expect(email.html).toContain('New paragraph &lt;b&gt;not bold&lt;/b&gt;');
    expect(email.html).toContain('<td style="padding:4px 0">c&lt;1&gt;</td>');
    expect(email.html).not.toContain('<b>');
  });

  it('writes a plain-text part with the body and the data', () => {
    const { text } = renderEmail(message, 'pulse.example.com');
    expect(text).toContain('First line\nsecond line\n\nNew paragraph <b>not bold</b>');
    expect(text).toContain('conversation: c<1>');
  });

  it('derives the Message-ID from the delivery only, so every attempt carries the same one', () => {
    expect(renderEmail(message, 'pulse.example.com').messageId).toBe('<dlv_1@pulse.example.com>');
    expect(renderEmail({ ...message, attempt: 5 }, 'pulse.example.com').messageId).toBe('<dlv_1@pulse.example.com>');
    expect(messageIdFor('dlv 1>\r\nBcc: x', 'd.example')).toBe('<dlv_1___Bcc__x@d.example>');
  });

  it('tags the message with Pulse headers and maps the priority', () => {
    const email = renderEmail(message, 'pulse.example.com');
    expect(email.headers).toEqual({
      'X-Pulse-Notification-Id': 'ntf_1',
      'X-Pulse-Delivery-Id': 'dlv_1',
      'X-Pulse-Notification-Type': 'review.required',
      'Auto-Submitted': 'auto-generated',
    });
    expect(email.priority).toBe('high');
    expect(renderEmail({ ...message, priority: Priority.MEDIUM }, 'd').priority).toBe('normal');
    expect(renderEmail({ ...message, priority: Priority.LOW }, 'd').priority).toBe('low');
  });

  it('escapes the five HTML specials', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('email addresses', () => {
  it.each(['dana@example.com', 'd.o+tag@sub.example.co.uk', 'josé@exämple.de'])('accepts %s', (address) => {
    expect(isEmailAddress(address)).toBe(true);
  });

  it.each(['dana', 'dana@localhost', '@example.com', 'a@b@example.com', 'Dana <dana@example.com>', 'a@x.com, b@y.com', 'a b@example.com', 'a@-x.com'])(
    'refuses %s',
    (address) => {
      expect(isEmailAddress(address)).toBe(false);
    },
  );

  it('reads the address of a sender with or without a display name', () => {
    expect(senderAddress('Pulse <pulse@example.com>')).toBe('pulse@example.com');
    expect(senderAddress('pulse@example.com')).toBe('pulse@example.com');
    expect(senderAddress('Pulse')).toBeUndefined();
  });
});
