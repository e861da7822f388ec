// Request validation at the edge. A handler collects every problem with its request and throws one
// invalid_argument error naming each field (proto field names, with paths like `interactions[3].text`), before
// anything is written.
import type { DescEnum } from '@bufbuild/protobuf';
import { type Timestamp, timestampDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError } from '@connectrpc/connect';

export interface FieldViolation {
  field: string;
  problem: string;
}

export class InvalidRequest extends ConnectError {
  constructor(readonly violations: FieldViolation[]) {
    super(violations.map((v) => `${v.field}: ${v.problem}`).join('; '), Code.InvalidArgument);
  }
}

const ID_PATTERN = /^[\x21-\x7e]+$/; // printable ASCII, no spaces
const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/; // topics, notification types

export class Validator {
  constructor(
    private readonly prefix = '',
    readonly violations: FieldViolation[] = [],
  ) {}

  /** A validator for a nested message or list item: same violation list, paths prefixed. */
  nested(path: string): Validator {
    return new Validator(this.path(path), this.violations);
  }

  private path(field: string): string {
    return this.prefix ? `${this.prefix}.${field}` : field;
  }

  add(field: string, problem: string): this {
    this.violations.push({ field: this.path(field), problem });
    return this;
  }

  /** Required unless optional; 1..max characters when present. */
  text(field: string, value: string, { max, optional = false }: { max: number; optional?: boolean }): this {
    if (value === '') return optional ? this : this.add(field, 'is required');
    if (value.length > max) return this.add(field, `must be at most ${max} characters (got ${value.length})`);
    if (value.trim() === '') return this.add(field, 'must not be blank');
    return this;
  }

  /** An identifier: printable ASCII without spaces, 1..max characters. */
  id(field: string, value: string, { max = 128, optional = false } = {}): this {
    if (value === '') return optional ? this : this.add(field, 'is required');
    if (value.length > max) return this.add(field, `must be at most ${max} characters (got ${value.length})`);
    if (!ID_PATTERN.test(value)) return this.add(field, 'must be printable ASCII without spaces');
    return this;
  }

  /** A lower-case name such as a topic or notification type. */
  name(field: string, value: string, { max = 64, optional = false } = {}): this {
    if (value === '') return optional ? this : this.add(field, 'is required');
    if (value.length > max || !NAME_PATTERN.test(value)) {
      return this.add(field, `must be 1-${max} lower-case letters, digits, '.', '_' or '-' (got "${value.slice(0, 80)}")`);
    }
    return this;
  }

  /** A known, set enum value. Connect already rejects unknown names in JSON; numbers can still be out of range. */
  enumValue(field: string, value: number, schema: DescEnum, { optional = false } = {}): this {
    if (value === 0) return optional ? this : this.add(field, `is required (one of ${enumNames(schema)})`);
    if (!schema.values.some((v) => v.number === value)) return this.add(field, `must be one of ${enumNames(schema)}`);
    return this;
  }

  range(field: string, value: number, min: number, max: number): this {
    if (!Number.isFinite(value) || value < min || value > max) this.add(field, `must be between ${min} and ${max} (got ${value})`);
    return this;
  }

  count(field: string, items: readonly unknown[], { min = 0, max }: { min?: number; max: number }): this {
    if (items.length < min) return this.add(field, min === 1 ? 'must not be empty' : `needs at least ${min} items`);
    if (items.length > max) this.add(field, `must have at most ${max} items (got ${items.length})`);
    return this;
  }

  timestamp(field: string, value: Timestamp | undefined, check?: (at: Date) => string | undefined): this {
    if (!value) return this;
    if (value.nanos < 0 || value.nanos > 999_999_999) return this.add(field, 'has invalid nanos');
    const at = timestampDate(value);
    if (Number.isNaN(at.getTime()) || at.getUTCFullYear() < 1970 || at.getUTCFullYear() > 9999) {
      return this.add(field, 'must be a time between 1970 and 9999');
    }
    const problem = check?.(at);
    if (problem) this.add(field, problem);
    return this;
  }

  /** Throws InvalidRequest when anything was wrong. */
  check(): void {
    if (this.violations.length > 0) throw new InvalidRequest(this.violations);
  }
}

function enumNames(schema: DescEnum): string {
  return schema.values
    .filter((v) => v.number !== 0)
    .map((v) => v.name)
    .join(', ');
}

/** Reads a page_size with a default and a cap. */
export function pageSize(v: Validator, value: number, { fallback, max }: { fallback: number; max: number }): number {
  if (value === 0) return fallback;
  v.range('page_size', value, 1, max);
  return value;
}
