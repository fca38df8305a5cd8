/**
 * What cron-parser does for beat, and where it is kept out (src/beat/schedule/cron-fields.ts).
 *
 * cron-parser reads the values of a crontab field; around it, beat reads Celery's grammar, so
 * that a field means what Celery's crontab_parser makes of it. That is checked against Celery
 * itself: Debian's python3-celery, whose `celery.schedules.crontab_parser` is the parser
 * django-celery-beat rows go through in Python. And the two things cron-parser gets wrong for
 * beat are shown: its grammar where it differs from Celery's, and its next-run arithmetic
 * across DST, which is why beat computes instants itself (src/beat/schedule/crontab.ts).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CronExpressionParser } from 'cron-parser';
import { nextRuns, validateSchedule, type ScheduleSpec } from '../../src/beat/schedule';
import { parseCronField, type CronFieldName } from '../../src/beat/schedule/cron-fields';
import { normalizeSchedule } from '../../src/beat/schedule-input';
import { fc, propertyOptions } from '../property';

const PYTHON = '/usr/bin/python3'; // the pyenv python3 on PATH has no celery

/** Each request line: [[field, text], …]; each answer line: the values Celery allows, or null where it refuses. */
const CELERY_PARSER = `
import json, sys
from celery.schedules import crontab_parser
# (max_, min_) as celery.schedules.crontab passes them to crontab_parser for each field.
SPEC = {'minute': (60, 0), 'hour': (24, 0), 'dayOfWeek': (7, 0), 'dayOfMonth': (31, 1), 'monthOfYear': (12, 1)}
def parse(name, text):
    try:
        return sorted(crontab_parser(*SPEC[name]).parse(text))
    except Exception:
        return None
for line in sys.stdin:
    print(json.dumps([parse(name, text) for name, text in json.loads(line)]), flush=True)
`;

let celery: ChildProcessWithoutNullStreams;
let answers: AsyncIterator<string>;

beforeAll(() => {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  celery = spawn(PYTHON, ['-c', CELERY_PARSER], { env });
  answers = createInterface({ input: celery.stdout })[Symbol.asyncIterator]();
});
afterAll(() => {
  celery.stdin.end();
  celery.kill();
});

/** What Celery's crontab_parser makes of each field: its values, or null for a field it refuses. */
async function celeryParse(cases: [CronFieldName, string][]): Promise<(number[] | null)[]> {
  celery.stdin.write(JSON.stringify(cases) + '\n');
  const line = await answers.next();
  if (line.done) throw new Error(`python3-celery exited: is Debian's python3-celery installed at ${PYTHON}?`);
  return JSON.parse(line.value);
}

interface Field {
  name: CronFieldName;
  min: number;
  max: number;
}
const FIELDS: Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'dayOfMonth', min: 1, max: 31 },
  { name: 'monthOfYear', min: 1, max: 12 },
  { name: 'dayOfWeek', min: 0, max: 6 }, // Celery's range: 7 for Sunday is ours only
];
const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

/** A value as Celery takes it: a number (spaces around it are fine), or for days a name, short or written out, any case. */
function value(f: Field): fc.Arbitrary<string> {
  const number = fc
    .tuple(fc.integer({ min: f.min, max: f.max }), fc.constantFrom('', ' '))
    .map(([n, pad]) => `${pad}${n}${pad}`);
  if (f.name !== 'dayOfWeek') return number;
  const name = fc
    .tuple(fc.integer({ min: 0, max: 6 }), fc.boolean(), fc.constantFrom('lower', 'upper', 'title'))
    .map(([d, full, c]) => {
      const word = full ? DAYS[d] : DAYS[d].slice(0, 3);
      return c === 'lower' ? word : c === 'upper' ? word.toUpperCase() : word[0].toUpperCase() + word.slice(1);
    });
  return fc.oneof(number, name);
}

/** Every form Celery's grammar has: `*`, `*\/N`, values, ranges (wrapping too), ranges with steps; joined by commas. */
function fieldText(f: Field): fc.Arbitrary<string> {
  const trim = (v: fc.Arbitrary<string>) => v.map((s) => s.trim()); // Celery reads a range's ends with \w
  const step = fc.integer({ min: 1, max: f.max - f.min + 3 });
  const item = fc.oneof(
    fc.constant('*'),
    step.map((s) => `*/${s}`),
    value(f),
    fc.tuple(trim(value(f)), trim(value(f))).map(([a, b]) => `${a}-${b}`),
    fc.tuple(trim(value(f)), trim(value(f)), step).map(([a, b, s]) => `${a}-${b}/${s}`),
  );
  return fc.array(item, { minLength: 1, maxLength: 4 }).map((items) => items.join(','));
}

const anyField: fc.Arbitrary<[CronFieldName, string]> = fc
  .constantFrom(...FIELDS)
  .chain((f) => fieldText(f).map((text): [CronFieldName, string] => [f.name, text]));

describe('a field means here what it means to Celery', () => {
  test('every form Celery reads gives the same values here (real Celery 5, batches of 25)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyField, { minLength: 25, maxLength: 25 }), async (cases) => {
        const expected = await celeryParse(cases);
        cases.forEach(([name, text], i) => {
          const parsed = parseCronField(name, text);
          expect({ name, text, values: parsed.ok ? parsed.field.values : parsed.message }).toEqual({
            name,
            text,
            values: expected[i],
          });
        });
      }),
      propertyOptions(200),
    );
  }, 120_000);

  // Near the grammar: the pieces crontabs are written with, and those of cron-parser's extensions.
  const PIECES = '0 1 2 5 7 12 23 31 59 60 * / - , , mon Fri sunday jan dec L W # H ? x'.split(' ');
  const nearGrammar = fc.string({ unit: fc.constantFrom(...PIECES), maxLength: 6 });

  test('what beat accepts, Celery reads the same; whatever it refuses, it says why and what to write', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...FIELDS), nearGrammar), { minLength: 25, maxLength: 25 }),
        async (drawn) => {
          const cases = drawn.map(([f, text]): [CronFieldName, string] => [f.name, text]);
          const celeryValues = await celeryParse(cases);
          drawn.forEach(([f, text], i) => {
            const parsed = parseCronField(f.name, text);
            if (!parsed.ok) {
              expect(parsed.message).toMatch(/(:|, or) use \S/); // what would be right
              return;
            }
            const values = parsed.field.values;
            expect(values).toEqual([...new Set(values)].sort((a, b) => a - b));
            expect(values.every((v) => v >= f.min && v <= f.max)).toBe(true);
            // Beat's two documented extras, which Celery refuses: month names, and 7 for Sunday.
            const extra =
              (f.name === 'monthOfYear' && /[a-z]/i.test(text)) ||
              (f.name === 'dayOfWeek' && /(^|\D)0*7(\D|$)/.test(text));
            if (!extra)
              expect({ field: f.name, text, values }).toEqual({ field: f.name, text, values: celeryValues[i] });
          });
        },
      ),
      propertyOptions(400),
    );
  }, 120_000);
});

describe("cron-parser's grammar, where beat does not follow it", () => {
  /** The values cron-parser alone gives a field, or its error. */
  function cronParser(name: CronFieldName, text: string): (number | string)[] | string {
    const order: CronFieldName[] = ['minute', 'hour', 'dayOfMonth', 'monthOfYear', 'dayOfWeek'];
    const atoms = ['0', '*', '*', '*', '*', '*'];
    atoms[order.indexOf(name) + 1] = text;
    try {
      const fields = CronExpressionParser.parse(atoms.join(' ')).fields;
      return [...fields[name === 'monthOfYear' ? 'month' : name].values];
    } catch (err) {
      return (err as Error).message;
    }
  }

  test.each<[CronFieldName, string, unknown, string]>([
    ['monthOfYear', 'jan2', [12], "'jan2' is not a month name or number"], // jan → 1, then "12"
    ['dayOfWeek', 'mon1', expect.stringMatching(/got value 11/), "'mon1' is not a day name or number"],
    ['minute', '5/10', [5, 15, 25, 35, 45, 55], "'5/10' has a step without a range: write 5-59/10"], // Vixie's reading
    ['dayOfMonth', 'L', ['L'], "'L' is Quartz or Jenkins syntax"], // the last day of the month
    ['dayOfWeek', '5L', ['5L'], "'5L' is Quartz or Jenkins syntax"], // the last Friday
    ['dayOfWeek', '1#2', [1], "'1#2' is Quartz or Jenkins syntax"], // the second Monday
    ['minute', 'H', [expect.any(Number)], "'H' is Quartz or Jenkins syntax"], // a minute drawn at random
    ['hour', '?', Array.from({ length: 24 }, (_, h) => h), "'?' is Quartz or Jenkins syntax"], // no value: any hour
  ])('%s %p: cron-parser reads it its own way, beat refuses it', (name, text, cronParserReads, message) => {
    expect(cronParser(name, text)).toEqual(cronParserReads);
    const parsed = parseCronField(name, text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(message);
  });

  test.each<[CronFieldName, string, number[]]>([
    ['hour', '22-2', [0, 1, 2, 22, 23]], // wraps, as in Celery
    ['dayOfWeek', 'fri-mon', [0, 1, 5, 6]],
    ['hour', '20-2/3', [2, 20, 23]], // the step counts across the wrap
    ['minute', '1-5,3', [1, 2, 3, 4, 5]], // overlapping items: their union
    ['dayOfWeek', 'Monday,friday', [1, 5]], // written-out names
  ])('%s %p: cron-parser refuses it, beat reads it as Celery does', (name, text, values) => {
    expect(typeof cronParser(name, text)).toBe('string');
    expect(parseCronField(name, text)).toEqual({ ok: true, field: { values } });
  });
});

describe("cron-parser's macros", () => {
  const fields = (input: string) => {
    const { spec, errors } = normalizeSchedule(input, 'UTC');
    if (!spec) return errors;
    if (spec.kind !== 'crontab') throw new Error(`not a crontab: ${JSON.stringify(spec)}`);
    return `${spec.minute} ${spec.hour} ${spec.dayOfMonth} ${spec.monthOfYear} ${spec.dayOfWeek}`;
  };

  test.each([
    ['@yearly', '0 0 1 1 *'],
    ['@annually', '0 0 1 1 *'],
    ['@monthly', '0 0 1 * *'],
    ['@weekly', '0 0 * * 0'],
    ['@daily', '0 0 * * *'],
    ['@midnight', '0 0 * * *'], // Vixie's name, which beat took before cron-parser read the macros
    ['@hourly', '0 * * * *'],
    ['@minutely', '* * * * *'],
    ['@weekdays', '0 0 * * 1-5'],
    ['@weekends', '0 0 * * 0,6'],
    [' @DAILY ', '0 0 * * *'],
  ])('%p is %p', (macro, expected) => {
    expect(fields(macro)).toBe(expected);
  });

  test.each(['@secondly', '@reboot', '@fortnightly', '@'])('%p is refused, naming the macros beat knows', (macro) => {
    expect(fields(macro)).toEqual([
      {
        field: 'kind',
        message: expect.stringContaining('@hourly/@daily/@weekly/@monthly/@yearly/@weekdays/@weekends'),
      },
    ]);
  });
});

describe("cron-parser's next run across DST, which beat does not use", () => {
  // Beat's rule (src/beat/schedule/crontab.ts): a slot the clocks skip runs once, at the
  // transition; a slot shown twice runs once, at its first occurrence. If cron-parser ever
  // answers these as the rule does, it could compute instants too: these expectations then fail.
  const berlin = (expr: string): ScheduleSpec => {
    const [minute, hour, dayOfMonth, monthOfYear, dayOfWeek] = expr.split(' ');
    return { kind: 'crontab', minute, hour, dayOfMonth, monthOfYear, dayOfWeek, timezone: 'Europe/Berlin' };
  };
  const cronParserRuns = (expr: string, fromIso: string, n: number) => {
    const it = CronExpressionParser.parse(expr, { tz: 'Europe/Berlin', currentDate: fromIso });
    return Array.from({ length: n }, () => it.next().toDate().toISOString());
  };
  const beatRuns = (expr: string, fromIso: string, n: number) =>
    nextRuns(berlin(expr), new Date(fromIso), n).map((d) => d.toISOString());

  test('spring forward (2026-03-29, 02:00 → 03:00 CEST): 02:30 runs at 03:00, not 03:30', () => {
    expect(validateSchedule(berlin('30 2 * * *'))).toEqual([]);
    expect(beatRuns('30 2 * * *', '2026-03-28T12:00:00Z', 1)).toEqual(['2026-03-29T01:00:00.000Z']);
    expect(cronParserRuns('30 2 * * *', '2026-03-28T12:00:00Z', 1)).toEqual(['2026-03-29T01:30:00.000Z']);
  });

  test('every 15 minutes of the skipped hour: one run at 03:00, not four runs in the 03:00 hour', () => {
    expect(beatRuns('*/15 2 * * *', '2026-03-29T00:00:00Z', 2)).toEqual([
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:00:00.000Z',
    ]);
    expect(cronParserRuns('*/15 2 * * *', '2026-03-29T00:00:00Z', 4)).toEqual([
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T01:15:00.000Z',
      '2026-03-29T01:30:00.000Z',
      '2026-03-29T01:45:00.000Z',
    ]);
  });

  test('fall back (2026-10-25, 03:00 → 02:00 CET): asked in the second 02:00 hour, 02:30 does not run again', () => {
    // 01:10Z is 02:10 CET, the second pass; 02:30 already ran at 00:30Z in the first.
    expect(beatRuns('30 2 * * *', '2026-10-25T01:10:00Z', 1)).toEqual(['2026-10-26T01:30:00.000Z']);
    expect(cronParserRuns('30 2 * * *', '2026-10-25T01:10:00Z', 1)).toEqual(['2026-10-25T01:30:00.000Z']);
  });
});
