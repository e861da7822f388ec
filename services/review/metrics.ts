// Review's own Prometheus metrics: cases opened, reminders and outcomes, by severity or outcome.
import { Counter, type Registry } from 'prom-client';
import { ReviewState, Severity } from '../../gen/pulse/common/v1/review_pb.js';

const name = (value: string | undefined) => (value ?? 'unknown').toLowerCase();

export class ReviewMetrics {
  private readonly casesOpened: Counter<'severity'>;
  private readonly reminders: Counter<'severity'>;
  private readonly outcomes: Counter<'outcome'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.casesOpened = new Counter({ name: 'pulse_review_cases_opened_total', help: 'Review cases opened, by severity', labelNames: ['severity'], registers });
    this.reminders = new Counter({
      name: 'pulse_review_sla_reminders_total',
      help: 'Re-notifications of cases left unclaimed past their SLA, by severity',
      labelNames: ['severity'],
      registers,
    });
    this.outcomes = new Counter({ name: 'pulse_review_outcomes_total', help: 'Cases resolved, dismissed or escalated', labelNames: ['outcome'], registers });
  }

  opened(severity: Severity): void {
    this.casesOpened.inc({ severity: name(Severity[severity]) });
  }

  reminded(severity: Severity): void {
    this.reminders.inc({ severity: name(Severity[severity]) });
  }

  resolved(outcome: ReviewState): void {
    this.outcomes.inc({ outcome: name(ReviewState[outcome]) });
  }
}
