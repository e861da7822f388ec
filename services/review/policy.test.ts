import { describe, expect, it } from 'vitest';
import { EscalationSignal } from '../../gen/pulse/common/v1/conversation_pb.js';
import { type AnalysisFacts, assess, DEFAULT_POLICY, mergeReasons, type Policy, summarize } from './policy.js';

const { CANCELLATION, REFUND, LEGAL_THREAT, REPEATED_CONTACT, HUMAN_REQUEST, SHARP_DROP, SARCASM, FRUSTRATION } = EscalationSignal;
const policy: Policy = structuredClone({ ...DEFAULT_POLICY });
const facts = (f: Partial<AnalysisFacts>): AnalysisFacts => ({ compound: 0, signals: [], drop: 0, trendKnown: true, ...f });

describe('assess', () => {
  it('lets a calm or merely unhappy message through', () => {
    expect(assess(facts({ compound: 0.6 }), policy)).toBeNull();
    expect(assess(facts({ compound: -0.49 }), policy)).toBeNull();
    expect(assess(facts({ compound: -0.3, drop: 0.59 }), policy)).toBeNull();
  });

  it('finds a message at or below the score threshold amiss', () => {
    const reasons = assess(facts({ compound: -0.5 }), policy);
    expect(reasons).toEqual({ lowestScore: -0.5, scoreThreshold: -0.5, trendDropThreshold: 0.6, signals: [], trendDrop: 0, evidence: [] });
  });

  it('finds a polite message with a case signal amiss, whatever its score', () => {
    const reasons = assess(facts({ compound: 0.1, signals: [REPEATED_CONTACT, REFUND] }), policy);
    expect(reasons?.signals).toEqual([REFUND, REPEATED_CONTACT]);
    expect(reasons?.lowestScore).toBe(0.1);
  });

  it('ignores signals the policy does not act on', () => {
    expect(assess(facts({ signals: [SHARP_DROP] }), policy)).toBeNull();
    expect(assess(facts({ signals: [REFUND] }), { ...policy, caseSignals: [LEGAL_THREAT] })).toBeNull();
  });

  it('finds a conversation that fell trend_drop below its baseline amiss, once the baseline exists', () => {
    expect(assess(facts({ compound: -0.2, drop: 0.6 }), policy)?.trendDrop).toBe(0.6);
    expect(assess(facts({ compound: -0.2, drop: 0.9, trendKnown: false }), policy)).toBeNull();
    expect(assess(facts({ compound: -0.2, drop: 0.9 }), { ...policy, trendDrop: 0 })).toBeNull();
  });

  it('adds up the weights of the case signals: a signal weighed below 1 needs company', () => {
    const halfSarcasm: Policy = { ...policy, signalWeights: [{ signal: SARCASM, weight: 0.5 }] };
    expect(assess(facts({ signals: [SARCASM] }), policy)).not.toBeNull();
    expect(assess(facts({ signals: [SARCASM] }), halfSarcasm)).toBeNull();
    expect(assess(facts({ signals: [SARCASM, REFUND] }), halfSarcasm)).not.toBeNull();
    expect(assess(facts({ signals: [REFUND] }), { ...policy, signalWeights: [{ signal: REFUND, weight: 0 }] })).toBeNull();
    // Not a case signal: no weight makes it count.
    expect(assess(facts({ signals: [FRUSTRATION] }), { ...policy, signalWeights: [{ signal: FRUSTRATION, weight: 1 }] })).toBeNull();
  });

  it('keeps the words behind the signals', () => {
    const evidence = [{ signal: REFUND, text: 'refund', start: 7, end: 13, messageId: 'm-1' }];
    expect(assess(facts({ signals: [REFUND], evidence }), policy)?.evidence).toEqual(evidence);
  });

  it('follows a changed threshold', () => {
    expect(assess(facts({ compound: -0.3 }), { ...policy, scoreThreshold: -0.2 })).not.toBeNull();
    expect(assess(facts({ compound: -0.7 }), { ...policy, scoreThreshold: -0.8 })).toBeNull();
  });
});

describe('mergeReasons', () => {
  it('keeps the lowest score, every signal once and the largest drop, under the opening thresholds', () => {
    const opened = assess(facts({ compound: -0.6, signals: [REFUND] }), policy)!;
    const later = assess(facts({ compound: -0.2, signals: [CANCELLATION, REFUND], drop: 0.7 }), { ...policy, scoreThreshold: -0.1 })!;
    expect(mergeReasons(opened, later)).toEqual({
      lowestScore: -0.6,
      scoreThreshold: -0.5,
      trendDropThreshold: 0.6,
      signals: [CANCELLATION, REFUND],
      trendDrop: 0.7,
      evidence: [],
    });
  });
});

describe('summarize', () => {
  it('names each criterion that fired, with its numbers', () => {
    expect(summarize({ lowestScore: -0.82, scoreThreshold: -0.5, trendDropThreshold: 0.6, signals: [CANCELLATION, REFUND], trendDrop: 0.2 })).toBe(
      'score -0.82 <= -0.50; signals: cancellation, refund',
    );
    expect(summarize({ lowestScore: 0.1, scoreThreshold: -0.5, trendDropThreshold: 0.6, signals: [HUMAN_REQUEST], trendDrop: 0.75 })).toBe(
      'signals: human request; drop 0.75 >= 0.60',
    );
  });
});
