// How bad a case is, from its reasons: the ladder documented on pulse.common.v1.Severity. Plain function, no I/O.
//   CRITICAL  a legal threat or abuse, or three or more case signals at once
//   HIGH      two case signals, one with a clearly negative score, or a sharp drop of the conversation
//   MEDIUM    one case signal, or a clearly negative score
//   LOW       anything else the policy finds amiss (a threshold raised above -0.5 catches mildly negative text)
// Only the policy's case signals count: a signal the policy does not act on does not make a case worse.
import { EscalationSignal } from '../../gen/pulse/common/v1/conversation_pb.js';
import { Severity } from '../../gen/pulse/common/v1/review_pb.js';
import type { Policy, Reasons } from './policy.js';

/** VADER's compound at or below this reads as clearly negative to people. */
export const CLEARLY_NEGATIVE = -0.5;

const CRITICAL_SIGNALS = new Set([EscalationSignal.LEGAL_THREAT, EscalationSignal.ABUSIVE_LANGUAGE]);

export function severityOf(reasons: Reasons, policy: Pick<Policy, 'caseSignals' | 'trendDrop'>): Severity {
  const counted = reasons.signals.filter((s) => policy.caseSignals.includes(s) && s !== EscalationSignal.SHARP_DROP);
  const dropped =
    (policy.trendDrop > 0 && reasons.trendDrop >= policy.trendDrop) ||
    (reasons.signals.includes(EscalationSignal.SHARP_DROP) && policy.caseSignals.includes(EscalationSignal.SHARP_DROP));
  const clearlyNegative = reasons.lowestScore <= CLEARLY_NEGATIVE;
  if (counted.some((s) => CRITICAL_SIGNALS.has(s)) || counted.length >= 3) return Severity.CRITICAL;
  if (counted.length >= 2 || (counted.length === 1 && clearlyNegative) || dropped) return Severity.HIGH;
  if (counted.length === 1 || clearlyNegative) return Severity.MEDIUM;
  return Severity.LOW;
}
