// Page tokens of every list RPC. A token carries where the last page ended (the sort-key values of its last item)
// and a short hash of what it was issued for (the request's filters), so a token replayed under other filters is
// refused rather than silently continuing a different list. Opaque to callers: base64url of a small JSON body.
import { createHash } from 'node:crypto';
import { InvalidRequest } from './validate.js';

const VERSION = 1;

interface TokenBody {
  v: typeof VERSION;
  /** Hash of the binding the token was issued under. */
  b: string;
  /** The position: sort-key values of the last item, Dates as { d: epoch ms }. */
  p: unknown[];
}

/** JSON with object keys in a fixed order and Dates spelled out, so equal bindings hash equally. */
function canonicalJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify({ $date: value.getTime() });
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (value instanceof Uint8Array) return JSON.stringify({ $bytes: Buffer.from(value).toString('base64') });
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

function bindingHash(binding: unknown): string {
  return createHash('sha256').update(canonicalJson(binding)).digest('base64url').slice(0, 16);
}

function encodeValue(value: unknown): unknown {
  return value instanceof Date ? { d: value.getTime() } : value;
}

/** The value a token holds, or undefined when it is not one a token can hold. */
function decodeValue(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'object' && !Array.isArray(value)) {
    const { d } = value as { d?: unknown };
    if (Object.keys(value).length === 1 && typeof d === 'number' && Number.isFinite(d)) return new Date(d);
  }
  return undefined;
}

function refuse(problem: string): InvalidRequest {
  return new InvalidRequest([{ field: 'page_token', problem }]);
}

/** The error for a token this list did not issue. */
export function foreignPageToken(): InvalidRequest {
  return refuse('is not a next_page_token of this list');
}

export function encodePageToken(binding: unknown, position: unknown[]): string {
  const body: TokenBody = { v: VERSION, b: bindingHash(binding), p: position.map(encodeValue) };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

/** The position a token holds. Throws invalid_argument naming page_token for a token not issued under binding. */
export function decodePageToken(token: string, binding: unknown): unknown[] {
  let body: Partial<TokenBody> | null;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<TokenBody> | null;
  } catch {
    body = null;
  }
  const position = Array.isArray(body?.p) ? body.p.map(decodeValue) : [];
  if (!body || body.v !== VERSION || typeof body.b !== 'string' || position.length === 0 || position.includes(undefined)) {
    throw foreignPageToken();
  }
  if (body.b !== bindingHash(binding)) {
    throw refuse('was issued for other filters; keep every filter the same while paging, or start again without a page_token');
  }
  return position;
}
