/**
 * Next run of a crontab schedule, in the schedule's own IANA zone.
 *
 * THE DST RULE. Fields match wall-clock time in the schedule's zone, and every matching
 * wall-clock slot runs exactly once, at the first instant the zone's clock reads that slot
 * or later. That one definition gives:
 *   1. A slot the clocks jump over (spring forward) runs at the end of the gap, the transition
 *      instant: `30 2 * * *` in Europe/Berlin on 2026-03-29 runs at 03:00 CEST (01:00Z). Several
 *      slots inside one gap (`*\/15 2 * * *`) all land on that instant, so they run once.
 *   2. A slot the clocks show twice (fall back) runs at its first occurrence, the one with the
 *      pre-transition offset. The second pass of the repeated hour runs nothing.
 * Celery leaves both cases to pytz/zoneinfo arithmetic and users see runs an hour off, doubled,
 * or lost (django-celery-beat #134, #194; celery #1604, #6438); cron-parser shifts the gap run
 * to 03:30 and, asked from inside the second pass, runs the repeated hour again.
 *
 * WHY THIS IS EXACT FOR ANY `after`. "First instant showing the slot or later" never decreases
 * as the slot moves later, so the next run is the first matching slot whose instant is after
 * `after`. A slot's instant is after `after` exactly when the clock has not yet shown that
 * slot by then, i.e. when the slot is later than the highest wall time shown up to `after`.
 * That high-water mark is the wall time of `after`, except in the second pass of a repeated
 * hour, where it is the wall time just before the clocks went back. So: take the high-water
 * mark, find the next matching wall slot after it by pure calendar arithmetic, and map that
 * slot to its instant. No stepping minute by minute, and no retry loop that could miss a day.
 *
 * DAY OF MONTH AND DAY OF WEEK. A day matches when it is in dayOfMonth AND in dayOfWeek (and
 * in monthOfYear). That is Celery's crontab: in celery/schedules.py, remaining_delta's
 * `execute_this_date` requires month, day and weekday all to be in their sets, _delta_to_next
 * walks (month, day) pairs until the weekday also matches, and the class docstring says
 * day_of_week=1 with day_of_month='1-7,15-21' means "every first and third Monday". Vixie cron
 * ORs the two when both are restricted; following Celery keeps rows written for it meaning
 * the same thing here.
 */
import { IANAZone } from 'luxon';
import { parseCronField, type CronFieldName, type ParsedCronField } from './cron-fields';
import { ScheduleValidationError } from './errors';
import type { FieldError, ScheduleSpec } from './types';
import { zoneOffsets, type ZoneOffsets } from './zone-offsets';

export type CrontabSpec = Extract<ScheduleSpec, { kind: 'crontab' }>;

export const CRON_FIELDS: readonly CronFieldName[] = ['minute', 'hour', 'dayOfWeek', 'dayOfMonth', 'monthOfYear'];

/** A crontab parsed once into lookup tables; see compileCrontab. */
export interface CompiledCrontab {
  fields: Record<CronFieldName, ParsedCronField>;
  /** nextMinute[m]: the first allowed minute >= m, or -1. Index 60 is the -1 sentinel. */
  nextMinute: Int8Array;
  /** nextHour[h]: the first allowed hour >= h, or -1. Index 24 is the -1 sentinel. */
  nextHour: Int8Array;
  /** nextMonth[m] (1-12): the first allowed month >= m, or -1. Index 13 is the -1 sentinel. */
  nextMonth: Int8Array;
  dayOfMonth: Uint8Array;
  dayOfWeek: Uint8Array;
  zone: ZoneOffsets;
}

/** Every matching (month, day, weekday) exists within one 400-year Gregorian cycle; one more year covers a partial start. */
const SEARCH_YEARS = 401;
const MINUTE_MS = 60_000;
const CACHE_LIMIT = 10_000;
const compiled = new Map<string, CompiledCrontab>();

/**
 * Parses and indexes a crontab, cached by its five fields and zone: beat evaluates the same
 * few shapes for thousands of rows, so parsing happens once per shape, not once per row.
 * Throws ScheduleValidationError for fields that do not parse and for an unknown zone.
 */
export function compileCrontab(spec: CrontabSpec): CompiledCrontab {
  const key = `${spec.minute}\u0000${spec.hour}\u0000${spec.dayOfWeek}\u0000${spec.dayOfMonth}\u0000${spec.monthOfYear}\u0000${spec.timezone}`;
  const hit = compiled.get(key);
  if (hit) return hit;

  const errors: FieldError[] = [];
  const fields = {} as Record<CronFieldName, ParsedCronField>;
  for (const name of CRON_FIELDS) {
    const result = parseCronField(name, spec[name]);
    if (result.ok) fields[name] = result.field;
    else errors.push({ field: name, message: result.message });
  }
  // Checked here too (once per shape, thanks to the cache) because an invalid zone would not
  // throw later: luxon answers NaN offsets and every run would silently come out as null.
  if (!IANAZone.isValidZone(spec.timezone)) {
    errors.push({
      field: 'timezone',
      message: `unknown time zone '${spec.timezone}': use an IANA name such as Europe/Berlin or UTC`,
    });
  }
  if (errors.length) throw new ScheduleValidationError(errors);

  const entry: CompiledCrontab = {
    fields,
    nextMinute: nextTable(fields.minute.values, 60),
    nextHour: nextTable(fields.hour.values, 24),
    nextMonth: nextTable(fields.monthOfYear.values, 13),
    dayOfMonth: bitmap(fields.dayOfMonth.values, 32),
    dayOfWeek: bitmap(fields.dayOfWeek.values, 7),
    zone: zoneOffsets(spec.timezone),
  };
  if (compiled.size >= CACHE_LIMIT) compiled.delete(compiled.keys().next().value as string);
  compiled.set(key, entry);
  return entry;
}

/** The first run strictly after `after` (epoch ms) under the DST rule above, or null if the fields never match. */
export function nextCrontabRun(cron: CompiledCrontab, after: number): number | null {
  const slot = nextMatchingWall(cron, cron.zone.highestWallUpTo(after));
  return slot === null ? null : cron.zone.firstInstantAtOrAfterWall(slot);
}

/**
 * The first whole-minute wall time strictly after `wall` that the fields match, searching
 * month → day → hour → minute so a call costs a handful of table lookups, not a minute loop.
 */
export function nextMatchingWall(cron: CompiledCrontab, wall: number): number | null {
  const start = new Date((Math.floor(wall / MINUTE_MS) + 1) * MINUTE_MS);
  let year = start.getUTCFullYear();
  let month = start.getUTCMonth() + 1;
  let day = start.getUTCDate();
  let hour = start.getUTCHours();
  let minute = start.getUTCMinutes();
  const lastYear = year + SEARCH_YEARS;

  while (year <= lastYear) {
    const nextMonth = cron.nextMonth[month];
    if (nextMonth === -1) {
      year++;
      month = 1;
      day = 1;
      hour = 0;
      minute = 0;
      continue;
    }
    if (nextMonth !== month) {
      month = nextMonth;
      day = 1;
      hour = 0;
      minute = 0;
    }

    const matchedDay = nextMatchingDay(cron, year, month, day);
    if (matchedDay === -1) {
      month++;
      day = 1;
      hour = 0;
      minute = 0;
      continue; // month 13 hits the sentinel and rolls the year
    }
    if (matchedDay !== day) {
      day = matchedDay;
      hour = 0;
      minute = 0;
    }

    const nextHour = cron.nextHour[hour];
    if (nextHour === -1) {
      day++;
      hour = 0;
      minute = 0;
      continue; // a day past the month's end finds no match and rolls the month
    }
    if (nextHour !== hour) {
      hour = nextHour;
      minute = 0;
    }

    const nextMinute = cron.nextMinute[minute];
    if (nextMinute === -1) {
      hour++;
      minute = 0;
      continue; // hour 24 hits the sentinel and rolls the day
    }
    return Date.UTC(year, month - 1, day, hour, nextMinute);
  }
  return null;
}

function nextMatchingDay(cron: CompiledCrontab, year: number, month: number, fromDay: number): number {
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (fromDay > daysInMonth) return -1;
  let weekday = new Date(Date.UTC(year, month - 1, fromDay)).getUTCDay();
  for (let day = fromDay; day <= daysInMonth; day++) {
    if (cron.dayOfMonth[day] && cron.dayOfWeek[weekday]) return day;
    weekday = weekday === 6 ? 0 : weekday + 1;
  }
  return -1;
}

function nextTable(values: number[], size: number): Int8Array {
  const table = new Int8Array(size + 1).fill(-1);
  let next = -1;
  const allowed = bitmap(values, size);
  for (let i = size - 1; i >= 0; i--) {
    if (allowed[i]) next = i;
    table[i] = next;
  }
  return table;
}

function bitmap(values: number[], size: number): Uint8Array {
  const map = new Uint8Array(size);
  for (const v of values) map[v] = 1;
  return map;
}
