// What a Slack notification looks like: the title in bold and the body as mrkdwn, in one section block, with the
// data as a context line; the same text goes in `text`, which Slack shows in notifications and where blocks cannot
// be rendered.
import type { OutgoingMessage } from './provider.js';
import { fitText } from './text-fit.js';

/** Slack's limit for a section's text; the top-level text is kept to the same so both carry the same words. */
const SECTION_TEXT_MAX = 3000;
/** Slack allows up to 10 elements in a context block. */
const CONTEXT_ELEMENTS_MAX = 10;
const CONTEXT_TEXT_MAX = 300;

interface TextObject {
  type: 'mrkdwn';
  text: string;
}
type Block = { type: 'section'; text: TextObject } | { type: 'context'; elements: TextObject[] };

export interface SlackMessage {
  text: string;
  blocks: Block[];
}

/** Slack's mrkdwn needs only these three escaped; anything else is shown as written. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function slackMessage(message: OutgoingMessage): SlackMessage {
  if (message.rendered) {
    // The template wrote mrkdwn on purpose: nothing is escaped. Its blocks were checked to be a JSON array.
    const text = fitText(message.rendered.body, SECTION_TEXT_MAX);
    const blocks = message.rendered.slackBlocks ? (JSON.parse(message.rendered.slackBlocks) as Block[]) : [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text } }];
    return { text, blocks };
  }
  const title = message.title.trim();
  const body = message.body.trim();
  const lines = [title && `*${escapeMrkdwn(title)}*`, escapeMrkdwn(body)].filter((part) => part !== '');
  const text = fitText(lines.join('\n'), SECTION_TEXT_MAX);
  const blocks: Block[] = [{ type: 'section', text: { type: 'mrkdwn', text } }];
  const data = Object.entries(message.data).slice(0, CONTEXT_ELEMENTS_MAX);
  if (data.length > 0) {
    blocks.push({
      type: 'context',
      elements: data.map(([key, value]) => ({
        type: 'mrkdwn',
        text: fitText(`*${escapeMrkdwn(key)}:* ${escapeMrkdwn(value)}`, CONTEXT_TEXT_MAX),
      })),
    });
  }
  return { text, blocks };
}

/** A channel id, a user id or a channel name (with or without "#"): anything else cannot be a Slack target. */
export function isSlackTarget(address: string): boolean {
  return /^(?:[CGDUW][A-Z0-9]{8,}|#?[a-z0-9][a-z0-9._-]{0,79})$/.test(address);
}
