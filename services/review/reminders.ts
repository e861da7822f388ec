// The SLA scheduler: every interval, cases left unclaimed past their due time are re-notified to the topic's
// escalation routes (review.required, notice SLA_BREACHED, reminder n) and their due time moves on by the SLA.
// Each reminder is a unit of work around a conditional update, so replicas running the same scheduler never send
// the same reminder twice: the one whose update matched sends it, the others find nothing to do.
import { ReviewNotice } from '../../gen/pulse/events/v1/events_pb.js';
import type { Logger } from '../platform/log.js';
import { type PeriodicTask, startPeriodic } from '../platform/periodic.js';
import type { Transact } from '../platform/unit-of-work.js';
import type { CaseRepository } from './cases.js';
import type { ReviewMetrics } from './metrics.js';
import { reviewRequired } from './notices.js';
import type { PolicyRepository } from './policies.js';
import { slaFor } from './sla.js';

export interface ReminderDeps {
  cases: CaseRepository;
  policies: PolicyRepository;
  transaction: Transact;
  metrics: ReviewMetrics;
  log: Logger;
  intervalMs: number;
  now?: () => Date;
}

/** Overdue cases handled per tick; more wait for the next one, most overdue first. */
const BATCH = 100;

export class SlaReminders {
  private task: PeriodicTask | undefined;
  private readonly now: () => Date;

  constructor(private readonly deps: ReminderDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  start(): void {
    const { intervalMs, log } = this.deps;
    this.task = startPeriodic({ name: 'SLA check', intervalMs, startAfterMs: intervalMs, log, run: async () => void (await this.tick()) });
  }

  async stop(): Promise<void> {
    await this.task?.stop();
    this.task = undefined;
  }

  /** Sends the reminders due now; returns how many this replica sent. */
  async tick(): Promise<number> {
    const now = this.now();
    const overdue = await this.deps.cases.overdue(now, BATCH);
    if (overdue.length === 0) return 0;
    // The policy in force now: a shortened SLA applies to the next due time of cases already open.
    const policy = await this.deps.policies.get();
    let sent = 0;
    for (const c of overdue) {
      try {
        const reminded = await this.deps.transaction(async (tx) => {
          const updated = await this.deps.cases.remind(tx, c, now, slaFor(c.severity, policy));
          if (updated) await tx.emit('review.required', reviewRequired(updated, ReviewNotice.SLA_BREACHED, '', now));
          return updated;
        });
        if (!reminded) continue;
        sent++;
        this.deps.metrics.reminded(reminded.severity);
        this.deps.log.info({ review_id: reminded._id, reminder: reminded.reminderCount }, 'review case past its SLA; re-notified');
      } catch (err) {
        this.deps.log.warn({ err, review_id: c._id }, 'could not send an SLA reminder; will try again');
      }
    }
    return sent;
  }
}
