// Escalation ladders: channels tried later, each some time after acceptance, while nobody has read the
// notification. A step is planned at acceptance like any delivery, as of its own time (quiet hours then defer it
// further, CRITICAL breaks through), and waits DEFERRED in the store: the scheduler wakes it durably, and the
// delivery's conditional updates take it once. When it comes due, the worker asks status whether the notification
// was read (ladder-gate.ts). Plain rules here, no I/O.
import { durationMs } from '@bufbuild/protobuf/wkt';
import { Channel, Priority } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { EscalationStep } from '../../gen/pulse/notification/v1/notification_service_pb.js';
import type { Validator } from '../platform/validate.js';

export interface LadderStep {
  channel: Channel;
  /** From acceptance. */
  afterMs: number;
}

/** Default ladders per notification type (NOTIFICATION_ESCALATION_LADDERS). */
export type DefaultLadders = ReadonlyMap<string, readonly LadderStep[]>;

const MAX_STEPS = 5;
const MIN_AFTER_MS = 1_000;
const MAX_AFTER_MS = 7 * 24 * 3_600_000;
const CHANNEL_NAMES: Record<string, Channel> = {
  EMAIL: Channel.EMAIL,
  SLACK: Channel.SLACK,
  SMS: Channel.SMS,
  PUSH: Channel.PUSH,
  IN_APP: Channel.IN_APP,
};
const CHANNELS: ReadonlySet<Channel> = new Set(Object.values(CHANNEL_NAMES));
const CHANNEL_LIST = Object.keys(CHANNEL_NAMES).map((name) => `CHANNEL_${name}`).join(', ');

/** The reason of a step's delivery that was not sent because the notification was read first. */
export const READ_BEFORE_STEP = 'read before this step';

/** Why a step's delivery waits in the store until its time. Steps count from 1. */
export function stepReason(step: number): string {
  return `escalation step ${step}`;
}

/** When a step is due, before any quiet hours. */
export function stepDueAt(acceptedAt: Date, step: LadderStep): Date {
  return new Date(acceptedAt.getTime() + step.afterMs);
}

/** A request's ladder as steps (an unset `after` counts as 0, which checkEscalation refuses). */
export function ladderOf(steps: readonly EscalationStep[]): LadderStep[] {
  return steps.map((step) => ({
    channel: step.channel,
    afterMs: step.after ? durationMs(step.after) : 0,
  }));
}

/** Checks a request's ladder; problems go to v under field (its proto path). */
export function checkEscalation(v: Validator, field: string, steps: readonly EscalationStep[]): void {
  v.count(field, steps, { max: MAX_STEPS });
  const ladder = ladderOf(steps);
  ladder.forEach((step, i) => {
    const at = `${field}[${i}]`;
    if (!CHANNELS.has(step.channel)) v.add(`${at}.channel`, `must be one of ${CHANNEL_LIST} (got ${step.channel})`);
    if (!steps[i].after) v.add(`${at}.after`, 'is required');
    else {
      const problem = afterProblem(step.afterMs, i === 0 ? undefined : ladder[i - 1].afterMs);
      if (problem) v.add(`${at}.after`, problem);
    }
  });
}

function afterProblem(afterMs: number, previousMs: number | undefined): string | undefined {
  if (afterMs < MIN_AFTER_MS || afterMs > MAX_AFTER_MS) return `must be between 1s and 7 days (got ${afterMs / 1_000}s)`;
  if (previousMs !== undefined && afterMs <= previousMs) return `must be later than the step before (${previousMs / 1_000}s)`;
  return undefined;
}

/**
 * The ladder a notification follows: its own, or else its type's default when it is HIGH or CRITICAL (a default
 * ladder is for what must not go unseen, not for every notification of the type).
 */
export function ladderFor(own: readonly LadderStep[], defaults: DefaultLadders, notificationType: string, priority: Priority): LadderStep[] {
  if (own.length > 0) return [...own];
  if (priority !== Priority.HIGH && priority !== Priority.CRITICAL) return [];
  return [...(defaults.get(notificationType) ?? [])];
}

/**
 * Parses default ladders written as JSON, `after` as a protobuf JSON duration:
 * {"review.required": [{"channel": "EMAIL", "after": "600s"}, {"channel": "SMS", "after": "2400s"}]}.
 * Returns the ladders, or what is wrong.
 */
export function parseLadders(text: string): DefaultLadders | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'must be JSON: {"<notification type>": [{"channel": "EMAIL", "after": "600s"}, ...]}';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'must be a JSON object keyed by notification type';
  const ladders = new Map<string, LadderStep[]>();
  for (const [type, steps] of Object.entries(parsed)) {
    if (!Array.isArray(steps) || steps.length === 0 || steps.length > MAX_STEPS) return `"${type.slice(0, 64)}" must list 1-${MAX_STEPS} steps`;
    const ladder: LadderStep[] = [];
    for (const [i, step] of (steps as unknown[]).entries()) {
      const { channel, after } = (step ?? {}) as { channel?: unknown; after?: unknown };
      const known = typeof channel === 'string' ? CHANNEL_NAMES[channel.toUpperCase().replace(/^CHANNEL_/, '')] : undefined;
      if (known === undefined) return `"${type.slice(0, 64)}"[${i}].channel must be one of ${Object.keys(CHANNEL_NAMES).join(', ')}`;
      const seconds = typeof after === 'string' ? /^(\d+(?:\.\d{1,3})?)s$/.exec(after) : null;
      if (!seconds) return `"${type.slice(0, 64)}"[${i}].after must be a duration such as "600s"`;
      const afterMs = Math.round(Number(seconds[1]) * 1_000);
      const problem = afterProblem(afterMs, ladder.at(-1)?.afterMs);
      if (problem) return `"${type.slice(0, 64)}"[${i}].after ${problem}`;
      ladder.push({ channel: known, afterMs });
    }
    ladders.set(type, ladder);
  }
  return ladders;
}

/** Review cases of severity HIGH or CRITICAL: in-app at once, email after 10 minutes, SMS 30 minutes after that. */
export const DEFAULT_LADDERS = '{"review.required": [{"channel": "EMAIL", "after": "600s"}, {"channel": "SMS", "after": "2400s"}]}';
