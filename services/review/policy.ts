// The review policy and the decision it makes: is this customer message amiss, and why. Plain functions, no I/O.
//
// A message is amiss when any of these holds: its compound score is at or below the threshold; it carries one of
// the policy's case signals (a polite refund demand is amiss whatever its score); or the conversation's rolling
// score fell at least trend_drop below its own baseline (a slow souring that no single message shows).
import { EscalationSignal } from '../../gen/pulse/common/v1/conversation_pb.js';
import { Severity } from '../../gen/pulse/common/v1/review_pb.js';

export interface SlaRule {
  severity: Severity;
  openForMs: number;
}

export interface Policy {
  scoreThreshold: number;
  caseSignals: EscalationSignal[];
  /** 0 turns trend detection off. */
  trendDrop: number;
  cooldownMs: number;
  slas: SlaRule[];
  topic: string;
  /** 0 for the built-in default, which was never stored. */
  version: number;
  updatedAt: Date | null;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze({
  scoreThreshold: -0.5,
  caseSignals: [
    EscalationSignal.CANCELLATION,
    EscalationSignal.REFUND,
    EscalationSignal.LEGAL_THREAT,
    EscalationSignal.REPEATED_CONTACT,
    EscalationSignal.ABUSIVE_LANGUAGE,
    EscalationSignal.HUMAN_REQUEST,
  ],
  trendDrop: 0.6,
  cooldownMs: 30 * MINUTE,
  slas: [
    { severity: Severity.CRITICAL, openForMs: 15 * MINUTE },
    { severity: Severity.HIGH, openForMs: HOUR },
    { severity: Severity.MEDIUM, openForMs: 4 * HOUR },
    { severity: Severity.LOW, openForMs: 24 * HOUR },
  ],
  topic: 'review',
  version: 0,
  updatedAt: null,
});

/** What the review service knows of an analysed customer message. */
export interface AnalysisFacts {
  compound: number;
  signals: readonly EscalationSignal[];
  /** The conversation's baseline minus its rolling score; positive when it got worse. */
  drop: number;
  /** False while the conversation is too new to have a baseline (trend NEW): its drop means nothing yet. */
  trendKnown: boolean;
}

/** Why a case opened, gathered over the messages it holds. */
export interface Reasons {
  lowestScore: number;
  scoreThreshold: number;
  trendDropThreshold: number;
  signals: EscalationSignal[];
  trendDrop: number;
}

/** The policy's verdict on an amiss message. */
export function assess(facts: AnalysisFacts, policy: Policy): Reasons | null {
  const drop = facts.trendKnown ? Math.max(0, facts.drop) : 0;
  const byScore = facts.compound <= policy.scoreThreshold;
  const bySignal = facts.signals.some((s) => policy.caseSignals.includes(s));
  const byTrend = policy.trendDrop > 0 && drop >= policy.trendDrop;
  if (!byScore && !bySignal && !byTrend) return null;
  return {
    lowestScore: facts.compound,
    scoreThreshold: policy.scoreThreshold,
    trendDropThreshold: policy.trendDrop,
    signals: uniqueSorted(facts.signals),
    trendDrop: drop,
  };
}

/** A case's reasons after it gathers another amiss message; the thresholds stay those it opened under. */
export function mergeReasons(current: Reasons, added: Reasons): Reasons {
  return {
    ...current,
    lowestScore: Math.min(current.lowestScore, added.lowestScore),
    signals: uniqueSorted([...current.signals, ...added.signals]),
    trendDrop: Math.max(current.trendDrop, added.trendDrop),
  };
}

/** One line for people and notifications: which criteria fired, with the numbers. Never message text. */
export function summarize(reasons: Reasons): string {
  const parts: string[] = [];
  if (reasons.lowestScore <= reasons.scoreThreshold) parts.push(`score ${fixed(reasons.lowestScore)} <= ${fixed(reasons.scoreThreshold)}`);
  if (reasons.signals.length > 0) parts.push(`signals: ${reasons.signals.map(signalName).join(', ')}`);
  if (reasons.trendDropThreshold > 0 && reasons.trendDrop >= reasons.trendDropThreshold) {
    parts.push(`drop ${fixed(reasons.trendDrop)} >= ${fixed(reasons.trendDropThreshold)}`);
  }
  return parts.length > 0 ? parts.join('; ') : `score ${fixed(reasons.lowestScore)}`;
}

export function signalName(signal: EscalationSignal): string {
  return (EscalationSignal[signal] ?? String(signal)).toLowerCase().replace(/_/g, ' ');
}

function fixed(value: number): string {
  return value.toFixed(2);
}

function uniqueSorted(signals: readonly EscalationSignal[]): EscalationSignal[] {
  return [...new Set(signals)].filter((s) => s !== EscalationSignal.UNSPECIFIED).sort((a, b) => a - b);
}
