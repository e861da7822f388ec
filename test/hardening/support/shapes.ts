// Request bodies for the fuzz test, generated from the message descriptors in gen/ (never from a hand list of
// fields): random valid-shape messages, and the hostile variants of each one (JSON with wrong types, unknown
// enum values, huge strings and lists, deep nesting, invalid UTF-8; protobuf binary that is truncated, garbage,
// mis-typed or nested without end). Everything is drawn from a seeded Random, so a seed reproduces a run.
import {
  create,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  ScalarType,
  toBinary,
  toJson,
} from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { Random } from './prng.js';

/** One request body and what it tries. */
export interface Payload {
  /** Short label, e.g. "wrong-type:recipient.user_id". */
  kind: string;
  body: Uint8Array;
}

const MAX_DEPTH = 4;

// Strings that make a valid-shape request likely to get past validation, by what the field's name suggests.
const WORDS = ['sales', 'pricing', 'support', 'billing', 'invoice.overdue', 'review.required', 'reviewers', 'team-leads'];
const SENTENCES = [
  'Hello, I need help with my order.',
  'This is awful. Refund me now or I cancel and call my lawyer!',
  'Thanks, that solved it. Have a nice day :)',
  'Ünïcödé, 漢字, emoji 😀 and RTL עברית',
];

function idLike(rng: Random): string {
  return `${rng.pick(['c', 'msg', 'conv', 'user', 'ntf', 'rev', 'dlq', 'req'])}-${rng.int(0, 9999)}`;
}

function printable(rng: Random, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(rng.int(0x20, 0x7e));
  return s;
}

/** A string for a field, biased by the field's name towards values the service accepts. */
function stringFor(field: DescField, rng: Random): string {
  const name = field.name;
  const roll = rng.next();
  if (roll < 0.12) {
    // Anything at all: empty, blank, control characters, unicode, long.
    return rng.pick(['', ' ', '\u0000', '\t\n', '😀', 'é', '\ud800', printable(rng, rng.int(1, 80)), 'a'.repeat(rng.int(100, 2_000))]);
  }
  if (/email/.test(name)) return rng.pick(['ada@example.com', 'not-an-email', 'x@y', '']);
  if (/phone/.test(name)) return rng.pick(['+15005550006', '555-1234', '+1', '']);
  if (/time_zone/.test(name)) return rng.pick(['Europe/Paris', 'UTC', 'America/New_York', 'Mars/Olympus']);
  if (name === 'start' || name === 'end') return rng.pick(['09:00', '22:30', '24:00', '7pm']);
  if (/topic/.test(name)) return rng.pick(WORDS);
  if (/notification_type|type$/.test(name)) return rng.pick(['invoice.overdue', 'review.required', 'Bad Type!']);
  if (/token/.test(name)) return rng.pick(['', printable(rng, rng.int(1, 40)), 'eyJhIjoxfQ']);
  if (/(^|_)id$|_ids?$|key$/.test(name)) return rng.chance(0.8) ? idLike(rng) : printable(rng, rng.int(1, 40));
  if (/text|body|description|title|note|comment|reason|resolution/.test(name)) return rng.pick(SENTENCES);
  if (/target|address|channel/.test(name)) return rng.pick(['C0123456789', '#sales', 'ops@example.com', '+15005550006']);
  if (/user|agent|customer|bot|reviewer|actor|by$/.test(name)) return idLike(rng);
  return rng.chance(0.5) ? rng.pick(WORDS) : printable(rng, rng.int(1, 24));
}

function scalarFor(field: DescField, type: ScalarType, rng: Random): unknown {
  switch (type) {
    case ScalarType.STRING:
      return stringFor(field, rng);
    case ScalarType.BYTES:
      return rng.bytes(rng.int(0, 16));
    case ScalarType.BOOL:
      return rng.chance(0.5);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return rng.pick([0, 0.5, -0.75, 1, -1, 2, 1e9, Number.NaN, Number.POSITIVE_INFINITY, rng.next() * 2 - 1]);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return rng.pick([0n, 1n, -1n, 42n, 9_223_372_036_854_775_807n, -9_223_372_036_854_775_808n, BigInt(rng.int(0, 1e6))]);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return rng.pick([0n, 1n, 42n, 18_446_744_073_709_551_615n, BigInt(rng.int(0, 1e6))]);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return rng.pick([0, 1, 10, 100, 4_294_967_295, rng.int(0, 1000)]);
    default:
      return rng.pick([0, 1, -1, 5, 50, 100, 500, 2_147_483_647, -2_147_483_648, rng.int(-10, 1000)]);
  }
}

function enumFor(field: DescField & { enum: NonNullable<DescField['enum']> }, rng: Random): number {
  if (rng.chance(0.08)) return rng.pick([99, 12_345, -1]); // an unknown number: proto3 enums are open
  return rng.pick(field.enum.values).number;
}

function wellKnown(message: DescMessage, rng: Random, paths: readonly string[]): Record<string, unknown> | undefined {
  switch (message.typeName) {
    case 'google.protobuf.Timestamp': {
      const now = Math.floor(Date.now() / 1000);
      const seconds = rng.pick([now, now + 3_600, now - 86_400, now + 30 * 86_400, 0, 253_402_300_799]);
      return { seconds: BigInt(seconds), nanos: rng.int(0, 999_999_999) };
    }
    case 'google.protobuf.Duration': {
      const seconds = rng.pick([0, 1, 60, 3_600, 86_400, 315_576_000_000]);
      return { seconds: BigInt(seconds), nanos: rng.chance(0.5) ? 0 : rng.int(0, 999_999_999) };
    }
    case 'google.protobuf.FieldMask':
      return { paths: Array.from({ length: rng.int(0, 3) }, () => (rng.chance(0.85) ? rng.pick(paths) : 'no_such_field')) };
    default:
      return undefined;
  }
}

/** Every field name in a message tree, for FieldMask paths. */
function fieldNames(message: DescMessage, seen = new Set<string>()): string[] {
  if (seen.has(message.typeName)) return [];
  seen.add(message.typeName);
  const names: string[] = [];
  for (const field of message.fields) {
    names.push(field.name);
    if (field.message && !field.message.typeName.startsWith('google.')) names.push(...fieldNames(field.message, seen));
  }
  return names.length > 0 ? names : ['name'];
}

function messageInit(message: DescMessage, rng: Random, depth: number, paths: readonly string[]): Record<string, unknown> {
  const known = wellKnown(message, rng, paths);
  if (known) return known;
  const init: Record<string, unknown> = {};
  const setOneofs = new Set<string>();
  for (const field of message.fields) {
    if (field.oneof) {
      if (setOneofs.has(field.oneof.name) || !rng.chance(0.6)) continue;
      setOneofs.add(field.oneof.name);
      const value = singleValue(field, rng, depth, paths);
      if (value !== undefined) init[field.oneof.localName] = { case: field.localName, value };
      continue;
    }
    if (!rng.chance(0.75)) continue; // leave some fields unset
    const value = fieldValue(field, rng, depth, paths);
    if (value !== undefined) init[field.localName] = value;
  }
  return init;
}

function singleValue(field: DescField, rng: Random, depth: number, paths: readonly string[]): unknown {
  if (field.fieldKind === 'scalar') return scalarFor(field, field.scalar, rng);
  if (field.fieldKind === 'enum') return enumFor(field, rng);
  if (field.fieldKind === 'message') return depth >= MAX_DEPTH ? undefined : messageInit(field.message, rng, depth + 1, paths);
  return undefined;
}

function fieldValue(field: DescField, rng: Random, depth: number, paths: readonly string[]): unknown {
  switch (field.fieldKind) {
    case 'scalar':
    case 'enum':
    case 'message':
      return singleValue(field, rng, depth, paths);
    case 'list': {
      const n = rng.int(0, 3);
      const items: unknown[] = [];
      for (let i = 0; i < n; i++) {
        if (field.listKind === 'scalar') items.push(scalarFor(field, field.scalar, rng));
        else if (field.listKind === 'enum') items.push(enumFor(field, rng));
        else if (depth < MAX_DEPTH) items.push(messageInit(field.message, rng, depth + 1, paths));
      }
      return items;
    }
    case 'map': {
      const entries: Record<string, unknown> = {};
      for (let i = rng.int(0, 3); i > 0; i--) {
        const key = field.mapKey === ScalarType.STRING ? rng.pick(['review_id', 'link', 'k', printable(rng, rng.int(1, 10))]) : String(rng.int(0, 100));
        if (field.mapKind === 'scalar') entries[key] = scalarFor(field, field.scalar, rng);
        else if (field.mapKind === 'enum') entries[key] = enumFor(field, rng);
        else if (depth < MAX_DEPTH) entries[key] = messageInit(field.message, rng, depth + 1, paths);
      }
      return entries;
    }
  }
}

/** A random message of the given type: every field's value drawn from its type (and name), some left unset. */
export function randomMessage(schema: DescMessage, rng: Random) {
  return create(schema, messageInit(schema, rng, 0, fieldNames(schema)) as never);
}

/** JSON of a random message; float specials and other values JSON cannot hold are retried away. */
export function randomJson(schema: DescMessage, rng: Random): JsonObject {
  for (let i = 0; i < 10; i++) {
    try {
      return toJson(schema, randomMessage(schema, rng)) as JsonObject;
    } catch {
      // e.g. a FieldMask path without a JSON form: draw again
    }
  }
  return {};
}

export function randomBinary(schema: DescMessage, rng: Random): Uint8Array {
  for (let i = 0; i < 10; i++) {
    try {
      return toBinary(schema, randomMessage(schema, rng));
    } catch {
      // draw again
    }
  }
  return new Uint8Array();
}

const encoder = new TextEncoder();
const utf8 = (text: string) => encoder.encode(text);

/** A path to a field somewhere in a message tree (JSON names), with the field. */
interface FieldPath {
  path: string[];
  field: DescField;
}

function allFields(message: DescMessage, prefix: string[] = [], depth = 0, out: FieldPath[] = []): FieldPath[] {
  if (depth > MAX_DEPTH || message.typeName.startsWith('google.protobuf.')) return out;
  for (const field of message.fields) {
    const path = [...prefix, field.jsonName];
    out.push({ path, field });
    if (field.fieldKind === 'message') allFields(field.message, path, depth + 1, out);
  }
  return out;
}

function setPath(target: JsonObject, path: string[], value: JsonValue): JsonObject {
  let node: JsonObject = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as JsonObject;
  }
  node[path[path.length - 1]] = value;
  return target;
}

/** A value of a JSON type the field does not take. */
function wrongTypeValue(field: DescField, rng: Random): JsonValue {
  const kind = field.fieldKind === 'list' ? 'list' : field.fieldKind === 'map' ? 'map' : field.fieldKind;
  switch (kind) {
    case 'scalar':
      if (field.scalar === ScalarType.STRING) return rng.pick<JsonValue>([123, true, {}, [], [1, 2], 1.5]);
      if (field.scalar === ScalarType.BOOL) return rng.pick<JsonValue>(['yes', 1, {}, []]);
      if (field.scalar === ScalarType.BYTES) return rng.pick<JsonValue>(['not base64!!', 5, {}]);
      return rng.pick<JsonValue>(['abc', {}, [], true, '1e999', '1e400', 1.5, '0x10', 2 ** 64]);
    case 'enum':
      return rng.pick<JsonValue>([1.5, {}, [], true, '']);
    case 'message':
      return rng.pick<JsonValue>(['str', 5, [], true]);
    case 'list':
      return rng.pick<JsonValue>([{}, 'x', 5, [{ nested: [[[]]] }], [null]]);
    default:
      return rng.pick<JsonValue>([[], 'x', 5, { k: 5 }, { k: { deep: true } }, { k: null }]);
  }
}

/** Nested JSON objects `depth` levels deep, ending in a string. */
function nested(depth: number): string {
  return `${'{"k":'.repeat(depth)}"leaf"${'}'.repeat(depth)}`;
}

function jsonPayload(kind: string, value: unknown): Payload {
  return { kind, body: utf8(JSON.stringify(value)) };
}

/** Hostile and random JSON bodies for one request type: `count` in all, the fixed kinds first. */
export function jsonPayloads(schema: DescMessage, rng: Random, count: number, maxBytes: number): Payload[] {
  const fields = allFields(schema);
  const strings = fields.filter(({ field }) => field.fieldKind === 'scalar' && field.scalar === ScalarType.STRING);
  const lists = fields.filter(({ field }) => field.fieldKind === 'list');
  const maps = fields.filter(({ field }) => field.fieldKind === 'map');
  const enums = fields.filter(({ field }) => field.fieldKind === 'enum' || (field.fieldKind === 'list' && field.listKind === 'enum'));
  const base = () => randomJson(schema, rng);
  const text = JSON.stringify(base());
  const fixed: Payload[] = [
    { kind: 'malformed:truncated', body: utf8(text.slice(0, Math.max(1, rng.int(1, text.length - 1)))) },
    { kind: 'malformed:garbage', body: rng.bytes(rng.int(1, 64)) },
    { kind: 'malformed:empty', body: new Uint8Array() },
    { kind: 'malformed:not-object', body: utf8(rng.pick(['[]', '"str"', '42', 'true', 'null'])) },
    { kind: 'malformed:syntax', body: utf8(rng.pick(['{,}', '{"a":}', "{'a':1}", '{"a":1,}', '{"a" 1}', '\ufeff{}', '{"a":NaN}'])) },
    jsonPayload('unknown-field', { ...base(), noSuchField: 1 }),
    { kind: 'deep-nesting:json', body: utf8(`{"${fields[0]?.field.jsonName ?? 'x'}":${nested(5_000)}}`) },
    { kind: 'deep-nesting:arrays', body: utf8(`{"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`) },
    // Raw bytes that are not UTF-8 inside a JSON string (0xff, an overlong encoding, a lone continuation byte).
    {
      kind: 'invalid-utf8:raw',
      body: new Uint8Array([...utf8(`{"${strings[0]?.path[0] ?? 'x'}":"`), 0xff, 0xc0, 0x80, 0x80, 0xed, 0xa0, 0x80, ...utf8('"}')]),
    },
    jsonPayload('invalid-utf8:lone-surrogate', strings[0] ? setPath(base(), strings[0].path, '\ud800\udfff\udc00') : base()),
    // Over the size limit, and far over it.
    jsonPayload('oversize', { ...base(), pad: 'x'.repeat(maxBytes + 1_024) }),
  ];
  for (const target of fields.filter(({ field }) => field.fieldKind !== 'message' || rng.chance(0.5)).slice(0, 6)) {
    fixed.push(jsonPayload(`wrong-type:${target.path.join('.')}`, setPath(base(), target.path, wrongTypeValue(target.field, rng))));
  }
  for (const target of enums.slice(0, 2)) {
    const value = target.field.fieldKind === 'list' ? ['NOT_A_VALUE'] : rng.pick<JsonValue>(['NOT_A_VALUE', 'priority_high', 12_345, -7]);
    fixed.push(jsonPayload(`unknown-enum:${target.path.join('.')}`, setPath(base(), target.path, value)));
  }
  for (const target of strings.slice(0, 3)) {
    // Large, yet under the request size limit: it reaches the handler's own validation.
    fixed.push(jsonPayload(`huge-string:${target.path.join('.')}`, setPath(base(), target.path, 'x'.repeat(Math.floor(maxBytes * 0.6)))));
  }
  for (const target of lists.slice(0, 2)) {
    const item: JsonValue =
      target.field.fieldKind === 'list' && target.field.listKind === 'message'
        ? {}
        : target.field.fieldKind === 'list' && target.field.listKind === 'enum'
          ? target.field.enum.values[target.field.enum.values.length - 1].name
          : target.field.fieldKind === 'list' && target.field.listKind === 'scalar' && target.field.scalar === ScalarType.STRING
            ? 'a'
            : 1;
    const n = Math.min(50_000, Math.floor((maxBytes * 0.8) / (JSON.stringify(item).length + 1)));
    fixed.push(jsonPayload(`huge-repeated:${target.path.join('.')}`, setPath(base(), target.path, Array.from({ length: n }, () => item))));
  }
  for (const target of maps) {
    const entries: JsonObject = {};
    for (let i = 0; i < 10_000; i++) entries[`k${i}`] = 'v';
    fixed.push(jsonPayload(`huge-map:${target.path.join('.')}`, setPath(base(), target.path, entries)));
    const deep = JSON.stringify(setPath(base(), target.path, '__DEEP__')).replace('"__DEEP__"', `{"k":${nested(2_000)}}`);
    fixed.push({ kind: `deep-nesting:map:${target.path.join('.')}`, body: utf8(deep) });
  }
  const out = fixed.slice(0, count);
  while (out.length < count) out.push(jsonPayload('random-valid-shape', base()));
  return out;
}

function varint(n: number): number[] {
  const bytes: number[] = [];
  let v = n >>> 0;
  while (v > 127) {
    bytes.push((v & 127) | 128);
    v >>>= 7;
  }
  bytes.push(v);
  return bytes;
}

function tag(fieldNo: number, wire: WireType): number[] {
  return varint(((fieldNo << 3) | wire) >>> 0);
}

function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Hostile and random protobuf binary bodies for one request type: `count` in all, the fixed kinds first. */
export function binaryPayloads(schema: DescMessage, rng: Random, count: number, maxBytes: number): Payload[] {
  const base = () => randomBinary(schema, rng);
  const valid = base();
  const top = schema.fields;
  const stringField = top.find((f) => f.fieldKind === 'scalar' && f.scalar === ScalarType.STRING);
  const messageField = top.find((f) => f.fieldKind === 'message' || (f.fieldKind === 'list' && f.listKind === 'message'));
  const listField = top.find((f) => f.fieldKind === 'list');
  const anyField = top[0];
  const fixed: Payload[] = [
    { kind: 'truncated', body: valid.length > 1 ? valid.subarray(0, rng.int(1, valid.length - 1)) : new Uint8Array([0x0a]) },
    { kind: 'garbage', body: rng.bytes(rng.int(1, 128)) },
    { kind: 'illegal-tag', body: new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]) },
    { kind: 'field-zero', body: new Uint8Array([0x00, 0x01]) },
    { kind: 'bad-varint', body: new Uint8Array([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]) },
    // A length prefix far beyond the bytes that follow.
    { kind: 'length-overrun', body: concat(tag(anyField?.number ?? 1, WireType.LengthDelimited), varint(0x7fff_ffff), [1, 2, 3]) },
    // Start-group tags nested without end (unknown field 1000): a naive skipper recurses until the stack runs out.
    { kind: 'deep-nesting:groups', body: concat(...Array.from({ length: 20_000 }, () => tag(1000, WireType.StartGroup))) },
    // An end-group with no start, and a group that never ends.
    { kind: 'unbalanced-group', body: concat(tag(1000, WireType.EndGroup)) },
    { kind: 'open-group', body: concat(tag(1000, WireType.StartGroup), tag(1, WireType.Varint), [1]) },
    { kind: 'oversize', body: concat(valid, tag(1000, WireType.LengthDelimited), varint(maxBytes + 1_024), new Uint8Array(maxBytes + 1_024)) },
  ];
  if (stringField) {
    // A string whose bytes are not UTF-8.
    fixed.push({ kind: `invalid-utf8:${stringField.name}`, body: concat(valid, tag(stringField.number, WireType.LengthDelimited), [4, 0xff, 0xfe, 0xc0, 0x80]) });
    // The right field number with the wrong wire type.
    fixed.push({ kind: `wrong-wire-type:${stringField.name}`, body: concat(tag(stringField.number, WireType.Varint), [5]) });
    fixed.push({ kind: `wrong-wire-type-fixed:${stringField.name}`, body: concat(tag(stringField.number, WireType.Bit64), new Uint8Array(8)) });
    const huge = new BinaryWriter().tag(stringField.number, WireType.LengthDelimited).string('x'.repeat(Math.floor(maxBytes * 0.6))).finish();
    fixed.push({ kind: `huge-string:${stringField.name}`, body: concat(valid, huge) });
  }
  if (messageField) {
    // An embedded message holding junk, and embedded messages nested 200 deep through an unknown field.
    fixed.push({ kind: `bad-embedded:${messageField.name}`, body: concat(tag(messageField.number, WireType.LengthDelimited), [3, 0xff, 0xff, 0xff]) });
    let inner: Uint8Array = new Uint8Array([0x08, 0x01]);
    for (let i = 0; i < 200; i++) inner = concat(tag(messageField.number, WireType.LengthDelimited), varint(inner.length), inner);
    fixed.push({ kind: `deep-nesting:${messageField.name}`, body: inner });
  }
  if (listField) {
    const writer = new BinaryWriter();
    const n = Math.min(100_000, Math.floor((maxBytes * 0.8) / 4));
    for (let i = 0; i < n; i++) {
      if (listField.fieldKind === 'list' && listField.listKind === 'message') writer.tag(listField.number, WireType.LengthDelimited).bytes(new Uint8Array());
      else if (listField.fieldKind === 'list' && listField.listKind === 'scalar' && listField.scalar === ScalarType.STRING) {
        writer.tag(listField.number, WireType.LengthDelimited).string('a');
      } else writer.tag(listField.number, WireType.Varint).int32(1);
    }
    fixed.push({ kind: `huge-repeated:${listField.name}`, body: writer.finish() });
  }
  const enumField = top.find((f) => f.fieldKind === 'enum');
  if (enumField) fixed.push({ kind: `unknown-enum:${enumField.name}`, body: concat(valid, tag(enumField.number, WireType.Varint), varint(12_345)) });
  for (let i = 0; i < 3 && valid.length > 0; i++) {
    const flipped = valid.slice();
    flipped[rng.int(0, flipped.length - 1)] ^= 1 << rng.int(0, 7);
    fixed.push({ kind: 'bit-flip', body: flipped });
  }
  const out = fixed.slice(0, count);
  while (out.length < count) out.push({ kind: 'random-valid-shape', body: base() });
  return out;
}
