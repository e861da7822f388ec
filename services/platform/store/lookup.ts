// Equality lookups of the embedded store: the first field of an index answers equality (a value, `$eq` or `$in`
// of plain values) from a map of value keys to document ids instead of a scan. A lookup only narrows the
// candidates; every candidate is still checked against the whole filter.
import type { Doc } from './collection.js';
import { getPath } from './query.js';

type ValueKey = string;
/** Documents whose first-field value has no plain key (an object, a nested array): always candidates. */
const UNKEYED = '\u0000unkeyed';

function plainKey(value: unknown): ValueKey | undefined {
  if (value === undefined || value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return `s${value}`;
    case 'number':
      return `n${value}`;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return `n${value}`;
    default:
      return value instanceof Date ? `d${value.getTime()}` : undefined;
  }
}

/** The keys a document is found under for equality on its value at a path. */
function valueKeys(value: unknown): ValueKey[] {
  if (!Array.isArray(value)) return [plainKey(value) ?? UNKEYED];
  const keys = new Set<ValueKey>();
  // Equality with a whole array is never looked up (the filter's array value makes the lookup decline).
  for (const item of value) keys.add(Array.isArray(item) ? UNKEYED : (plainKey(item) ?? UNKEYED));
  return [...keys];
}

/** The value keys an equality condition ($eq, $in or a plain value) asks for; undefined for any other condition. */
export function equalityKeys(condition: unknown): ValueKey[] | undefined {
  let values: unknown[];
  if (condition !== null && typeof condition === 'object' && !(condition instanceof Date)) {
    if (Array.isArray(condition)) return undefined;
    const ops = Object.keys(condition);
    if (ops.length !== 1) return undefined;
    if (ops[0] === '$eq') values = [(condition as { $eq: unknown }).$eq];
    else if (ops[0] === '$in' && Array.isArray((condition as { $in: unknown }).$in)) values = (condition as { $in: unknown[] }).$in;
    else return undefined;
  } else {
    values = [condition];
  }
  const keys: ValueKey[] = [];
  for (const value of values) {
    const key = plainKey(value);
    if (key === undefined) return undefined;
    keys.push(key);
  }
  return keys;
}

/**
 * Equality lookup on one field (the first of an index): value key -> the ids under it (one id as a string, more
 * as a Set). A lookup is built the first time a query asks for equality on its field and maintained from then on,
 * so indexes that serve only sorting, ranges or expiry (createdAt, a TTL field) cost writes nothing.
 */
export class FieldLookup {
  readonly entries = new Map<ValueKey, string | Set<string>>();
  active = false;

  constructor(readonly field: string) {}

  add(doc: Doc): void {
    for (const key of valueKeys(getPath(doc, this.field))) {
      const ids = this.entries.get(key);
      if (ids === undefined) this.entries.set(key, doc._id);
      else if (typeof ids === 'string') {
        if (ids !== doc._id) this.entries.set(key, new Set([ids, doc._id]));
      } else ids.add(doc._id);
    }
  }

  delete(doc: Doc): void {
    for (const key of valueKeys(getPath(doc, this.field))) {
      const ids = this.entries.get(key);
      if (ids === undefined) continue;
      if (typeof ids === 'string') {
        if (ids === doc._id) this.entries.delete(key);
      } else {
        ids.delete(doc._id);
        if (ids.size === 1) this.entries.set(key, ids.values().next().value!);
      }
    }
  }

  private idsOf(key: ValueKey): Iterable<string> & { size?: number } {
    const ids = this.entries.get(key);
    return ids === undefined ? [] : typeof ids === 'string' ? [ids] : ids;
  }

  private countOf(key: ValueKey): number {
    const ids = this.entries.get(key);
    return ids === undefined ? 0 : typeof ids === 'string' ? 1 : ids.size;
  }

  /** How many ids lookup(condition) would return at most, without collecting them; undefined when it cannot serve. */
  estimate(condition: unknown): number | undefined {
    const keys = equalityKeys(condition);
    return keys && keys.reduce((sum, key) => sum + this.countOf(key), this.countOf(UNKEYED));
  }

  /** Ids that may match the filter's condition on the field, or undefined when the condition is not equality. */
  lookup(condition: unknown): string[] | Set<string> | undefined {
    const keys = equalityKeys(condition);
    if (!keys) return undefined;
    const unkeyed = this.entries.get(UNKEYED);
    if (keys.length === 1 && unkeyed === undefined) {
      const ids = this.entries.get(keys[0]);
      return ids === undefined ? [] : typeof ids === 'string' ? [ids] : ids;
    }
    const out = new Set<string>(this.idsOf(UNKEYED));
    for (const key of keys) for (const id of this.idsOf(key)) out.add(id);
    return out;
  }
}
