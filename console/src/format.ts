// How values read on screen: enum values by name, times in the viewer's time zone, durations in words.
import type { DescEnum } from '@bufbuild/protobuf';
import { type Timestamp, timestampDate } from '@bufbuild/protobuf/wkt';

/** "REVIEW_STATE_OPEN" as "open", "ESCALATION_SIGNAL_LEGAL_THREAT" as "legal threat". */
export function enumLabel(schema: DescEnum, value: number): string {
  const known = schema.value[value];
  return known ? known.localName.toLowerCase().replace(/_/g, ' ') : String(value);
}

export function dateOf(ts: Timestamp | undefined): Date | undefined {
  return ts ? timestampDate(ts) : undefined;
}

export function formatTime(ts: Timestamp | undefined): string {
  const date = dateOf(ts);
  return date ? date.toLocaleString() : '—';
}

/** "in 12 min", "3 h 5 min overdue". */
export function countdown(due: Date, now: number): string {
  const ms = due.getTime() - now;
  const total = Math.round(Math.abs(ms) / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const text = h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s} s` : `${s} s`;
  return ms >= 0 ? `in ${text}` : `${text} overdue`;
}
