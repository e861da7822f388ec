import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { durationFromMs, FieldMaskSchema } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { EscalationSignal } from '../../gen/pulse/common/v1/conversation_pb.js';
import { Severity, SignalWeightSchema } from '../../gen/pulse/common/v1/review_pb.js';
import { ReviewPolicySchema, SlaRuleSchema, UpdateReviewPolicyRequestSchema } from '../../gen/pulse/review/v1/review_service_pb.js';
import { rejectionOf } from '../../test/support/rejection.js';
import { InvalidRequest } from '../platform/validate.js';
import { DEFAULT_POLICY, type Policy } from './policy.js';
import { applyPolicyUpdate } from './policy-update.js';

const current: Policy = structuredClone({ ...DEFAULT_POLICY });

function update(paths: string[], policy: MessageInitShape<typeof ReviewPolicySchema> | undefined) {
  return applyPolicyUpdate(
    current,
    create(UpdateReviewPolicyRequestSchema, {
      policy: policy ? create(ReviewPolicySchema, policy) : undefined,
      updateMask: create(FieldMaskSchema, { paths }),
    }),
  );
}

async function violations(fn: () => unknown): Promise<string[]> {
  const err = await rejectionOf(fn, InvalidRequest);
  return err.violations.map((v) => `${v.field}: ${v.problem}`);
}

describe('applyPolicyUpdate', () => {
  it('changes only the fields the mask names', () => {
    const next = update(['score_threshold', 'cooldown'], { scoreThreshold: -0.3, cooldown: durationFromMs(60_000), topic: 'ignored', trendDrop: 1 });
    expect(next).toEqual({ ...current, scoreThreshold: -0.3, cooldownMs: 60_000 });
  });

  it('replaces lists whole and keeps each signal once', () => {
    const next = update(['case_signals', 'slas'], {
      caseSignals: [EscalationSignal.REFUND, EscalationSignal.LEGAL_THREAT, EscalationSignal.REFUND],
      slas: [create(SlaRuleSchema, { severity: Severity.CRITICAL, openFor: durationFromMs(1_000) })],
    });
    expect(next.caseSignals).toEqual([EscalationSignal.REFUND, EscalationSignal.LEGAL_THREAT]);
    expect(next.slas).toEqual([{ severity: Severity.CRITICAL, openForMs: 1_000 }]);
  });

  it('allows an empty signal list and turning trend detection off', () => {
    expect(update(['case_signals', 'trend_drop'], { caseSignals: [], trendDrop: 0 })).toMatchObject({ caseSignals: [], trendDrop: 0 });
  });

  it('sets per-signal weights, and names a bad or repeated one', async () => {
    const next = update(['signal_weights'], {
      signalWeights: [
        create(SignalWeightSchema, { signal: EscalationSignal.SARCASM, weight: 0.5 }),
        create(SignalWeightSchema, { signal: EscalationSignal.REFUND, weight: 0 }),
      ],
    });
    expect(next.signalWeights).toEqual([
      { signal: EscalationSignal.REFUND, weight: 0 },
      { signal: EscalationSignal.SARCASM, weight: 0.5 },
    ]);
    expect(
      await violations(() =>
        update(['signal_weights'], {
          signalWeights: [
            create(SignalWeightSchema, { signal: EscalationSignal.SARCASM, weight: 1.5 }),
            create(SignalWeightSchema, { signal: EscalationSignal.SARCASM, weight: 0.5 }),
            create(SignalWeightSchema, { signal: 0, weight: 0.5 }),
          ],
        }),
      ),
    ).toEqual([
      'policy.signal_weights[0].weight: must be between 0 and 1 (got 1.5)',
      'policy.signal_weights[1].signal: has a weight already; give each signal one weight',
      'policy.signal_weights[2].signal: is required (one of ESCALATION_SIGNAL_CANCELLATION, ESCALATION_SIGNAL_REFUND, ESCALATION_SIGNAL_LEGAL_THREAT, ESCALATION_SIGNAL_REPEATED_CONTACT, ESCALATION_SIGNAL_ABUSIVE_LANGUAGE, ESCALATION_SIGNAL_HUMAN_REQUEST, ESCALATION_SIGNAL_SHARP_DROP, ESCALATION_SIGNAL_BILLING_DISPUTE, ESCALATION_SIGNAL_SERVICE_FAILURE, ESCALATION_SIGNAL_PUBLIC_THREAT, ESCALATION_SIGNAL_SARCASM, ESCALATION_SIGNAL_PRIVACY_REQUEST, ESCALATION_SIGNAL_SOURING, ESCALATION_SIGNAL_FRUSTRATION)',
    ]);
  });

  it('names an out-of-range threshold as policy.score_threshold', async () => {
    expect(await violations(() => update(['score_threshold'], { scoreThreshold: 1.5 }))).toEqual(['policy.score_threshold: must be between -1 and 1 (got 1.5)']);
    expect((await violations(() => update(['score_threshold'], { scoreThreshold: Number.NaN })))[0]).toMatch(/^policy.score_threshold: /);
  });

  it('names every bad value at once', async () => {
    const problems = await violations(() =>
      update(['trend_drop', 'cooldown', 'topic', 'case_signals', 'slas'], {
        trendDrop: 3,
        cooldown: durationFromMs(8 * 86_400_000),
        topic: 'Not A Topic',
        caseSignals: [EscalationSignal.REFUND, 0, 99 as EscalationSignal],
        slas: [
          create(SlaRuleSchema, { severity: Severity.HIGH, openFor: durationFromMs(500) }),
          create(SlaRuleSchema, { severity: Severity.HIGH, openFor: durationFromMs(60_000) }),
          create(SlaRuleSchema, { severity: Severity.UNSPECIFIED }),
        ],
      }),
    );
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'policy.trend_drop',
      'policy.cooldown',
      'policy.topic',
      'policy.case_signals[1]',
      'policy.case_signals[2]',
      'policy.slas[0].open_for',
      'policy.slas[1].severity',
      'policy.slas[2].severity',
      'policy.slas[2].open_for',
    ]);
  });

  it('requires a mask, and rejects unknown and output-only paths', async () => {
    expect((await violations(() => update([], { scoreThreshold: -0.4 })))[0]).toMatch(/^update_mask: is required/);
    expect(await violations(() => update(['scoreThreshold'], { scoreThreshold: -0.4 }))).toEqual([
      'update_mask: unknown field "scoreThreshold" (updatable: score_threshold, case_signals, trend_drop, cooldown, slas, topic, signal_weights)',
    ]);
    expect(await violations(() => update(['version', 'updated_at'], {}))).toEqual([
      'update_mask: "version" is output only and cannot be set',
      'update_mask: "updated_at" is output only and cannot be set',
    ]);
    expect((await violations(() => update(['slas.open_for'], {})))[0]).toMatch(/unknown field "slas.open_for"/);
  });

  it('requires the policy carrying the values, and a cooldown when the mask names it', async () => {
    expect(await violations(() => update(['topic'], undefined))).toEqual(['policy: is required: it carries the new values']);
    expect(await violations(() => update(['cooldown'], {}))).toEqual(['policy.cooldown: is required (between 0s and 7 days)']);
  });
});
