import { describe, expect, it } from 'vitest';
import { Channel, Priority } from '../../../gen/pulse/common/v1/delivery_pb.js';
import type { OutgoingMessage } from './provider.js';
import { isSlackTarget, slackMessage } from './slack-message.js';

const message: OutgoingMessage = {
  deliveryId: 'dlv_1',
  notificationId: 'ntf_1',
  channel: Channel.SLACK,
  address: '#sales',
  title: 'Pricing <question>',
  body: 'Bot asks: is A & B cheaper?',
  data: {},
  priority: Priority.MEDIUM,
  notificationType: 'assistance.requested',
  attempt: 1,
};

describe('Slack message', () => {
  it('puts the title in bold over the body, escaping &, < and >, in text and in one section block', () => {
    const { text, blocks } = slackMessage(message);
    expect(text).toBe('*Pricing &lt;question&gt;*\nBot asks: is A &amp; B cheaper?');
    expect(blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text } }]);
  });

  it('shows at most ten data entries as a context block', () => {
    const data = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, `<v${i}>`]));
    const { blocks } = slackMessage({ ...message, data });
    const context = blocks[1];
    expect(context.type === 'context' && context.elements.map((e) => e.text)).toEqual(
      Array.from({ length: 10 }, (_, i) => `*k${i}:* &lt;v${i}&gt;`),
    );
  });

  it("keeps the text within a section's 3,000 characters", () => {
    const { text } = slackMessage({ ...message, body: 'x'.repeat(5000) });
    expect(text.length).toBe(3000);
    expect(text.endsWith('...')).toBe(true);
  });

  it.each(['C0123456789', 'U0123ABCD9', '#sales', 'sales-team', 'G01234567'])('takes %s as a target', (target) => {
    expect(isSlackTarget(target)).toBe(true);
  });

  it.each(['', 'not a channel', '#Sales Team', 'dana@example.com', `#${'a'.repeat(81)}`])('refuses %j as a target', (target) => {
    expect(isSlackTarget(target)).toBe(false);
  });
});
