// MongoDB query and update semantics for plain objects: the in-memory store's engine. Pure functions, no I/O.
import type { Condition, Filter, SortSpec, Update } from './collection.js';

type Obj = Record<string, unknown>;

/**
 * A deep copy of a document or value, as structuredClone makes it, for the data documents hold (plain objects,
 * arrays, Dates, byte arrays, primitives) without going through the structured-clone serializer, which costs
 * several times more; anything else (a Map, a class instance) is left to structuredClone.
 */
export function cloneValue<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = cloneValue(value[i]);
    return out as T;
  }
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (value instanceof Uint8Array) return new Uint8Array(value) as T;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Obj = {};
  for (const key of Object.keys(value)) out[key] = cloneValue((value as Obj)[key]);
  return out as T;
}

export function getPath(doc: unknown, path: string): unknown {
  let value: unknown = doc;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Obj)[part];
  }
  return value;
}

function setPath(doc: Obj, path: string, value: unknown): void {
  const parts = path.split('.');
  let target = doc;
  for (const part of parts.slice(0, -1)) {
    if (target[part] === null || typeof target[part] !== 'object') target[part] = {};
    target = target[part] as Obj;
  }
  target[parts[parts.length - 1]] = value;
}

/**
 * The object that holds the last part of path in doc, for writing: every object on the way is replaced in its
 * parent by a shallow copy first (created when missing), so what the update changes is new and what it leaves
 * alone is shared with the version it started from, which is never written to.
 */
function ownParent(doc: Obj, parts: readonly string[], owned: Set<object>, create: boolean): Obj | undefined {
  let target = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const child = target[parts[i]];
    let next: Obj;
    if (child === null || typeof child !== 'object') {
      if (!create) return undefined;
      next = {};
    } else if (owned.has(child)) {
      next = child as Obj;
    } else {
      next = (Array.isArray(child) ? [...child] : { ...child }) as Obj;
    }
    owned.add(next);
    target[parts[i]] = next;
    target = next;
  }
  return target;
}

/** Order of BSON types when values of different types are compared (a subset of MongoDB's). */
function typeRank(value: unknown): number {
  if (value === undefined || value === null) return 1;
  if (typeof value === 'number') return 2;
  if (typeof value === 'string') return 3;
  if (value instanceof Uint8Array) return 6;
  if (Array.isArray(value)) return 5;
  if (typeof value === 'object' && !(value instanceof Date)) return 4;
  if (typeof value === 'boolean') return 8;
  if (value instanceof Date) return 9;
  return 10;
}

export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return valuesEqual(a, b) ? 0 : JSON.stringify(a) < JSON.stringify(b) ? -1 : 1;
}

export function valuesEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((a === undefined || a === null) && (b === undefined || b === null)) return true;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => valuesEqual(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !(a instanceof Date) && !(b instanceof Date)) {
    const ka = Object.keys(a as Obj);
    const kb = Object.keys(b as Obj);
    return ka.length === kb.length && ka.every((k) => valuesEqual((a as Obj)[k], (b as Obj)[k]));
  }
  return false;
}

function isCondition(value: unknown): value is Condition {
  if (value === null || typeof value !== 'object' || value instanceof Date || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

/** Equality as MongoDB means it: an array field matches when it equals the value or contains it. */
function matchesEquality(actual: unknown, expected: unknown): boolean {
  if (valuesEqual(actual, expected)) return true;
  return Array.isArray(actual) && !Array.isArray(expected) && actual.some((item) => valuesEqual(item, expected));
}

function matchesRange(actual: unknown, test: (cmp: number) => boolean, bound: unknown): boolean {
  const candidates = Array.isArray(actual) ? actual : [actual];
  return candidates.some(
    (value) => value !== undefined && value !== null && typeRank(value) === typeRank(bound) && test(compareValues(value, bound)),
  );
}

function matchesCondition(actual: unknown, condition: Condition): boolean {
  for (const [op, operand] of Object.entries(condition)) {
    const ok = (() => {
      switch (op) {
        case '$eq':
          return matchesEquality(actual, operand);
        case '$ne':
          return !matchesEquality(actual, operand);
        case '$gt':
          return matchesRange(actual, (c) => c > 0, operand);
        case '$gte':
          return matchesRange(actual, (c) => c >= 0, operand);
        case '$lt':
          return matchesRange(actual, (c) => c < 0, operand);
        case '$lte':
          return matchesRange(actual, (c) => c <= 0, operand);
        case '$in':
          return (operand as unknown[]).some((v) => matchesEquality(actual, v));
        case '$nin':
          return !(operand as unknown[]).some((v) => matchesEquality(actual, v));
        case '$exists':
          return (actual !== undefined) === operand;
        default:
          throw new Error(`query operator ${op} is not supported by the memory store`);
      }
    })();
    if (!ok) return false;
  }
  return true;
}

export function matches(doc: unknown, filter: Filter): boolean {
  return matcher(filter)(doc);
}

/** One test of a document: a field's value against a condition or a value, or $or / $and of filters. */
type Test = (doc: unknown) => boolean;

/** The filter as one function, its parts sorted out once: what a query runs against each candidate. */
export function matcher(filter: Filter): Test {
  const tests: Test[] = [];
  for (const [key, expected] of Object.entries(filter)) {
    if (key === '$or') {
      const any = (expected as Filter[]).map(matcher);
      tests.push((doc) => any.some((test) => test(doc)));
    } else if (key === '$and') {
      const all = (expected as Filter[]).map(matcher);
      tests.push((doc) => all.every((test) => test(doc)));
    } else {
      const path = key.includes('.') ? key.split('.') : undefined;
      const value = path ? (doc: unknown) => getParts(doc, path) : (doc: unknown) => (doc as Obj)[key];
      if (isCondition(expected)) tests.push((doc) => matchesCondition(value(doc), expected));
      else tests.push((doc) => matchesEquality(value(doc), expected));
    }
  }
  if (tests.length === 1) return tests[0];
  return (doc) => {
    for (const test of tests) if (!test(doc)) return false;
    return true;
  };
}

function getParts(doc: unknown, parts: readonly string[]): unknown {
  let value: unknown = doc;
  for (const part of parts) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Obj)[part];
  }
  return value;
}

export function compareBy(sort: SortSpec): (a: unknown, b: unknown) => number {
  const keys = Object.entries(sort);
  return (a, b) => {
    for (const [path, direction] of keys) {
      const cmp = compareValues(getPath(a, path), getPath(b, path));
      if (cmp !== 0) return cmp * direction;
    }
    return 0;
  };
}

function eachValue(operand: unknown): unknown[] {
  if (operand && typeof operand === 'object' && '$each' in (operand as Obj)) return (operand as { $each: unknown[] }).$each;
  return [operand];
}

/**
 * Applies an update and returns the result as a new document; doc itself is left as it was. The result shares
 * the parts the update did not touch with doc (copy on write), so an update costs what it changes, not the size of
 * the document: both must be treated as immutable afterwards (the store never writes to a document it holds, and
 * hands callers copies). Values taken from the update are copied. `inserting` enables $setOnInsert.
 */
export function applyUpdate<T>(doc: T, update: Update, inserting: boolean): T {
  // An upsert starts from the filter's values, which belong to the caller: those are copied too.
  const next = inserting ? cloneValue(doc as Obj) : { ...(doc as Obj) };
  const owned = new Set<object>([next]);
  const write = (path: string, value: unknown) => {
    const parts = path.split('.');
    ownParent(next, parts, owned, true)![parts[parts.length - 1]] = value;
  };
  for (const [op, fields] of Object.entries(update)) {
    if (op === '$setOnInsert' && !inserting) continue;
    for (const [path, operand] of Object.entries(fields as Obj)) {
      const current = getPath(next, path);
      switch (op) {
        case '$set':
        case '$setOnInsert':
          write(path, cloneValue(operand));
          break;
        case '$unset': {
          const parts = path.split('.');
          if (getPath(next, path) === undefined && !hasPath(next, parts)) break;
          const parent = ownParent(next, parts, owned, false);
          if (parent && typeof parent === 'object') delete parent[parts[parts.length - 1]];
          break;
        }
        case '$inc':
          write(path, ((current as number | undefined) ?? 0) + (operand as number));
          break;
        case '$max':
          if (current === undefined || compareValues(operand, current) > 0) write(path, cloneValue(operand));
          break;
        case '$min':
          if (current === undefined || compareValues(operand, current) < 0) write(path, cloneValue(operand));
          break;
        case '$push': {
          const list = Array.isArray(current) ? [...current] : [];
          list.push(...cloneValue(eachValue(operand)));
          const slice = (operand as { $slice?: number } | null)?.$slice;
          write(path, typeof slice === 'number' ? (slice < 0 ? list.slice(slice) : list.slice(0, slice)) : list);
          break;
        }
        case '$addToSet': {
          const list = Array.isArray(current) ? [...current] : [];
          for (const value of eachValue(operand)) if (!list.some((v) => valuesEqual(v, value))) list.push(cloneValue(value));
          write(path, list);
          break;
        }
        case '$pull':
          if (Array.isArray(current)) write(path, current.filter((v) => !matchesEquality(v, operand)));
          break;
        default:
          throw new Error(`update operator ${op} is not supported by the memory store`);
      }
    }
  }
  return next as T;
}

/** Whether every object on the path exists (the last part may be missing): $unset of a present field. */
function hasPath(doc: Obj, parts: readonly string[]): boolean {
  let value: unknown = doc;
  for (const part of parts) {
    if (value === null || typeof value !== 'object' || !(part in (value as Obj))) return false;
    value = (value as Obj)[part];
  }
  return true;
}

/** The document an upsert starts from: the filter's plain equality fields. */
export function seedFromFilter(filter: Filter): Obj {
  const seed: Obj = {};
  for (const [key, value] of Object.entries(filter)) {
    if (key.startsWith('$')) continue;
    if (isCondition(value)) {
      if ('$eq' in value) setPath(seed, key, value.$eq);
    } else setPath(seed, key, value);
  }
  return seed;
}
