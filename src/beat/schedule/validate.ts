/**
 * Validation of a ScheduleSpec that came from outside (an admin form, an API body, a DB row).
 * Reports every problem, not the first, so a form can mark all bad inputs in one round trip.
 */
import { IANAZone } from 'luxon';
import { closest } from '../../errors';
import { parseCronField, type ParsedCronField } from './cron-fields';
import { describeType } from './quote-value';
import { CRON_FIELDS } from './crontab';
import { validateInterval } from './interval';
import { SOLAR_EVENTS, type FieldError } from './types';

const KINDS = ['interval', 'crontab', 'solar', 'clocked'];
/** The longest each month can be; February counts its leap day, which does come round. */
const MONTH_DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** Zones offered in the "did you mean" hint; the full list is Intl's. */
const ZONE_NAMES: readonly string[] = safeSupportedZones();

export function validateSchedule(spec: unknown): FieldError[] {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    return [
      {
        field: 'kind',
        message: `expected a schedule object but got ${describeType(spec)}: pass e.g. { kind: 'interval', every: 5, period: 'minutes' }`,
      },
    ];
  }
  const s = spec as Record<string, unknown>;
  switch (s.kind) {
    case 'interval':
      return validateInterval(s.every, s.period);
    case 'crontab':
      return validateCrontab(s);
    case 'solar':
      return validateSolar(s);
    case 'clocked':
      return validateClocked(s.clockedTime);
    default: {
      const hint = typeof s.kind === 'string' ? closest(s.kind.toLowerCase(), KINDS) : undefined;
      return [
        {
          field: 'kind',
          message:
            `${describeType(s.kind)} is not a schedule kind${hint ? ` (did you mean '${hint}'?)` : ''}: ` +
            `use one of ${KINDS.map((k) => `'${k}'`).join(', ')}`,
        },
      ];
    }
  }
}

function validateCrontab(s: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  const parsed: Partial<Record<(typeof CRON_FIELDS)[number], ParsedCronField>> = {};
  for (const name of CRON_FIELDS) {
    const result = parseCronField(name, s[name]);
    if (result.ok) parsed[name] = result.field;
    else errors.push({ field: name, message: result.message });
  }
  if (parsed.dayOfMonth && parsed.monthOfYear) {
    const days = parsed.dayOfMonth.values;
    const months = parsed.monthOfYear.values;
    // Without this check `30 2 31 2 *` would be accepted and then never run, silently.
    if (!months.some((m) => days.some((d) => d <= MONTH_DAYS[m]))) {
      errors.push({
        field: 'dayOfMonth',
        message:
          `day ${String(s.dayOfMonth)} never occurs in month ${String(s.monthOfYear)}, so the schedule would never run: ` +
          `pick days that exist in those months (February has at most 29) or add a month that has them`,
      });
    }
  }
  errors.push(...validateZone(s.timezone));
  return errors;
}

function validateZone(zone: unknown): FieldError[] {
  if (typeof zone !== 'string' || zone === '') {
    return [
      {
        field: 'timezone',
        message: `expected an IANA zone name but got ${describeType(zone)}: use e.g. Europe/Berlin or UTC`,
      },
    ];
  }
  if (isKnownZone(zone)) return [];
  const hint = closest(zone, ZONE_NAMES);
  return [
    {
      field: 'timezone',
      message: `unknown time zone '${zone}': use an IANA name such as Europe/Berlin or UTC${hint ? ` (did you mean '${hint}'?)` : ''}`,
    },
  ];
}

/**
 * Zones already found valid. luxon asks Intl for every check (~0.15 ms: a DateTimeFormat is built
 * each time), which was most of validating 10,000 crontabs for createMany. Bounded, since Intl
 * accepts any capitalisation of a name.
 */
const VALID_ZONES = new Set<string>();
function isKnownZone(zone: string): boolean {
  if (VALID_ZONES.has(zone)) return true;
  if (!IANAZone.isValidZone(zone)) return false;
  if (VALID_ZONES.size < 2000) VALID_ZONES.add(zone);
  return true;
}

function validateSolar(s: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  if (typeof s.event !== 'string' || !(SOLAR_EVENTS as readonly string[]).includes(s.event)) {
    const hint = typeof s.event === 'string' ? closest(s.event.toLowerCase(), SOLAR_EVENTS) : undefined;
    errors.push({
      field: 'event',
      message:
        `${describeType(s.event)} is not a solar event${hint ? ` (did you mean '${hint}'?)` : ''}: ` +
        `use one of ${SOLAR_EVENTS.join(', ')}`,
    });
  }
  errors.push(...validateDegrees('latitude', s.latitude, 90, 'north', 'e.g. 52.52 for Berlin'));
  errors.push(...validateDegrees('longitude', s.longitude, 180, 'east', 'e.g. 13.405 for Berlin'));
  return errors;
}

function validateDegrees(
  field: string,
  value: unknown,
  limit: number,
  positive: string,
  example: string,
): FieldError[] {
  if (typeof value === 'number' && Number.isFinite(value) && value >= -limit && value <= limit) return [];
  const what =
    typeof value === 'number' && Number.isFinite(value)
      ? `${value} is out of range`
      : `${describeType(value)} is not a number`;
  return [
    {
      field,
      message: `${what}: use decimal degrees from -${limit} to ${limit}, positive to the ${positive} (${example})`,
    },
  ];
}

function validateClocked(value: unknown): FieldError[] {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return [];
  const what = value instanceof Date ? 'an Invalid Date' : describeType(value);
  return [
    {
      field: 'clockedTime',
      message: `expected a valid Date but got ${what}: pass e.g. new Date('2026-12-01T09:00:00Z')`,
    },
  ];
}

function safeSupportedZones(): string[] {
  // Node 20 has Intl.supportedValuesOf; a runtime without it just loses the hint.
  const intl = Intl as { supportedValuesOf?: (key: string) => string[] };
  try {
    return intl.supportedValuesOf ? [...intl.supportedValuesOf('timeZone'), 'UTC'] : ['UTC'];
  } catch {
    return ['UTC'];
  }
}
