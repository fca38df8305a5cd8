/**
 * Parsing of one Celery crontab field (`minute`, `hour`, ...) into the set of values it allows.
 *
 * The grammar is Celery's `crontab_parser` (celery/schedules.py), so a row django-celery-beat
 * accepted means the same thing here:
 *   `*`, `*\/N`, `A`, `A-B`, `A-B/N`, joined with commas.
 * Two deliberate differences, both only accepting more:
 *   - month names (`jan`..`dec`) in monthOfYear: Celery only knows day names, but every other
 *     cron accepts month names and rejecting them helps nobody;
 *   - 7 as Sunday in dayOfWeek, as Vixie cron does (so `1-7` is Monday to Sunday).
 * Like Celery, a range whose end is below its start wraps around (`22-2` is 22,23,0,1,2 and
 * `fri-mon` is Friday to Monday), and a step keeps every Nth value of the expanded range.
 * Like Celery, `A/N` without a range is rejected: Vixie reads it as `A-max/N`, others as `A`,
 * so accepting it would make the same text mean different things in different tools.
 */
import { closest } from '../../errors';
import { describeType } from './quote-value';

export type CronFieldName = 'minute' | 'hour' | 'dayOfWeek' | 'dayOfMonth' | 'monthOfYear';

/** One comma-separated item, kept for describeSchedule(). `from`/`to` are as written (7 stays 7). */
export type CronPart =
  | { type: 'star'; step: number }
  | { type: 'range'; from: number; to: number; step: number }
  | { type: 'value'; value: number };

export interface ParsedCronField {
  /** Allowed values, ascending, unique; dayOfWeek uses 0-6 with 0 = Sunday. */
  values: number[];
  parts: CronPart[];
}

interface FieldRules {
  min: number;
  /** Largest value a user may write (7 for dayOfWeek, which means Sunday again). */
  max: number;
  /** Largest value `*` covers (6 for dayOfWeek). */
  starMax: number;
  names?: ReadonlyMap<string, number>;
  nameKind?: string;
  /** What would be right: appended to every error for this field. */
  help: string;
}

const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTH_NAMES = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

function nameTable(names: string[], first: number): Map<string, number> {
  const table = new Map<string, number>();
  names.forEach((name, i) => {
    table.set(name, i + first);
    table.set(name.slice(0, 3), i + first);
  });
  return table;
}

export const FIELD_RULES: Readonly<Record<CronFieldName, FieldRules>> = {
  minute: { min: 0, max: 59, starMax: 59, help: 'use 0-59, a list like 0,30, a range like 10-20 or a step like */15' },
  hour: { min: 0, max: 23, starMax: 23, help: 'use 0-23, a list like 8,12, a range like 9-17 or a step like */2' },
  dayOfWeek: {
    min: 0,
    max: 7,
    starMax: 6,
    names: nameTable(DAY_NAMES, 0),
    nameKind: 'day name',
    help: 'use 0-6 (0 = Sunday, 7 also means Sunday) or sun..sat, a list like mon,wed,fri, a range like mon-fri or a step like */2',
  },
  dayOfMonth: { min: 1, max: 31, starMax: 31, help: 'use 1-31, a list like 1,15, a range like 1-7 or a step like */2' },
  monthOfYear: {
    min: 1,
    max: 12,
    starMax: 12,
    names: nameTable(MONTH_NAMES, 1),
    nameKind: 'month name',
    help: 'use 1-12 or jan..dec, a list like 1,7, a range like jan-mar or a step like */3',
  },
};

export type ParseResult = { ok: true; field: ParsedCronField } | { ok: false; message: string };

class PartError extends Error {}

/** Parses one field's text. Never throws: a bad field is reported, not raised, so all fields get checked. */
export function parseCronField(name: CronFieldName, text: unknown): ParseResult {
  const rules = FIELD_RULES[name];
  if (typeof text !== 'string') {
    return { ok: false, message: `expected a string such as '*' but got ${describeType(text)}: ${rules.help}` };
  }
  if (text.trim() === '') return { ok: false, message: `is empty: write '*' for every value, or ${rules.help}` };
  const parts: CronPart[] = [];
  const seen = new Set<number>();
  for (const raw of text.split(',')) {
    const item = raw.trim();
    try {
      if (item === '')
        throw new PartError(`'${text}' has an empty list item (two commas in a row or a trailing comma)`);
      const { part, values } = parsePart(item, rules);
      parts.push(part);
      // dayOfWeek 7 is Sunday; fold it here so evaluation only ever sees 0-6.
      for (const v of values) seen.add(name === 'dayOfWeek' && v === 7 ? 0 : v);
    } catch (err) {
      if (!(err instanceof PartError)) throw err;
      const where = item !== text.trim() && item !== '' ? ` (in '${text}')` : '';
      return { ok: false, message: `${err.message}${where}: ${rules.help}` };
    }
  }
  return { ok: true, field: { values: [...seen].sort((a, b) => a - b), parts } };
}

function parsePart(item: string, rules: FieldRules): { part: CronPart; values: number[] } {
  const slash = item.split('/');
  if (slash.length > 2) throw new PartError(`'${item}' has more than one '/'`);
  const [body, stepText] = slash;
  const step = stepText === undefined ? 1 : parseStep(item, stepText);

  if (body === '*') {
    const values = everyNth(span(rules.min, rules.starMax), step);
    return { part: { type: 'star', step }, values };
  }
  const dash = body.split('-');
  if (dash.length > 2) {
    throw new PartError(
      body.startsWith('-')
        ? `'${item}' is negative, and negative numbers are not supported`
        : `'${item}' has more than one '-'`,
    );
  }
  if (dash.length === 1) {
    if (stepText !== undefined) {
      throw new PartError(
        `'${item}' has a step without a range: write ${body}-${rules.max}/${step} (from ${body} on, every ${step}) or */${step}`,
      );
    }
    const value = parseValue(item, body, rules);
    return { part: { type: 'value', value }, values: [value] };
  }
  if (dash[0] === '') throw new PartError(`'${item}' is negative, and negative numbers are not supported`);
  const from = parseValue(item, dash[0], rules);
  const to = parseValue(item, dash[1], rules);
  // Celery wraps a backwards range around the end of the field (celery/schedules.py _expand_range).
  // The wrap point is starMax so that `fri-tue/2` counts Sunday once, as Celery's 0-6 does.
  const expanded = from <= to ? span(from, to) : [...span(from, rules.starMax), ...span(rules.min, to)];
  return { part: { type: 'range', from, to, step }, values: everyNth(expanded, step) };
}

function parseStep(item: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new PartError(`'${item}' has step '${text}', which is not a whole number of at least 1 (e.g. */15)`);
  }
  return Number(text);
}

function parseValue(item: string, token: string, rules: FieldRules): number {
  if (token === '') throw new PartError(`'${item}' is missing a number`);
  if (/^\d+$/.test(token)) {
    const value = Number(token);
    if (value < rules.min || value > rules.max) throw new PartError(`'${token}' is out of range`);
    return value;
  }
  const named = rules.names?.get(token.toLowerCase());
  if (named !== undefined) return named;
  if (!rules.names) throw new PartError(`'${token}' is not a number`);
  // Under four letters almost any name is "close" (foo → feb), so only longer typos get a hint.
  const hint = token.length >= 4 ? closest(token.toLowerCase(), rules.names.keys()) : undefined;
  throw new PartError(`'${token}' is not a ${rules.nameKind} or number${hint ? ` (did you mean '${hint}'?)` : ''}`);
}

function span(from: number, to: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v++) out.push(v);
  return out;
}

function everyNth(values: number[], step: number): number[] {
  return step === 1 ? values : values.filter((_, i) => i % step === 0);
}
