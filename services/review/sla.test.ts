import { describe, expect, it } from 'vitest';
import { Severity } from '../../gen/pulse/common/v1/review_pb.js';
import { DEFAULT_POLICY } from './policy.js';
import { DEFAULT_SLA_MS, nextReminderDue, slaDueAt, slaFor, tightenedDue } from './sla.js';

const MIN = 60_000;
const at = (iso: string) => new Date(iso);

describe('SLA due times', () => {
  it('gives each severity its SLA and the rest four hours', () => {
    expect(slaFor(Severity.CRITICAL, DEFAULT_POLICY)).toBe(15 * MIN);
    expect(slaFor(Severity.HIGH, DEFAULT_POLICY)).toBe(60 * MIN);
    expect(slaFor(Severity.MEDIUM, DEFAULT_POLICY)).toBe(240 * MIN);
    expect(slaFor(Severity.LOW, DEFAULT_POLICY)).toBe(24 * 60 * MIN);
    expect(slaFor(Severity.LOW, { slas: [{ severity: Severity.CRITICAL, openForMs: 1_000 }] })).toBe(DEFAULT_SLA_MS);
  });

  it('counts the SLA from when the case starts waiting', () => {
    expect(slaDueAt(at('2025-01-01T10:00:00Z'), Severity.CRITICAL, DEFAULT_POLICY)).toEqual(at('2025-01-01T10:15:00Z'));
  });

  it('brings the due time forward when a case becomes more severe, never back', () => {
    const opened = at('2025-01-01T10:00:00Z');
    const mediumDue = at('2025-01-01T14:00:00Z');
    expect(tightenedDue(mediumDue, opened, Severity.CRITICAL, DEFAULT_POLICY)).toEqual(at('2025-01-01T10:15:00Z'));
    expect(tightenedDue(at('2025-01-01T10:05:00Z'), opened, Severity.HIGH, DEFAULT_POLICY)).toEqual(at('2025-01-01T10:05:00Z'));
  });

  it('moves the due time on by one SLA after a reminder, or one SLA from now after an outage', () => {
    const due = at('2025-01-01T10:15:00Z');
    expect(nextReminderDue(due, at('2025-01-01T10:15:30Z'), 15 * MIN)).toEqual(at('2025-01-01T10:30:00Z'));
    expect(nextReminderDue(due, at('2025-01-01T13:00:00Z'), 15 * MIN)).toEqual(at('2025-01-01T13:15:00Z'));
  });
});
