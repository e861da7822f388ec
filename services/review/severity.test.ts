import { describe, expect, it } from 'vitest';
import { EscalationSignal } from '../../gen/pulse/common/v1/conversation_pb.js';
import { Severity } from '../../gen/pulse/common/v1/review_pb.js';
import { DEFAULT_POLICY, type Reasons } from './policy.js';
import { severityOf } from './severity.js';

const { CANCELLATION, REFUND, LEGAL_THREAT, REPEATED_CONTACT, ABUSIVE_LANGUAGE, HUMAN_REQUEST, SHARP_DROP } = EscalationSignal;
const reasons = (r: Partial<Reasons>): Reasons => ({ lowestScore: 0, scoreThreshold: -0.5, trendDropThreshold: 0.6, signals: [], trendDrop: 0, ...r });
const severity = (r: Partial<Reasons>, policy = DEFAULT_POLICY) => Severity[severityOf(reasons(r), policy)];

describe('severityOf', () => {
  it('is LOW for a mildly negative message under a raised threshold', () => {
    expect(severity({ lowestScore: -0.3 })).toBe('LOW');
  });

  it('is MEDIUM for a clearly negative message or one case signal', () => {
    expect(severity({ lowestScore: -0.5 })).toBe('MEDIUM');
    expect(severity({ lowestScore: -0.95 })).toBe('MEDIUM');
    expect(severity({ lowestScore: 0.2, signals: [REFUND] })).toBe('MEDIUM');
  });

  it('is HIGH for a negative message with a signal, two signals, or a sharp drop', () => {
    expect(severity({ lowestScore: -0.6, signals: [CANCELLATION] })).toBe('HIGH');
    expect(severity({ lowestScore: 0, signals: [REFUND, REPEATED_CONTACT] })).toBe('HIGH');
    expect(severity({ lowestScore: -0.2, trendDrop: 0.6 })).toBe('HIGH');
  });

  it('is CRITICAL for a legal threat, abuse, or three signals at once', () => {
    expect(severity({ lowestScore: 0.3, signals: [LEGAL_THREAT] })).toBe('CRITICAL');
    expect(severity({ lowestScore: -0.1, signals: [ABUSIVE_LANGUAGE] })).toBe('CRITICAL');
    expect(severity({ signals: [REFUND, REPEATED_CONTACT, HUMAN_REQUEST] })).toBe('CRITICAL');
  });

  it('counts only the signals the policy acts on', () => {
    const lenient = { ...DEFAULT_POLICY, caseSignals: [REFUND] };
    expect(severity({ signals: [REFUND, LEGAL_THREAT] }, lenient)).toBe('MEDIUM');
    expect(severity({ signals: [SHARP_DROP] })).toBe('LOW');
    expect(severity({ signals: [SHARP_DROP] }, { ...DEFAULT_POLICY, caseSignals: [SHARP_DROP] })).toBe('HIGH');
    expect(severity({ trendDrop: 0.9 }, { ...DEFAULT_POLICY, trendDrop: 0 })).toBe('LOW');
  });
});
