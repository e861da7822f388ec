// Quiet hours: a daily window of local wall-clock time in the user's IANA time zone. Plain functions over Intl.
//
// A local time maps to one instant on most days, to none when the clocks spring forward over it (the skipped hour)
// and to two when they fall back (the repeated hour). Whether a moment is quiet is decided by its local wall clock
// alone, so both passes through a repeated hour are treated alike. A window ends at the first moment after `at`
// when the local clock shows the end time or has jumped past it: for an end inside a skipped hour that is the
// instant of the jump (a window ending 02:30 in Europe/Paris on 2026-03-29 ends at 03:00 CEST), for an end inside a
// repeated hour it is the first of its occurrences still ahead.

/** A daily window of local time, "HH:MM" to "HH:MM" (end exclusive). start > end crosses midnight; start == end is none. */
export interface QuietWindow {
  start: string;
  end: string;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$/;
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-]*(\/[A-Za-z0-9_+\-]+)*$/;

/** Minutes after midnight of an "HH:MM" time, or undefined when it is not one. */
export function parseClock(value: string): number | undefined {
  const match = CLOCK.exec(value);
  return match ? Number(match[1]) * 60 + Number(match[2]) : undefined;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/**
 * The zone's IANA name as Intl spells it ("europe/paris" -> "Europe/Paris"), or undefined when Intl does not know it.
 * UTC offsets ("+02:00"), which newer ICU versions also accept, are refused: an offset has no daylight-saving rules,
 * so quiet hours would silently drift twice a year.
 */
export function canonicalTimeZone(value: string): string | undefined {
  if (value.length > 64 || !ZONE_NAME.test(value)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** The local wall-clock time of an instant, as milliseconds since the epoch read as if the zone were UTC. */
function wallTime(instant: number, timeZone: string): number {
  const parts = formatter(timeZone).formatToParts(new Date(instant));
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  const seconds = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  return seconds + (((instant % 1000) + 1000) % 1000);
}

function offsetAt(instant: number, timeZone: string): number {
  return wallTime(instant, timeZone) - instant;
}

/**
 * The first instant after `after` at which the clock in the zone shows `wall` or has jumped past it. The zone's
 * offsets a day either side cover any change near `wall` (no zone changes its clocks twice within two days).
 */
function reachWall(wall: number, timeZone: string, after: number): number {
  const offsets = [...new Set([offsetAt(wall - DAY, timeZone), offsetAt(wall + DAY, timeZone)])];
  const exact = offsets
    .map((offset) => wall - offset)
    .filter((instant) => instant > after && wallTime(instant, timeZone) === wall)
    .sort((a, b) => a - b);
  if (exact.length > 0) return exact[0];
  // `wall` lies in a skipped hour: bisect for the jump, the first second whose wall clock is past it.
  let lo = wall - Math.max(...offsets);
  let hi = wall - Math.min(...offsets);
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (wallTime(mid, timeZone) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** When the window that `at` falls in ends, or undefined when `at` is not in quiet hours. */
export function quietUntil(at: Date, window: QuietWindow, timeZone: string): Date | undefined {
  const start = parseClock(window.start);
  const end = parseClock(window.end);
  if (start === undefined || end === undefined || start === end) return undefined;
  const wall = wallTime(at.getTime(), timeZone);
  const midnight = Math.floor(wall / DAY) * DAY;
  const minute = (wall - midnight) / MINUTE;
  let endDay: number;
  if (start < end) {
    if (minute < start || minute >= end) return undefined;
    endDay = midnight;
  } else if (minute >= start) {
    endDay = midnight + DAY; // crosses midnight: ends tomorrow
  } else if (minute < end) {
    endDay = midnight;
  } else {
    return undefined;
  }
  return new Date(reachWall(endDay + end * MINUTE, timeZone, at.getTime()));
}
