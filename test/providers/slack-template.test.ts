// A templated Slack message against the spec-checked Slack stand-in: the template's mrkdwn as text and its Block
// Kit blocks (outputs JSON-escaped) as blocks; without blocks, one section with the text.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import { SlackProvider } from '../../services/notification/providers/slack.js';
import { readSlackConfig } from '../../services/notification/providers/slack-config.js';
import { templateVariables } from '../../services/notification/template-cache.js';
import { compileTemplate, renderTemplate } from '../../services/notification/template-parts.js';
import { EnvReader } from '../../services/platform/config.js';
import { type SlackStandIn, startSlackStandIn } from '../support/slack-standin.js';
import { outgoingMessage } from './outgoing-message.js';

let slack: SlackStandIn;
let provider: SlackProvider;

beforeAll(async () => {
  slack = await startSlackStandIn();
  const env = new EnvReader({ SLACK_BOT_TOKEN: 'xoxb-1234-5678-abcdef', SLACK_API_URL: slack.apiUrl });
  provider = new SlackProvider(readSlackConfig(env)!, pino({ level: 'silent' }));
  env.check();
});

afterAll(async () => {
  await provider.close();
  await slack.close();
});

function rendered(body: string, slackBlocks: string, message: ReturnType<typeof outgoingMessage>) {
  const compiled = compileTemplate(Channel.SLACK, { title: '', body, html: '', slackBlocks });
  if ('problems' in compiled) throw new Error(JSON.stringify(compiled.problems));
  return renderTemplate(compiled.template, templateVariables(message, ''));
}

describe('templated Slack message', () => {
  it("posts the template's mrkdwn and blocks, strings JSON-escaped, as Slack's description allows", async () => {
    const message = outgoingMessage(Channel.SLACK, { title: 'Refund "now"\nplease' });
    const blocks = '[{"type":"header","text":{"type":"plain_text","text":"{{ title }}"}},{"type":"section","text":{"type":"mrkdwn","text":"*Score:* {{ data.score }}"}}]';
    await provider.send({ ...message, rendered: rendered(':rotating_light: {{ title }}', blocks, message) }, new AbortController().signal);
    const request = slack.requests.at(-1)!;
    expect(request.body.text).toBe(':rotating_light: Refund "now"\nplease');
    expect(JSON.parse(String(request.body.blocks))).toEqual([
      { type: 'header', text: { type: 'plain_text', text: 'Refund "now"\nplease' } },
      { type: 'section', text: { type: 'mrkdwn', text: '*Score:* -0.8' } },
    ]);
    expect(slack.violations()).toEqual([]);
  });

  it('posts one section with the mrkdwn when the template has no blocks', async () => {
    const message = outgoingMessage(Channel.SLACK);
    await provider.send({ ...message, rendered: rendered('*{{ title }}*', '', message) }, new AbortController().signal);
    expect(JSON.parse(String(slack.requests.at(-1)!.body.blocks))).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: '*Conversation needs review*' } }]);
    expect(slack.violations()).toEqual([]);
  });
});
