// Token-bucket rate limits: per caller, per recipient user, per channel and overall. Buckets live in this process,
// so every limit applies per replica: N replicas behind a balancer admit up to N times the configured rate. That
// is deliberate; a shared limiter would put a store round trip on every send to protect against a burst the
// providers' own breakers and the lanes' prefetch already absorb.

export type LimitName = 'caller' | 'user' | 'channel' | 'global';

export interface BucketSpec {
  /** Sustained rate; 0 turns the limit off. */
  perSecond: number;
  /** Tokens a bucket holds when full: the burst admitted at once. */
  burst: number;
}

export interface LimitKey {
  limit: LimitName;
  /** Which bucket of the limit ("" for global). */
  key: string;
  /** Tokens to take (e.g. deliveries on one channel). Default 1; capped at the burst. */
  cost?: number;
}

export interface Refusal {
  limit: LimitName;
  /** How long until the refused request would be admitted. */
  retryAfterMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Idle buckets are forgotten once this many exist (a full bucket and a missing one mean the same). */
const SWEEP_AT = 50_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly specs: Record<LimitName, BucketSpec>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The first limit that would refuse these keys now, without taking anything. */
  check(keys: readonly LimitKey[]): Refusal | undefined {
    return this.refusal(keys, this.now());
  }

  /** Takes the tokens of every key, or none of them when any limit refuses. */
  take(keys: readonly LimitKey[]): Refusal | undefined {
    const now = this.now();
    const refused = this.refusal(keys, now);
    if (refused) return refused;
    for (const key of keys) {
      const spec = this.specs[key.limit];
      if (spec.perSecond <= 0) continue;
      const id = `${key.limit}\u0000${key.key}`;
      this.buckets.set(id, { tokens: this.level(id, spec, now) - this.cost(key, spec), at: now });
    }
    if (this.buckets.size > SWEEP_AT) this.sweep(now);
    return undefined;
  }

  private refusal(keys: readonly LimitKey[], now: number): Refusal | undefined {
    let worst: Refusal | undefined;
    // The same bucket may appear twice (two channels never do, but be exact): sum what each asks of it.
    const asked = new Map<string, { key: LimitKey; cost: number }>();
    for (const key of keys) {
      const spec = this.specs[key.limit];
      if (spec.perSecond <= 0) continue;
      const id = `${key.limit}\u0000${key.key}`;
      const entry = asked.get(id);
      asked.set(id, { key, cost: Math.min(spec.burst, (entry?.cost ?? 0) + this.cost(key, spec)) });
    }
    for (const [id, { key, cost }] of asked) {
      const spec = this.specs[key.limit];
      const missing = cost - this.level(id, spec, now);
      if (missing <= 0) continue;
      const retryAfterMs = Math.ceil((missing / spec.perSecond) * 1000);
      if (!worst || retryAfterMs > worst.retryAfterMs) worst = { limit: key.limit, retryAfterMs };
    }
    return worst;
  }

  private cost(key: LimitKey, spec: BucketSpec): number {
    return Math.min(spec.burst, Math.max(1, key.cost ?? 1));
  }

  private level(id: string, spec: BucketSpec, now: number): number {
    const bucket = this.buckets.get(id);
    if (!bucket) return spec.burst;
    return Math.min(spec.burst, bucket.tokens + ((now - bucket.at) / 1000) * spec.perSecond);
  }

  private sweep(now: number): void {
    for (const id of this.buckets.keys()) {
      const spec = this.specs[id.slice(0, id.indexOf('\u0000')) as LimitName];
      if (this.level(id, spec, now) >= spec.burst) this.buckets.delete(id);
    }
  }
}

const LIMIT_WORDS: Record<LimitName, string> = {
  caller: 'per caller',
  user: 'per recipient user',
  channel: 'per channel',
  global: 'overall',
};

/** The caller-facing message of a refusal: which limit, and when to retry. */
export function refusalMessage(refusal: Refusal): string {
  const seconds = (refusal.retryAfterMs / 1000).toFixed(refusal.retryAfterMs < 10_000 ? 1 : 0);
  return `rate limit ${LIMIT_WORDS[refusal.limit]} exceeded; retry in ${seconds} s`;
}

/** The value of a `retry-after` header: whole seconds, at least 1. */
export function retryAfterSeconds(refusal: Refusal): number {
  return Math.max(1, Math.ceil(refusal.retryAfterMs / 1000));
}
