import { describe, expect, it } from 'vitest';
import { smsSegments, smsText, TWILIO_MAX_BODY } from './sms-text.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('SMS text', () => {
  it('puts the title and the body on two lines with whitespace collapsed', () => {
    expect(smsText('  Refund\tthreat ', 'Customer   said:\n\n"cancel"  ')).toBe('Refund threat\nCustomer said: "cancel"');
    expect(smsText('Only a title', '   ')).toBe('Only a title');
  });

  it('keeps a short message whole, in one GSM-7 segment', () => {
    const text = smsText('Review', 'Short body.');
    expect(text).toBe('Review\nShort body.');
    expect(smsSegments(text)).toEqual({ encoding: 'GSM-7', segments: 1 });
  });

  it('cuts a long GSM-7 message to three segments (3 x 153 septets), ending with a GSM-7 ellipsis', () => {
    const text = smsText('Title', 'word '.repeat(400));
    expect(text.endsWith('...')).toBe(true);
    expect(text.length).toBeLessThanOrEqual(459);
    expect(text.length).toBeGreaterThan(450);
    expect(smsSegments(text)).toEqual({ encoding: 'GSM-7', segments: 3 });
  });

  it('counts GSM-7 extension characters as two septets', () => {
    const text = smsText('€', '€'.repeat(400));
    expect(smsSegments(text)).toEqual({ encoding: 'GSM-7', segments: 3 });
    expect(text.length).toBeLessThanOrEqual(459 / 2 + 3);
  });

  it('cuts a UCS-2 message to three segments (3 x 67 units) without splitting a surrogate pair or an emoji sequence', () => {
    const family = '👨‍👩‍👧';
    const text = smsText('Отзыв 😀', `${'😀'.repeat(60)}${family.repeat(40)}`);
    expect(text.length).toBeLessThanOrEqual(201);
    expect(smsSegments(text)).toEqual({ encoding: 'UCS-2', segments: 3 });
    expect(text).not.toMatch(LONE_SURROGATE);
    const beforeEllipsis = text.slice(0, -3);
    expect(beforeEllipsis.endsWith(family) || beforeEllipsis.endsWith('😀')).toBe(true);
  });

  it("never exceeds Twilio's 1,600 characters, whatever the segment budget", () => {
    const text = smsText('Title', 'x'.repeat(5000), 20);
    expect(text.length).toBe(TWILIO_MAX_BODY);
  });
});
