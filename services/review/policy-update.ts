// UpdateReviewPolicy's rules: which fields a mask may name, what values they may take, and the policy that results.
// Plain function: every problem is reported at once, naming the field, and nothing is applied unless all is well.
import type { Duration } from '@bufbuild/protobuf/wkt';
import { durationMs } from '@bufbuild/protobuf/wkt';
import { EscalationSignalSchema } from '../../gen/pulse/common/v1/conversation_pb.js';
import { type Severity, SeveritySchema } from '../../gen/pulse/common/v1/review_pb.js';
import type { UpdateReviewPolicyRequest } from '../../gen/pulse/review/v1/review_service_pb.js';
import { Validator } from '../platform/validate.js';
import type { Policy, SignalWeight, SlaRule } from './policy.js';

const UPDATABLE = ['score_threshold', 'case_signals', 'trend_drop', 'cooldown', 'slas', 'topic', 'signal_weights'] as const;
type UpdatablePath = (typeof UPDATABLE)[number];
const OUTPUT_ONLY = ['version', 'updated_at'];

const SECOND = 1_000;
const DAY = 86_400_000;
const MAX_COOLDOWN_MS = 7 * DAY;
const MIN_SLA_MS = SECOND;
const MAX_SLA_MS = 30 * DAY;

/** A Duration as milliseconds, or undefined (with a violation) when it is missing, malformed or out of range. */
function durationField(v: Validator, field: string, value: Duration | undefined, min: number, max: number, describe: string): number | undefined {
  if (!value) {
    v.add(field, `is required (${describe})`);
    return undefined;
  }
  const { seconds, nanos } = value;
  if (nanos <= -1e9 || nanos >= 1e9 || (seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0)) {
    v.add(field, 'is not a valid duration');
    return undefined;
  }
  const ms = durationMs(value);
  if (ms < min || ms > max) {
    v.add(field, `must be ${describe} (got ${ms / SECOND}s)`);
    return undefined;
  }
  return ms;
}

function isUpdatable(path: string): path is UpdatablePath {
  return (UPDATABLE as readonly string[]).includes(path);
}

/** The policy after the request's change, or InvalidRequest naming every bad path and field. */
export function applyPolicyUpdate(current: Policy, req: UpdateReviewPolicyRequest): Policy {
  const v = new Validator();
  const paths = [...new Set(req.updateMask?.paths ?? [])];
  if (paths.length === 0) v.add('update_mask', `is required: name the fields to change (${UPDATABLE.join(', ')})`);
  for (const path of paths) {
    if (OUTPUT_ONLY.includes(path)) v.add('update_mask', `"${path}" is output only and cannot be set`);
    else if (!isUpdatable(path)) v.add('update_mask', `unknown field "${path}" (updatable: ${UPDATABLE.join(', ')})`);
  }
  const source = req.policy;
  if (!source) {
    if (paths.length > 0) v.add('policy', 'is required: it carries the new values');
    v.check();
    return current;
  }

  const next: Policy = { ...current };
  const p = v.nested('policy');
  for (const path of paths.filter(isUpdatable)) {
    switch (path) {
      case 'score_threshold':
        p.range('score_threshold', source.scoreThreshold, -1, 1);
        next.scoreThreshold = source.scoreThreshold;
        break;
      case 'case_signals':
        source.caseSignals.forEach((signal, i) => p.enumValue(`case_signals[${i}]`, signal, EscalationSignalSchema));
        next.caseSignals = [...new Set(source.caseSignals)].sort((a, b) => a - b);
        break;
      case 'trend_drop':
        p.range('trend_drop', source.trendDrop, 0, 2);
        next.trendDrop = source.trendDrop;
        break;
      case 'cooldown':
        next.cooldownMs = durationField(p, 'cooldown', source.cooldown, 0, MAX_COOLDOWN_MS, 'between 0s and 7 days') ?? current.cooldownMs;
        break;
      case 'slas': {
        const rules: SlaRule[] = [];
        const seen = new Set<Severity>();
        source.slas.forEach((rule, i) => {
          const r = p.nested(`slas[${i}]`);
          r.enumValue('severity', rule.severity, SeveritySchema);
          if (seen.has(rule.severity)) r.add('severity', 'has a rule already; give each severity one rule');
          seen.add(rule.severity);
          const openForMs = durationField(r, 'open_for', rule.openFor, MIN_SLA_MS, MAX_SLA_MS, 'between 1s and 30 days');
          if (openForMs !== undefined) rules.push({ severity: rule.severity, openForMs });
        });
        next.slas = rules;
        break;
      }
      case 'topic':
        p.name('topic', source.topic);
        next.topic = source.topic;
        break;
      case 'signal_weights': {
        const weights: SignalWeight[] = [];
        source.signalWeights.forEach((w, i) => {
          const r = p.nested(`signal_weights[${i}]`);
          r.enumValue('signal', w.signal, EscalationSignalSchema);
          if (weights.some((known) => known.signal === w.signal)) r.add('signal', 'has a weight already; give each signal one weight');
          r.range('weight', w.weight, 0, 1);
          weights.push({ signal: w.signal, weight: w.weight });
        });
        next.signalWeights = weights.sort((a, b) => a.signal - b.signal);
        break;
      }
    }
  }
  v.check();
  return next;
}
