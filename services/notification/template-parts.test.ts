import { describe, expect, it } from 'vitest';
import { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import { priorityName } from './template-language.js';
import { compileTemplate, localeFallback, renderTemplate } from './template-parts.js';

const empty = { title: '', body: '', html: '', slackBlocks: '' };
const vars = {
  title: 'Invoice <42> is overdue',
  body: 'Pay by Friday & thanks',
  data: { invoice: '42' },
  type: 'invoice.overdue',
  priority: priorityName(Priority.HIGH),
  notification_id: 'ntf_1',
  locale: 'fr',
};

function compiled(channel: Channel, source: Partial<typeof empty>) {
  const result = compileTemplate(channel, { ...empty, ...source });
  if ('problems' in result) throw new Error(JSON.stringify(result.problems));
  return result.template;
}

describe('templates', () => {
  it('escapes outputs in the HTML part only', () => {
    const rendered = renderTemplate(
      compiled(Channel.EMAIL, { title: '{{ title }}', body: '{{ body }} (n° {{ data.invoice }})', html: '<h1>{{ title }}</h1><p>{{ body }}</p>' }),
      vars,
    );
    expect(rendered.title).toBe('Invoice <42> is overdue');
    expect(rendered.body).toBe('Pay by Friday & thanks (n° 42)');
    expect(rendered.html).toBe('<h1>Invoice &lt;42&gt; is overdue</h1><p>Pay by Friday &amp; thanks</p>');
  });

  it('names the part and line of a syntax error or an unknown variable', () => {
    const result = compileTemplate(Channel.EMAIL, { ...empty, title: '{{ title }}', body: 'ok', html: '<p>\n{{ contnet }}\n</p>\n{% if x %}' });
    expect(result).toEqual({ problems: [['html', expect.stringMatching(/^line 4: tag \{% if x %\} not closed/)]] });
    const unknown = compileTemplate(Channel.SMS, { ...empty, body: 'Hi\n{{ data.invoice }} {{ contnet }}' });
    expect(unknown).toEqual({ problems: [['body', expect.stringMatching(/^line 2: unknown variable "contnet"/)]] });
    const unknownFilter = compileTemplate(Channel.SMS, { ...empty, body: '{{ body | shout }}' });
    expect(unknownFilter).toEqual({ problems: [['body', expect.stringContaining('undefined filter: shout')]] });
  });

  it('checks which parts a channel has', () => {
    expect(compileTemplate(Channel.SMS, { ...empty, title: 'x', body: 'y' })).toEqual({ problems: [['title', 'must be empty on this channel']] });
    expect(compileTemplate(Channel.PUSH, { ...empty, body: 'y' })).toEqual({ problems: [['title', 'is required on this channel']] });
  });

  it('renders Slack blocks with JSON-escaped strings and rejects blocks that are not an array', () => {
    const blocks = '[{"type":"section","text":{"type":"mrkdwn","text":"*{{ title }}* \\"{{ body }}\\""}}]';
    const rendered = renderTemplate(compiled(Channel.SLACK, { body: '{{ title }}', slackBlocks: blocks }), { ...vars, body: 'say "hi"\nnow' });
    expect(JSON.parse(rendered.slackBlocks)[0].text.text).toBe('*Invoice <42> is overdue* "say "hi"\nnow"');
    expect(() => renderTemplate(compiled(Channel.SLACK, { body: 'x', slackBlocks: '{"type":"divider"}' }), vars)).toThrow(/JSON array/);
  });

  it('cannot read files through include or render', () => {
    const template = compiled(Channel.SMS, { body: "{% include '/etc/passwd' %}" });
    expect(() => renderTemplate(template, vars)).toThrow();
  });

  it('falls back from a region to its language to the default', () => {
    expect(localeFallback('fr-CA')).toEqual(['fr-CA', 'fr', '']);
    expect(localeFallback('zh-Hant-TW')).toEqual(['zh-Hant-TW', 'zh-Hant', 'zh', '']);
    expect(localeFallback('')).toEqual(['']);
  });
});
