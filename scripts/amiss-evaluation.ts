// The amiss evaluation: runs every item of eval/amiss/messages.jsonl through what the mesh does to a customer's
// messages (language, sentiment, signals, the conversation's mood and signals, the review policy's verdict) and
// counts, against the labels, the cases a lead would want that open (recall) and the cases that open that a lead
// would want (precision). A conversation item is amiss when any of its messages would open a case.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Author, EscalationSignal, Trend } from '../gen/pulse/common/v1/conversation_pb.js';
import { vaderAnalyzer } from '../services/sentiment/analyzer.js';
import { addMessage, drop, EMPTY_CONVERSATION, trend } from '../services/sentiment/conversation.js';
import { findSignals } from '../services/sentiment/signals.js';
import { assess, DEFAULT_POLICY, type Policy } from '../services/review/policy.js';

export const SET_PATH = join(import.meta.dirname, '../eval/amiss/messages.jsonl');

export type Split = 'tuning' | 'held-out';

export interface Item {
  id: string;
  language: string;
  category: string;
  label: 'amiss' | 'fine';
  split: Split;
  /** One message, or a conversation's customer messages in order. */
  text?: string;
  messages?: string[];
}

export interface Verdict {
  item: Item;
  flagged: boolean;
  /** Why, when flagged: "REFUND 'money back' (msg 1)", "score -0.72", ... */
  why: string[];
  /** The language detected for each message. */
  detected: string[];
}

export function readSet(path = SET_PATH): Item[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Item);
}

const analyzer = vaderAnalyzer();

export async function judge(item: Item, policy: Policy = DEFAULT_POLICY): Promise<Verdict> {
  const texts = item.messages ?? [item.text ?? ''];
  let state = EMPTY_CONVERSATION;
  const why: string[] = [];
  const detected: string[] = [];
  for (const [i, text] of texts.entries()) {
    const scores = await analyzer.score(text);
    detected.push(scores.language);
    const matches = findSignals(text, scores.language);
    const added = addMessage(state, {
      messageId: `${item.id}/${i}`,
      author: Author.CUSTOMER,
      ...scores,
      signals: matches.map((m) => m.signal),
      occurredAt: new Date(i * 60_000),
    });
    state = added.state;
    const trendKnown = trend(state.mood) !== Trend.NEW;
    const reasons = assess({ compound: scores.compound, signals: added.message.signals, drop: drop(state.mood), trendKnown }, policy);
    if (!reasons) continue;
    const at = texts.length > 1 ? ` (msg ${i + 1})` : '';
    for (const signal of added.message.signals) {
      const m = matches.find((x) => x.signal === signal);
      why.push(`${EscalationSignal[signal]}${m ? ` '${text.slice(m.start, m.end)}'` : ''}${at}`);
    }
    if (scores.compound <= policy.scoreThreshold) why.push(`score ${scores.compound.toFixed(2)}${at}`);
  }
  return { item, flagged: why.length > 0, why, detected };
}

export interface Counts {
  items: number;
  amiss: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
}

export interface Figures extends Counts {
  recall: number;
  precision: number;
  f1: number;
}

export function figures(verdicts: readonly Verdict[]): Figures {
  const c: Counts = { items: verdicts.length, amiss: 0, truePositives: 0, falsePositives: 0, falseNegatives: 0 };
  for (const v of verdicts) {
    const amiss = v.item.label === 'amiss';
    if (amiss) c.amiss++;
    if (amiss && v.flagged) c.truePositives++;
    if (!amiss && v.flagged) c.falsePositives++;
    if (amiss && !v.flagged) c.falseNegatives++;
  }
  const recall = c.amiss === 0 ? 1 : c.truePositives / c.amiss;
  const flagged = c.truePositives + c.falsePositives;
  const precision = flagged === 0 ? 1 : c.truePositives / flagged;
  const f1 = recall + precision === 0 ? 0 : (2 * recall * precision) / (recall + precision);
  return { ...c, recall, precision, f1 };
}

export function groupBy<K extends string>(verdicts: readonly Verdict[], key: (v: Verdict) => K): Map<K, Verdict[]> {
  const groups = new Map<K, Verdict[]>();
  for (const v of verdicts) groups.set(key(v), [...(groups.get(key(v)) ?? []), v]);
  return new Map([...groups.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** The issue's targets: overall, and recall in every language. */
export const TARGETS = { recall: 0.9, precision: 0.85, languageRecall: 0.8 };
