// The review policy and the decision it makes: is this customer message amiss, and why. Plain functions, no I/O.
//
// A message is amiss when any of these holds: its compound score is at or below the threshold; the weights of the
// policy's case signals it carries add up to 1 (each counts 1 unless signal_weights says otherwise, so one refund
// demand is amiss whatever its score); or the conversation's rolling score fell at least trend_drop below its own
// baseline (a slow souring that no single message shows).
import { EscalationSignal } from '../../gen/pulse/common/v1/conversation_pb.js';
import { Severity } from '../../gen/pulse/common/v1/review_pb.js';

export interface SlaRule {
  severity: Severity;
  openForMs: number;
}

export interface SignalWeight {
  signal: EscalationSignal;
  /** 0..1 */
  weight: number;
}

/** The words behind a signal, in the message they come from (UTF-16 offsets into its text). */
export interface Evidence {
  signal: EscalationSignal;
  text: string;
  start: number;
  end: number;
  messageId: string;
}

/** A case keeps at most this much evidence: the first of each signal per message. */
export const MAX_EVIDENCE = 50;

/** What a case signal counts when signal_weights does not name it. */
export const DEFAULT_SIGNAL_WEIGHT = 1;

export interface Policy {
  scoreThreshold: number;
  caseSignals: EscalationSignal[];
  /** 0 turns trend detection off. */
  trendDrop: number;
  cooldownMs: number;
  slas: SlaRule[];
  topic: string;
  /** Per-signal weights; a case signal not named counts DEFAULT_SIGNAL_WEIGHT. */
  signalWeights: SignalWeight[];
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
    EscalationSignal.BILLING_DISPUTE,
    EscalationSignal.SERVICE_FAILURE,
    EscalationSignal.PUBLIC_THREAT,
    EscalationSignal.SARCASM,
    EscalationSignal.PRIVACY_REQUEST,
    EscalationSignal.SOURING,
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
  signalWeights: [],
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
  /** The words behind the signals, when the analysis carried them. */
  evidence?: readonly Evidence[];
}

/** Why a case opened, gathered over the messages it holds. */
export interface Reasons {
  lowestScore: number;
  scoreThreshold: number;
  trendDropThreshold: number;
  signals: EscalationSignal[];
  trendDrop: number;
  /** Absent on cases opened before evidence was kept. */
  evidence?: Evidence[];
}

/** What a signal counts towards opening a case under the policy: 0 unless it is a case signal. */
export function signalWeight(signal: EscalationSignal, policy: Pick<Policy, 'caseSignals' | 'signalWeights'>): number {
  if (!policy.caseSignals.includes(signal)) return 0;
  return (policy.signalWeights ?? []).find((w) => w.signal === signal)?.weight ?? DEFAULT_SIGNAL_WEIGHT;
}

/** The policy's verdict on an amiss message. */
export function assess(facts: AnalysisFacts, policy: Policy): Reasons | null {
  const drop = facts.trendKnown ? Math.max(0, facts.drop) : 0;
  const byScore = facts.compound <= policy.scoreThreshold;
  const bySignal = uniqueSorted(facts.signals).reduce((sum, s) => sum + signalWeight(s, policy), 0) >= 1;
  const byTrend = policy.trendDrop > 0 && drop >= policy.trendDrop;
  if (!byScore && !bySignal && !byTrend) return null;
  return {
    lowestScore: facts.compound,
    scoreThreshold: policy.scoreThreshold,
    trendDropThreshold: policy.trendDrop,
    signals: uniqueSorted(facts.signals),
    trendDrop: drop,
    evidence: (facts.evidence ?? []).slice(0, MAX_EVIDENCE),
  };
}

/** A case's reasons after it gathers another amiss message; the thresholds stay those it opened under. */
export function mergeReasons(current: Reasons, added: Reasons): Reasons {
  return {
    ...current,
    lowestScore: Math.min(current.lowestScore, added.lowestScore),
    signals: uniqueSorted([...current.signals, ...added.signals]),
    trendDrop: Math.max(current.trendDrop, added.trendDrop),
    evidence: [...(current.evidence ?? []), ...(added.evidence ?? [])].slice(0, MAX_EVIDENCE),
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
