import { describe, expect, it } from 'vitest';
import { canonicalTimeZone, parseClock, quietUntil } from './quiet-hours.js';

const until = (at: string, start: string, end: string, zone: string) => quietUntil(new Date(at), { start, end }, zone)?.toISOString();

describe('parseClock', () => {
  it('reads HH:MM and refuses anything else', () => {
    expect(parseClock('00:00')).toBe(0);
    expect(parseClock('07:30')).toBe(450);
    expect(parseClock('23:59')).toBe(1439);
    for (const bad of ['24:00', '7:30', '07:60', '0730', '07:30:00', '', ' 07:30']) expect(parseClock(bad)).toBeUndefined();
  });
});

describe('canonicalTimeZone', () => {
  it('accepts IANA names in any case and refuses offsets and unknown zones', () => {
    expect(canonicalTimeZone('Europe/Paris')).toBe('Europe/Paris');
    expect(canonicalTimeZone('europe/paris')).toBe('Europe/Paris');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    for (const bad of ['Mars/Olympus', '+02:00', '-0500', 'Europe/', '', 'Paris Time']) expect(canonicalTimeZone(bad)).toBeUndefined();
  });
});

describe('quietUntil', () => {
  it('is quiet inside a same-day window and ends at its end', () => {
    expect(until('2026-06-10T12:30:00Z', '12:00', '14:00', 'UTC')).toBe('2026-06-10T14:00:00.000Z');
    expect(until('2026-06-10T12:00:00Z', '12:00', '14:00', 'UTC')).toBe('2026-06-10T14:00:00.000Z'); // start inclusive
    expect(until('2026-06-10T14:00:00Z', '12:00', '14:00', 'UTC')).toBeUndefined(); // end exclusive
    expect(until('2026-06-10T11:59:59Z', '12:00', '14:00', 'UTC')).toBeUndefined();
  });

  it('handles a window that crosses midnight, before and after midnight', () => {
    // Paris is UTC+2 in June: 23:30 local on the 10th, the window ends 07:00 local on the 11th.
    expect(until('2026-06-10T21:30:00Z', '22:00', '07:00', 'Europe/Paris')).toBe('2026-06-11T05:00:00.000Z');
    // 03:00 local on the 11th: same end.
    expect(until('2026-06-11T01:00:00Z', '22:00', '07:00', 'Europe/Paris')).toBe('2026-06-11T05:00:00.000Z');
    // 12:00 local: not quiet.
    expect(until('2026-06-11T10:00:00Z', '22:00', '07:00', 'Europe/Paris')).toBeUndefined();
    // The local date, not the UTC date, decides: 01:30 UTC on the 11th is 21:30 on the 10th in New York.
    expect(until('2026-06-11T01:30:00Z', '21:00', '07:00', 'America/New_York')).toBe('2026-06-11T11:00:00.000Z');
  });

  it('means none when start equals end', () => {
    expect(until('2026-06-10T12:30:00Z', '08:00', '08:00', 'UTC')).toBeUndefined();
  });

  describe('across daylight-saving changes', () => {
    it('Europe/Paris spring forward (2026-03-29, 02:00 CET -> 03:00 CEST)', () => {
      // 00:30 CET: the night's window ends at 07:00 CEST = 05:00Z (not 06:00Z as a fixed +1 offset would say).
      expect(until('2026-03-28T23:30:00Z', '22:00', '07:00', 'Europe/Paris')).toBe('2026-03-29T05:00:00.000Z');
      // Started the evening before, still on CET.
      expect(until('2026-03-28T21:30:00Z', '22:00', '07:00', 'Europe/Paris')).toBe('2026-03-29T05:00:00.000Z');
    });

    it('Europe/Paris fall back (2026-10-25, 03:00 CEST -> 02:00 CET)', () => {
      // 23:00 CEST on the 24th: the window ends at 07:00 CET = 06:00Z.
      expect(until('2026-10-24T21:00:00Z', '22:00', '07:00', 'Europe/Paris')).toBe('2026-10-25T06:00:00.000Z');
    });

    it('America/New_York spring forward (2026-03-08, 02:00 EST -> 03:00 EDT)', () => {
      // 23:00 EST on the 7th: ends 07:00 EDT = 11:00Z.
      expect(until('2026-03-08T04:00:00Z', '22:00', '07:00', 'America/New_York')).toBe('2026-03-08T11:00:00.000Z');
    });

    it('America/New_York fall back (2026-11-01, 02:00 EDT -> 01:00 EST)', () => {
      // 23:00 EDT on Oct 31: ends 07:00 EST = 12:00Z.
      expect(until('2026-11-01T03:00:00Z', '22:00', '07:00', 'America/New_York')).toBe('2026-11-01T12:00:00.000Z');
    });

    it('ends a window whose end was skipped at the moment the clocks jump', () => {
      // 01:30 CET; 02:30 never happens on 2026-03-29: the window ends at the jump, 03:00 CEST = 01:00Z.
      expect(until('2026-03-29T00:30:00Z', '01:00', '02:30', 'Europe/Paris')).toBe('2026-03-29T01:00:00.000Z');
      // New York: 01:30 EST, 02:15 is skipped: ends at 03:00 EDT = 07:00Z.
      expect(until('2026-03-08T06:30:00Z', '01:00', '02:15', 'America/New_York')).toBe('2026-03-08T07:00:00.000Z');
    });

    it('treats a window starting in the skipped hour as started once the clocks jump past it', () => {
      // 03:00 CEST = 01:00Z, right after the jump over 02:30.
      expect(until('2026-03-29T01:00:00Z', '02:30', '07:00', 'Europe/Paris')).toBe('2026-03-29T05:00:00.000Z');
      // 01:59 CET: not yet.
      expect(until('2026-03-29T00:59:00Z', '02:30', '07:00', 'Europe/Paris')).toBeUndefined();
    });

    it('ends a window whose end is repeated at the next occurrence still ahead', () => {
      // First pass through 02:15 (CEST, 00:15Z): ends at the first 02:30, 00:30Z.
      expect(until('2026-10-25T00:15:00Z', '01:00', '02:30', 'Europe/Paris')).toBe('2026-10-25T00:30:00.000Z');
      // Second pass through 02:15 (CET, 01:15Z): the first 02:30 is behind, ends at the second, 01:30Z.
      expect(until('2026-10-25T01:15:00Z', '01:00', '02:30', 'Europe/Paris')).toBe('2026-10-25T01:30:00.000Z');
    });
  });
});
