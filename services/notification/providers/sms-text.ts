// The SMS body: title and body on two lines, whitespace collapsed, cut to a segment budget. Twilio accepts up to
// 1,600 characters but bills and delivers per segment (153 GSM-7 septets or 67 UCS-2 units once a message has more
// than one; 160 / 70 for a single one), and a long concatenated SMS is both costly and poorly read on a phone, so we
// aim at three segments at most and stay under Twilio's hard limit whatever the budget.
import { fitText, normaliseWhitespace } from './text-fit.js';

/** Twilio's maximum Body length. */
export const TWILIO_MAX_BODY = 1600;
export const DEFAULT_MAX_SEGMENTS = 3;

// GSM 03.38 default alphabet (one septet each) and its extension table (escape + char: two septets each).
const GSM7_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM7_EXTENDED = new Set('\f^{}\\[~]|€');

function isGsm7(text: string): boolean {
  for (const char of text) if (!GSM7_BASIC.has(char) && !GSM7_EXTENDED.has(char)) return false;
  return true;
}

function septets(text: string): number {
  let count = 0;
  for (const char of text) count += GSM7_EXTENDED.has(char) ? 2 : 1;
  return count;
}

const ucs2Units = (text: string): number => text.length;

/** How many segments a body takes: GSM-7 when every character has a septet, UCS-2 otherwise. */
export function smsSegments(text: string): { encoding: 'GSM-7' | 'UCS-2'; segments: number } {
  if (isGsm7(text)) {
    const size = septets(text);
    return { encoding: 'GSM-7', segments: size <= 160 ? 1 : Math.ceil(size / 153) };
  }
  const size = ucs2Units(text);
  return { encoding: 'UCS-2', segments: size <= 70 ? 1 : Math.ceil(size / 67) };
}

export function smsText(title: string, body: string, maxSegments = DEFAULT_MAX_SEGMENTS): string {
  const text = [normaliseWhitespace(title), normaliseWhitespace(body)].filter((part) => part !== '').join('\n');
  // The ellipsis is plain GSM-7 so that cutting never switches a GSM-7 message to UCS-2.
  const withinSegments = isGsm7(text)
    ? fitText(text, maxSegments === 1 ? 160 : 153 * maxSegments, septets)
    : fitText(text, maxSegments === 1 ? 70 : 67 * maxSegments, ucs2Units);
  return fitText(withinSegments, TWILIO_MAX_BODY);
}
