// Which parts a template has on each channel, how each part is escaped, and a whole template compiled and
// rendered. No I/O.
import { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import { type CompiledPart, compilePart, describeProblem, type Escaping, renderPart, type TemplateVariables } from './template-language.js';
import type { TemplateSource } from './templates.js';

type PartName = keyof TemplateSource;

interface PartRule {
  escaping: Escaping;
  required: boolean;
}

/** The parts each channel reads; any other part must be empty. */
export const CHANNEL_PARTS: Partial<Record<Channel, Partial<Record<PartName, PartRule>>>> = {
  [Channel.EMAIL]: { title: { escaping: 'text', required: true }, body: { escaping: 'text', required: true }, html: { escaping: 'html', required: false } },
  [Channel.SMS]: { body: { escaping: 'text', required: true } },
  [Channel.SLACK]: { body: { escaping: 'text', required: true }, slackBlocks: { escaping: 'json', required: false } },
  [Channel.PUSH]: { title: { escaping: 'text', required: true }, body: { escaping: 'text', required: true } },
  [Channel.IN_APP]: { title: { escaping: 'text', required: true }, body: { escaping: 'text', required: true } },
};

/** API field names of the parts, for messages. */
export const PART_FIELDS: Record<PartName, string> = { title: 'title', body: 'body', html: 'html', slackBlocks: 'slack_blocks' };

export const MAX_PART_CHARS = 20_000;

export type CompiledTemplate = Partial<Record<PartName, CompiledPart>>;

export interface Rendered {
  title: string;
  body: string;
  html: string;
  /** Slack blocks as JSON text; '' when the template has none. */
  slackBlocks: string;
}

/** Compiles each part the channel reads; problems are reported per API field ("html: line 3: ..."). */
export function compileTemplate(channel: Channel, source: TemplateSource): { template: CompiledTemplate } | { problems: Array<[string, string]> } {
  const rules = CHANNEL_PARTS[channel];
  const problems: Array<[string, string]> = [];
  if (!rules) return { problems: [['channel', 'must be one of CHANNEL_EMAIL, CHANNEL_SMS, CHANNEL_SLACK, CHANNEL_PUSH, CHANNEL_IN_APP']] };
  const template: CompiledTemplate = {};
  for (const name of Object.keys(PART_FIELDS) as PartName[]) {
    const rule = rules[name];
    const text = source[name];
    const field = PART_FIELDS[name];
    if (!rule) {
      if (text !== '') problems.push([field, 'must be empty on this channel']);
      continue;
    }
    if (text.trim() === '') {
      if (rule.required) problems.push([field, 'is required on this channel']);
      continue;
    }
    if (text.length > MAX_PART_CHARS) {
      problems.push([field, `must be at most ${MAX_PART_CHARS} characters (got ${text.length})`]);
      continue;
    }
    const compiled = compilePart(text, rule.escaping);
    if ('problems' in compiled) for (const problem of compiled.problems) problems.push([field, describeProblem(problem)]);
    else template[name] = compiled.part;
  }
  return problems.length > 0 ? { problems } : { template };
}

/** Renders every part. Throws when a part fails to render or the blocks are not a JSON array. */
export function renderTemplate(template: CompiledTemplate, variables: TemplateVariables): Rendered {
  const part = (name: PartName) => {
    const compiled = template[name];
    return compiled ? renderPart(compiled, variables) : '';
  };
  const slackBlocks = part('slackBlocks');
  if (slackBlocks.trim() !== '') {
    let blocks: unknown;
    try {
      blocks = JSON.parse(slackBlocks);
    } catch (err) {
      throw new Error(`slack_blocks did not render to JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(blocks)) throw new Error('slack_blocks must render to a JSON array of blocks');
  }
  return { title: part('title').trim(), body: part('body').trim(), html: part('html'), slackBlocks: slackBlocks.trim() };
}

/** The locales to try for a recipient's locale, most specific first: "fr-CA" -> fr-CA, fr, default (''). */
export function localeFallback(locale: string): string[] {
  const tried: string[] = [];
  const parts = locale.split('-').filter(Boolean);
  for (let n = parts.length; n > 0; n--) tried.push(parts.slice(0, n).join('-'));
  tried.push('');
  return [...new Set(tried)];
}
