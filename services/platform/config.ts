// Configuration comes from environment variables, read and checked once at start. Every problem is collected and
// reported together, each naming its variable, and the process stops before it serves anything.

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Env = process.env) {}

  private raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === '' ? undefined : value;
  }

  private problem(name: string, expected: string, got: string): void {
    this.problems.push(`${name} must be ${expected} (got "${got}")`);
  }

  string(name: string, fallback: string): string;
  string(name: string): string | undefined;
  string(name: string, fallback?: string): string | undefined {
    return this.raw(name) ?? fallback;
  }

  /** A value that must be present; absent is reported as a problem. */
  required(name: string, what: string): string {
    const value = this.raw(name);
    if (value === undefined) this.problems.push(`${name} is required: ${what}`);
    return value ?? '';
  }

  int(name: string, fallback: number, { min = -Infinity, max = Infinity } = {}): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      this.problem(name, `an integer${min > -Infinity ? ` from ${min}` : ''}${max < Infinity ? ` to ${max}` : ''}`, value);
      return fallback;
    }
    return parsed;
  }

  number(name: string, fallback: number, { min = -Infinity, max = Infinity } = {}): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
      this.problem(name, `a number from ${min} to ${max}`, value);
      return fallback;
    }
    return parsed;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(value)) return true;
    if (['0', 'false', 'no', 'off'].includes(value)) return false;
    this.problem(name, 'true or false', value);
    return fallback;
  }

  url(name: string, fallback: string, protocols: string[]): string;
  url(name: string, fallback: undefined, protocols: string[]): string | undefined;
  url(name: string, fallback: string | undefined, protocols: string[]): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    try {
      const url = new URL(value);
      if (protocols.includes(url.protocol.replace(/:$/, ''))) return value.replace(/\/$/, '');
    } catch {
      // reported below
    }
    // Never echo URLs: they may carry credentials.
    this.problems.push(`${name} must be a URL with scheme ${protocols.join(' or ')}`);
    return fallback;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!allowed.includes(value as T)) {
      this.problem(name, `one of ${allowed.join(', ')}`, value);
      return fallback;
    }
    return value as T;
  }

  /** Records a problem found by the caller's own check. */
  invalid(name: string, problem: string): void {
    this.problems.push(`${name} ${problem}`);
  }

  /** Throws ConfigError listing every problem found so far. */
  check(): void {
    if (this.problems.length > 0) throw new ConfigError([...this.problems]);
  }
}
