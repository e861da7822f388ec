// Page tokens of ListDeadLetters: the position after the last dead letter of a page, opaque to callers.
import type { Validator } from '../platform/validate.js';
import type { Cursor } from './dead-letters.js';

export function encodePageToken(cursor: Cursor): string {
  return Buffer.from(JSON.stringify({ t: cursor.failedAt.getTime(), i: cursor.id })).toString('base64url');
}

export function decodePageToken(v: Validator, token: string): Cursor | undefined {
  if (token === '') return undefined;
  try {
    const { t, i } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { t: unknown; i: unknown };
    if (typeof t === 'number' && Number.isFinite(t) && typeof i === 'string' && i !== '') return { failedAt: new Date(t), id: i };
  } catch {
    // reported below
  }
  v.add('page_token', 'is not a next_page_token of this list');
  return undefined;
}
