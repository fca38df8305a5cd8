/**
 * Human text for a schedule, for the admin's task list and the "next runs" preview.
 *
 * Rule of thumb: a shape is put into words only when the words are exactly true. `*\/7` in
 * the minute field runs at :00, :07 … :56 and then :00 again (a 4-minute gap), so it is not
 * "every 7 minutes"; only steps that divide the hour (or day) evenly get that phrase. Shapes
 * not special-cased fall back to the raw fields, `Cron "m h dom mon dow" (Zone)`, the order
 * django-celery-beat prints them in, because a raw crontab is better than a wrong sentence.
 */
import { compileCrontab, type CrontabSpec } from './crontab';
import type { ParsedCronField } from './cron-fields';
import type { IntervalPeriod, ScheduleSpec, SolarEvent } from './types';

const SINGULAR: Readonly<Record<IntervalPeriod, string>> = {
  days: 'day',
  hours: 'hour',
  minutes: 'minute',
  seconds: 'second',
  microseconds: 'microsecond',
};

const EVENT_TEXT: Readonly<Record<SolarEvent, string>> = {
  dawn_astronomical: 'astronomical dawn',
  dawn_nautical: 'nautical dawn',
  dawn_civil: 'civil dawn',
  sunrise: 'sunrise',
  solar_noon: 'solar noon',
  sunset: 'sunset',
  dusk_civil: 'civil dusk',
  dusk_nautical: 'nautical dusk',
  dusk_astronomical: 'astronomical dusk',
};

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH_NAMES = [
  '',
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
/** Longer lists than this read worse than the raw crontab. */
const MAX_LISTED = 6;

/** Assumes a spec that validateSchedule accepted. */
export function describeSchedule(spec: ScheduleSpec): string {
  switch (spec.kind) {
    case 'interval':
      return spec.every === 1 ? `Every ${SINGULAR[spec.period]}` : `Every ${spec.every} ${spec.period}`;
    case 'solar':
      return `At ${EVENT_TEXT[spec.event]} at ${spec.latitude.toFixed(4)}, ${spec.longitude.toFixed(4)}`;
    case 'clocked': {
      const iso = spec.clockedTime.toISOString(); // 2026-12-01T09:00:00.000Z
      const ms = iso.slice(19, 23);
      return `Once at ${iso.slice(0, 10)} ${iso.slice(11, 19)}${ms === '.000' ? '' : ms} UTC`;
    }
    case 'crontab':
      return describeCrontab(spec);
  }
}

function describeCrontab(spec: CrontabSpec): string {
  const { fields } = compileCrontab(spec);
  const time = describeTime(fields.minute.values, fields.hour.values);
  const days = time === null ? null : describeDays(fields.dayOfMonth, fields.dayOfWeek, fields.monthOfYear, time);
  if (time === null || days === null) {
    return `Cron "${spec.minute} ${spec.hour} ${spec.dayOfMonth} ${spec.monthOfYear} ${spec.dayOfWeek}" (${spec.timezone})`;
  }
  return `${time}${days}, ${spec.timezone}`;
}

function describeTime(minutes: number[], hours: number[]): string | null {
  const minuteStep = evenStep(minutes, 60);
  const hourStep = evenStep(hours, 24);
  if (hours.length === 24) {
    if (minuteStep !== null) return minuteStep === 1 ? 'Every minute' : `Every ${minuteStep} minutes`;
    if (minutes.length === 1) return minutes[0] === 0 ? 'Every hour' : `Every hour at minute ${minutes[0]}`;
    if (minutes.length <= MAX_LISTED) return `Every hour at minutes ${joinList(minutes.map(String))}`;
    return null;
  }
  if (hourStep !== null && minutes.length === 1) {
    return minutes[0] === 0 ? `Every ${hourStep} hours` : `Every ${hourStep} hours at minute ${minutes[0]}`;
  }
  const hourRuns = runs(hours);
  if (minutes.length === 1 && hourRuns.length === 1 && hourRuns[0][0] !== hourRuns[0][1]) {
    const [first, last] = hourRuns[0];
    return `Every hour from ${clock(first, minutes[0])} through ${clock(last, minutes[0])}`;
  }
  if (minuteStep !== null && hourRuns.length === 1) {
    const [first, last] = hourRuns[0];
    const every = minuteStep === 1 ? 'Every minute' : `Every ${minuteStep} minutes`;
    return `${every} from ${clock(first, 0)} through ${clock(last, 60 - minuteStep)}`;
  }
  if (minutes.length * hours.length <= MAX_LISTED) {
    const times = hours.flatMap((h) => minutes.map((m) => clock(h, m)));
    return `At ${joinList(times)}`;
  }
  return null;
}

/** Text appended after the time, starting with a space or comma; '' for every day; null when not describable. */
function describeDays(dom: ParsedCronField, dow: ParsedCronField, month: ParsedCronField, time: string): string | null {
  const domRestricted = dom.values.length < 31;
  const dowRestricted = dow.values.length < 7;
  const monthRestricted = month.values.length < 12;

  let text = '';
  if (domRestricted) {
    const domRuns = runs(dom.values);
    if (domRuns.length > MAX_LISTED) return null;
    const single = dom.values.length === 1;
    text += ` on day${single ? '' : 's'} ${joinList(domRuns.map(([a, b]) => runText(a, b, String)))} of the month`;
  } else if (!dowRestricted && time.startsWith('At')) {
    text += ' every day';
  }

  if (dowRestricted) {
    // Monday first, so that `sat,sun` reads "Saturday and Sunday" and `mon-fri` is one run.
    const mondayFirst = dow.values.map((d) => (d === 0 ? 7 : d)).sort((a, b) => a - b);
    const dowRuns = runs(mondayFirst);
    if (dowRuns.length > MAX_LISTED) return null;
    const name = (d: number) => DAY_NAMES[d % 7];
    const items = dowRuns.map(([a, b]) => runText(a, b, name));
    const oneRange = dowRuns.length === 1 && dowRuns[0][1] - dowRuns[0][0] >= 2;
    // Celery ANDs day of month and day of week; say so, or readers assume cron's OR.
    if (domRestricted) {
      const which = oneRange ? items[0] : `a ${joinList(items, 'or')}`;
      text += ` that ${dom.values.length === 1 ? 'falls' : 'fall'} on ${which}`;
    } else {
      text += oneRange ? `, ${items[0]}` : `, on ${joinList(items)}`;
    }
  }

  if (monthRestricted) {
    const monthRuns = runs(month.values);
    if (monthRuns.length > MAX_LISTED) return null;
    const name = (m: number) => MONTH_NAMES[m];
    const words =
      monthRuns.length === 1 && monthRuns[0][1] - monthRuns[0][0] >= 2
        ? `from ${name(monthRuns[0][0])} to ${name(monthRuns[0][1])}`
        : `in ${joinList(monthRuns.map(([a, b]) => runText(a, b, name)))}`;
    // After a weekday clause a bare "in June" would seem to qualify the weekday.
    text += dowRestricted ? `, ${words}` : ` ${words}`;
  }
  return text;
}

/**
 * N when `values` is exactly 0, N, 2N … and N divides `size`, so the gaps are all N,
 * including the wrap to the next hour or day. 1 for a full set; null otherwise.
 */
function evenStep(values: number[], size: number): number | null {
  if (values.length < 2 || values[0] !== 0 || size % values.length !== 0) return null;
  const step = size / values.length;
  return values.every((v, i) => v === i * step) ? step : null;
}

/** Consecutive values grouped as [first, last] pairs. */
function runs(values: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const v of values) {
    const last = out[out.length - 1];
    if (last && v === last[1] + 1) last[1] = v;
    else out.push([v, v]);
  }
  return out;
}

/** A run of one or two is listed; three or more reads as a range. */
function runText(first: number, last: number, name: (v: number) => string): string {
  if (first === last) return name(first);
  if (last === first + 1) return `${name(first)}, ${name(last)}`;
  return `${name(first)} to ${name(last)}`;
}

function joinList(items: string[], conjunction = 'and'): string {
  const flat = items.flatMap((item) => item.split(', '));
  return flat.length === 1 ? flat[0] : `${flat.slice(0, -1).join(', ')} ${conjunction} ${flat[flat.length - 1]}`;
}

function clock(hour: number, minute: number): string {
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}
