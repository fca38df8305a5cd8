/**
 * One Celery crontab field (`minute`, `hour`, ...) into the set of values it allows.
 *
 * WHO DOES WHAT. cron-parser reads the values: numbers and their bounds, three-letter day and
 * month names, `*`, ranges and steps, expanded into the values they allow (and the `@daily`
 * macros, ./cron-macros.ts). Two things it does are not used. Its next-run arithmetic mishandles
 * DST, so ./crontab.ts computes instants itself from the values expanded here. Its grammar also
 * differs from Celery's `crontab_parser` (celery/schedules.py), which django-celery-beat rows go
 * through in Python. Those rows must mean the same here, so this module reads Celery's grammar
 * around cron-parser (test/beat-schedule/cron-parser.test.ts checks both against real Celery):
 *   - Wrap-around ranges. Celery reads `22-2` as 22,23,0,1,2 and `fri-mon` as Friday to Monday;
 *     cron-parser refuses a range whose end is below its start. cron-parser expands each side
 *     of the wrap, and the step is counted across the wrap here, as Celery's list slice does
 *     (`20-2/3` is 20,23,2).
 *   - Written-out names. Celery takes `Monday`, cron-parser only `mon`. They are shortened here
 *     before cron-parser sees them.
 *   - Names inside other text. cron-parser replaces any three letters that name a month or day
 *     wherever they stand, so `jan2` becomes 12 and `mon1` 11. Here a token is digits or a name,
 *     never a mix.
 *   - `A/N` without a range. cron-parser reads it as Vixie cron does (`A-max/N`), other crons
 *     read `A`, and Celery refuses it. Refused here too, so one text never means two things.
 *   - cron-parser's extensions `L`, `W`, `#`, `H` and `?` (Quartz and Jenkins syntax). Celery
 *     cannot read them and evaluation here works on plain value sets: refused, saying so.
 *   - Overlapping items. cron-parser refuses `1-5,3` as a duplicate; Celery takes the union.
 *     Each list item goes to cron-parser alone and the values are merged, which also lets an
 *     error name the item it is about.
 * Where this accepts more than Celery 5 does (kept because rows and code rely on them, and
 * noted in the README): month names (`jan`..`dec`), 7 for Sunday (`1-7` is Monday to Sunday), and
 * spaces around any list item (Celery allows them around numbers only).
 */
import { CronExpressionParser } from 'cron-parser';
import { closest } from '../../errors';
import { describeType } from './quote-value';

export type CronFieldName = 'minute' | 'hour' | 'dayOfWeek' | 'dayOfMonth' | 'monthOfYear';

export interface ParsedCronField {
  /** Allowed values, ascending, unique; dayOfWeek uses 0-6 with 0 = Sunday. */
  values: number[];
}

interface FieldRules {
  min: number;
  /** Largest value a user may write (7 for dayOfWeek, which means Sunday again). */
  max: number;
  /** Largest value `*` covers, and where a wrapped range wraps (6 for dayOfWeek, as in Celery). */
  starMax: number;
  /** Written-out names (and their three-letter forms), for the shortening and the hints. */
  names?: ReadonlyMap<string, number>;
  nameKind?: string;
  /** This field's place in a six-field cron-parser expression (seconds first). */
  position: number;
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

const FIELD_RULES: Readonly<Record<CronFieldName, FieldRules>> = {
  minute: {
    min: 0,
    max: 59,
    starMax: 59,
    position: 1,
    help: 'use 0-59, a list like 0,30, a range like 10-20 or a step like */15',
  },
  hour: {
    min: 0,
    max: 23,
    starMax: 23,
    position: 2,
    help: 'use 0-23, a list like 8,12, a range like 9-17 or a step like */2',
  },
  dayOfMonth: {
    min: 1,
    max: 31,
    starMax: 31,
    position: 3,
    help: 'use 1-31, a list like 1,15, a range like 1-7 or a step like */2',
  },
  monthOfYear: {
    min: 1,
    max: 12,
    starMax: 12,
    position: 4,
    names: nameTable(MONTH_NAMES, 1),
    nameKind: 'month name',
    help: 'use 1-12 or jan..dec, a list like 1,7, a range like jan-mar or a step like */3',
  },
  dayOfWeek: {
    min: 0,
    max: 7,
    starMax: 6,
    position: 5,
    names: nameTable(DAY_NAMES, 0),
    nameKind: 'day name',
    help: 'use 0-6 (0 = Sunday, 7 also means Sunday) or sun..sat, a list like mon,wed,fri, a range like mon-fri or a step like */2',
  },
};

/** cron-parser's fields, by our names. */
const PARSER_FIELD = {
  minute: 'minute',
  hour: 'hour',
  dayOfMonth: 'dayOfMonth',
  monthOfYear: 'month',
  dayOfWeek: 'dayOfWeek',
} as const;

export type ParseResult = { ok: true; field: ParsedCronField } | { ok: false; message: string };

class PartError extends Error {}

/** Parses one field's text. Never throws: a bad field is reported, not raised, so all fields get checked. */
export function parseCronField(name: CronFieldName, text: unknown): ParseResult {
  const rules = FIELD_RULES[name];
  if (typeof text !== 'string') {
    return { ok: false, message: `expected a string such as '*' but got ${describeType(text)}: ${rules.help}` };
  }
  if (text.trim() === '') return { ok: false, message: `is empty: write '*' for every value, or ${rules.help}` };
  const seen = new Set<number>();
  for (const raw of text.split(',')) {
    const item = raw.trim();
    try {
      if (item === '')
        throw new PartError(`'${text}' has an empty list item (two commas in a row or a trailing comma)`);
      // dayOfWeek 7 is Sunday; folded here so evaluation only ever sees 0-6.
      for (const v of parseItem(name, item, rules)) seen.add(name === 'dayOfWeek' && v === 7 ? 0 : v);
    } catch (err) {
      if (!(err instanceof PartError)) throw err;
      const where = item !== text.trim() && item !== '' ? ` (in '${text}')` : '';
      return { ok: false, message: `${err.message}${where}: ${rules.help}` };
    }
  }
  return { ok: true, field: { values: [...seen].sort((a, b) => a - b) } };
}

/** cron-parser's extensions: last day (L), nearest weekday (W), nth weekday (#), hashed (H), no value (?). */
const FOREIGN = /^(\?|L|LW|L-\d+|\d+L|\d+W|\d+#\d+|H(\(\d+-\d+\))?(\/\d+)?)$/i;

/** One list item: `*`, `*\/N`, `A`, `A-B` or `A-B/N`, A and B numbers or names. */
function parseItem(name: CronFieldName, item: string, rules: FieldRules): number[] {
  if (FOREIGN.test(item)) {
    throw new PartError(
      `'${item}' is Quartz or Jenkins syntax (L, W, #, H, ?), which Celery's crontab cannot read and a Python beat ` +
        `sharing these tables would refuse: list the values it stands for instead`,
    );
  }
  const slash = item.split('/');
  if (slash.length > 2) throw new PartError(`'${item}' has more than one '/'`);
  const [body, stepText] = slash;
  const step = stepText === undefined ? 1 : parseStep(item, stepText);

  if (body === '*') return expand(name, `*/${step}`, item);
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
    return [parseValue(name, item, body, rules)];
  }
  if (dash[0] === '') throw new PartError(`'${item}' is negative, and negative numbers are not supported`);
  const from = parseValue(name, item, dash[0], rules);
  const to = parseValue(name, item, dash[1], rules);
  if (from <= to) return expand(name, `${from}-${to}/${step}`, item);
  // Celery wraps a backwards range around the end of the field (celery/schedules.py _expand_range).
  // The wrap point is starMax so that `fri-tue/2` counts Sunday once, as Celery's 0-6 does.
  const wrapped = [
    ...(from <= rules.starMax ? expand(name, `${from}-${rules.starMax}`, item) : []),
    ...expand(name, `${rules.min}-${to}`, item),
  ];
  return step === 1 ? wrapped : wrapped.filter((_, i) => i % step === 0);
}

function parseStep(item: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new PartError(`'${item}' has step '${text}', which is not a whole number of at least 1 (e.g. */15)`);
  }
  return Number(text);
}

/**
 * One number or name, as written (7 stays 7, so that `0-7` is a whole week). Numbers are
 * checked and names resolved by cron-parser; written-out names are shortened first.
 */
function parseValue(name: CronFieldName, item: string, token: string, rules: FieldRules): number {
  if (token === '') throw new PartError(`'${item}' is missing a number`);
  if (/^\d+$/.test(token)) {
    expand(name, token, item, token); // throws, naming the token, when it is out of range
    return Number(token);
  }
  const lower = token.toLowerCase();
  if (!/^[a-z]+$/.test(lower) || !rules.names?.has(lower)) {
    if (!rules.names) throw new PartError(`'${token}' is not a number`);
    // Under four letters almost any name is "close" (foo → feb), so only longer typos get a hint.
    const hint = token.length >= 4 ? closest(lower, rules.names.keys()) : undefined;
    throw new PartError(`'${token}' is not a ${rules.nameKind} or number${hint ? ` (did you mean '${hint}'?)` : ''}`);
  }
  return expand(name, lower.slice(0, 3), item, token)[0];
}

const MEMO_LIMIT = 10_000;
const memo = new Map<string, number[] | string>();

/**
 * The values cron-parser gives `text` (a value, a range, or `*`, with an optional step) in
 * field `name`, or a PartError naming `token` (the item when absent). Remembered per text: the
 * same few items (`*`, `0`, `mon-fri`) make up most crontabs, and cron-parser takes ~0.1 ms each.
 */
function expand(name: CronFieldName, text: string, item: string, token = item): number[] {
  const key = `${name}\u0000${text}`;
  let found: number[] | string | undefined = memo.get(key);
  if (found === undefined) {
    const atoms = ['0', '*', '*', '*', '*', '*'];
    atoms[FIELD_RULES[name].position] = text;
    try {
      const field = CronExpressionParser.parse(atoms.join(' ')).fields[PARSER_FIELD[name]];
      // Plain values only: the foreign forms that would give 'L' were refused before this.
      found = (field.values as readonly (number | string)[]).filter((v): v is number => typeof v === 'number');
    } catch (err) {
      found = (err as Error).message;
    }
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(key, found);
  }
  if (typeof found !== 'string') return found;
  throw new PartError(translate(name, found, token));
}

/** cron-parser's message, in the words and with the token this field's errors use. */
function translate(name: CronFieldName, message: string, token: string): string {
  const rules = FIELD_RULES[name];
  if (/^Constraint error, got (value|range)/.test(message)) return `'${token}' is out of range`;
  if (/cannot resolve alias|Invalid characters/.test(message))
    return rules.names ? `'${token}' is not a ${rules.nameKind} or number` : `'${token}' is not a number`;
  return `'${token}' was not understood (${message})`;
}
