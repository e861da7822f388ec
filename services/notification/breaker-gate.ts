// Asks a provider's breaker before a job starts an attempt, so jobs wait for an open breaker in the store instead
// of burning attempts against it. Opossum lets exactly one call through when half-open; the gate hands that probe
// to exactly one job (others would only be refused after being marked PROCESSING), and says when an open breaker
// will next let a call through, which is when waiting jobs are due again.
import type { Breaker } from '../platform/breaker.js';

export type Admission = 'closed' | 'probe' | 'open';

/** While the half-open probe is out, waiting jobs look again this soon (or at the reset timeout if shorter). */
const PROBE_RECHECK_MS = 1_000;

export class BreakerGate {
  private openedAt = 0;
  private probeTaken = false;

  constructor(
    readonly breaker: Breaker,
    private readonly resetTimeoutMs: number,
    private readonly clock: () => number = Date.now,
  ) {
    breaker.on('open', () => {
      this.openedAt = this.clock();
      this.probeTaken = false;
    });
    breaker.on('halfOpen', () => (this.probeTaken = false));
    breaker.on('close', () => (this.probeTaken = false));
  }

  /** 'closed': go ahead; 'probe': go ahead as the breaker's one trial call; 'open': wait until reopensAt(). */
  admit(): Admission {
    if (this.breaker.closed) return 'closed';
    if (this.breaker.halfOpen && this.breaker.pendingClose && !this.probeTaken) {
      this.probeTaken = true;
      return 'probe';
    }
    return 'open';
  }

  /**
   * Called when the admitted job is done with the gate: a probe that never reached the breaker (nothing left to
   * send, or a failure before the call) is handed back, or the half-open breaker would wait for it forever.
   */
  release(admission: Admission): void {
    if (admission === 'probe' && this.breaker.halfOpen && this.breaker.pendingClose) this.probeTaken = false;
  }

  /** When a job refused now should try again. */
  reopensAt(): Date {
    const now = this.clock();
    if (this.breaker.opened) return new Date(Math.max(now, this.openedAt + this.resetTimeoutMs));
    return new Date(now + Math.min(this.resetTimeoutMs, PROBE_RECHECK_MS));
  }
}
