import { fc } from '../property';

/**
 * Generators for hostile admin requests (issue 15): wrong types, missing fields, huge and tiny
 * numbers, long strings, NUL and lone surrogates, deep nesting, hostile keys, bad dates, zones
 * and crontabs, bodies that are not JSON or not labelled JSON. Each route's body is a mix of a
 * plausible body (so a share of requests pass and write), the same with a few fields corrupted
 * or added, any JSON at all, and raw text.
 */

/** A request body as sent on the wire: no text means no body. */
export interface WireBody {
  text?: string;
  type?: string;
  encoding?: string;
}

/**
 * JSON.stringify cannot write `1e400` (JSON.parse reads it as Infinity), a body nested 100,000
 * deep (it recurses) or text that is not JSON: a value `raw(t)` is written as `t` itself.
 */
const RAW = '\u0001raw:';
export const raw = (text: string): string => RAW + text;
export function jsonText(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.replace(/"\\u0001raw:((?:[^"\\]|\\.)*)"/g, (_m, inner: string) => JSON.parse(`"${inner}"`));
}

export const deepArray = (n: number): string => '['.repeat(n) + ']'.repeat(n);
export const deepObject = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

export const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype');
/** Keys no route knows: typos, inherited names, hostile keys, empty and odd text. */
export const oddKey = fc.oneof(
  hostileKey,
  fc.constantFrom('', ' ', 'toString', 'hasOwnProperty', 'valueOf', 'a.b', '[0]', 'Name', 'sched', 'enabeld', 'id'),
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.constantFrom('a\u0000', '\ud800', 'x'.repeat(300)),
);

export const badText = fc.constantFrom(
  'a\u0000b',
  '\u0000',
  '\ud800',
  'x\udc00',
  '\udbff\udbff',
  'ok\ud83d',
  '\u0000\ud800',
  '\u202e\u200b',
  '<script>alert(1)</script>',
  "'; DROP TABLE x; --",
  '%00',
  '\\u0000',
);
export const longText = fc.oneof(
  fc.integer({ min: 100, max: 20_000 }).map((n) => 'x'.repeat(n)),
  fc.string({ unit: 'binary', minLength: 200, maxLength: 600 }),
);
export const anyText = fc.oneof(
  { arbitrary: fc.string({ maxLength: 20 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 2 },
  { arbitrary: badText, weight: 2 },
  { arbitrary: longText, weight: 1 },
);

export const weirdNumber = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    1,
    9,
    10,
    255,
    256,
    2 ** 31 - 1,
    2 ** 31,
    -(2 ** 31),
    -(2 ** 31) - 1,
    2 ** 53,
    2 ** 53 + 2,
    1e21,
    1e308,
    -1e308,
    5e-324,
    0.5,
    1e-7,
    3_650_000,
    100_000_000,
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(
    raw('1e400'),
    raw('-1e400'),
    raw('1e-400'),
    raw('-0'),
    raw('1.0'),
    raw('123456789012345678901234567890'),
  ),
);

/** Nesting at, around and far past the admin's limit (64). */
export const deepValue = fc.oneof(
  fc.integer({ min: 60, max: 70 }).map((n) => raw(deepArray(n))),
  fc.integer({ min: 60, max: 70 }).map((n) => raw(deepObject(n))),
  fc.constantFrom(raw(deepArray(3_000)), raw(deepArray(20_000)), raw(deepObject(5_000))),
);

/** JSON with the text, keys and numbers above mixed in. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    weirdNumber,
    anyText,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), oddKey), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Any value, of any type, for a field expecting something else. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  weirdNumber,
  anyText,
  fc.constant([]),
  fc.constant({}),
  hostileJson,
  deepValue,
);

export const instantText = fc.oneof(
  fc.constantFrom(
    '-004714-01-01T00:00:00.000Z',
    '-004713-11-24T00:00:00.000Z',
    '-271821-04-20T00:00:00.000Z',
    '+275760-09-13T00:00:00.000Z',
    '+275760-09-13T00:00:00.001Z',
    '2026-02-30T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-01',
    '2026-01-01T00:00',
    '2026-06-01T12:00:00+14:00',
    '2026-06-01T12:00:00+99:00',
    '2099-01-01T00:00:00Z',
    '1970-01-01T00:00:00Z',
    'yesterday',
    'Invalid Date',
    '0',
    '',
    ' ',
  ),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);

export const zone = fc.constantFrom(
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Australia/Lord_Howe',
  'Asia/Kolkata',
  'Mars/Olympus',
  'utc',
  'Etc/GMT+14',
  'Etc/GMT-15',
  '+01:00',
  'UTC+1',
  'Europe/Berlin\u0000',
  '',
  'local',
  'EST5EDT',
  'Asia/Kolkata ',
  'x'.repeat(100),
);

export const cronField = fc.oneof(
  fc.constantFrom(
    '*',
    '*/15',
    '0',
    '5',
    '59',
    '60',
    '-1',
    '9-17',
    '17-9',
    '22-2',
    '*/0',
    '1-',
    ',',
    '1,,2',
    'L',
    'W',
    '5#3',
    '?',
    'H',
    '5/10',
    'mon-fri',
    'fri-mon',
    'sunday',
    'jan',
    'foo',
    '1-5/2',
    '*/1000000000000',
    ' ',
    '',
    '31',
    '2',
    '29',
    Array.from({ length: 120 }, (_, i) => String(i % 60)).join(','),
  ),
  anyText,
);

export const cronText = fc.oneof(
  fc.constantFrom(
    '* * * * *',
    '0 3 * * *',
    '*/5 9-17 * * 1-5',
    '30 2 * * *',
    '0 0 31 2 *',
    '0 0 29 2 *',
    '@daily',
    '@hourly',
    '@reboot',
    '@yearly',
    '* * * *',
    '* * * * * *',
    '61 * * * *',
    '0 0 L * *',
  ),
  fc.tuple(cronField, cronField, cronField, cronField, cronField).map((f) => f.join(' ')),
);

/** An instant Postgres and a Date both hold, from 1970 to 2100. */
export const goodInstant = fc
  .date({ min: new Date(0), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
export const instant = fc.oneof({ arbitrary: goodInstant, weight: 3 }, { arbitrary: instantText, weight: 1 });

/** Schedules that are valid, in each of the forms the admin reads. */
export const goodSchedule: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: 1, max: 86_400 }),
  fc.constantFrom('* * * * *', '0 3 * * *', '*/5 9-17 * * 1-5', '30 2 * * *', '0 0 29 2 *', '@daily', '@weekdays'),
  fc.record({
    kind: fc.constant('interval'),
    every: fc.integer({ min: 1, max: 1000 }),
    period: fc.constantFrom('seconds', 'minutes', 'hours', 'days', 'microseconds'),
  }),
  fc.record(
    {
      kind: fc.constant('crontab'),
      minute: fc.constantFrom('*', '0', '*/15', '5,35'),
      hour: fc.constantFrom('*', '3', '9-17', '22-2'),
      dayOfWeek: fc.constantFrom('*', 'mon-fri', 'sun'),
      timezone: fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe'),
    },
    { requiredKeys: ['kind'] },
  ),
  fc.record({
    kind: fc.constant('solar'),
    event: fc.constantFrom('sunrise', 'sunset', 'solar_noon'),
    latitude: fc.double({ min: -60, max: 60, noNaN: true }),
    longitude: fc.double({ min: -180, max: 180, noNaN: true }),
  }),
  fc.record({
    kind: fc.constant('clocked'),
    clockedTime: fc
      .date({ min: new Date('2030-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
      .map((d) => d.toISOString()),
  }),
);

/** Any schedule: mostly valid ones, and everything the schedule parser must refuse. */
export const schedule: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: goodSchedule, weight: 12 },
  { arbitrary: fc.constantFrom(1, 30, 60, 0.5, 3600), weight: 3 },
  { arbitrary: weirdNumber, weight: 1 },
  { arbitrary: cronText, weight: 2 },
  {
    arbitrary: fc.record(
      {
        kind: fc.constant('interval'),
        every: fc.oneof(fc.integer({ min: 1, max: 1000 }), weirdNumber, wrongValue),
        period: fc.oneof(
          fc.constantFrom('seconds', 'minutes', 'hours', 'days', 'microseconds'),
          fc.constantFrom('weeks', 'Seconds', 'second', ''),
          wrongValue,
        ),
      },
      { requiredKeys: ['kind'] },
    ),
    weight: 3,
  },
  {
    arbitrary: fc.record(
      {
        kind: fc.constant('crontab'),
        minute: cronField,
        hour: cronField,
        dayOfWeek: cronField,
        dayOfMonth: cronField,
        monthOfYear: cronField,
        timezone: zone,
        minutes: fc.constant('5'),
      },
      { requiredKeys: ['kind'] },
    ),
    weight: 3,
  },
  {
    arbitrary: fc.record(
      {
        kind: fc.constant('solar'),
        event: fc.oneof(fc.constantFrom('sunrise', 'sunset', 'dawn_civil', 'solar_noon', 'dusk_nautical'), anyText),
        latitude: fc.oneof(fc.double({ min: -90, max: 90, noNaN: true }), weirdNumber, wrongValue),
        longitude: fc.oneof(fc.double({ min: -180, max: 180, noNaN: true }), weirdNumber, wrongValue),
      },
      { requiredKeys: ['kind'] },
    ),
    weight: 2,
  },
  {
    arbitrary: fc.record(
      { kind: fc.constant('clocked'), clockedTime: fc.oneof(instantText, wrongValue) },
      { requiredKeys: ['kind'] },
    ),
    weight: 2,
  },
  {
    arbitrary: fc.dictionary(fc.oneof(fc.constantFrom('kind', 'every', 'period', 'minute'), oddKey), wrongValue, {
      maxKeys: 4,
    }),
    weight: 1,
  },
  { arbitrary: wrongValue, weight: 1 },
);

/** A field whose value is usually plausible and sometimes anything at all. */
export function field<T>(plausible: fc.Arbitrary<T>, hostileWeight = 1): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: plausible, weight: 4 }, { arbitrary: wrongValue, weight: hostileWeight });
}

/**
 * The body of one request: a plausible object (mostly valid), the same with fields corrupted and
 * keys added, any JSON at all, or raw text; labelled JSON mostly, sometimes not, sometimes with a
 * content encoding it does not have.
 */
export function wireBody(
  plausible: fc.Arbitrary<Record<string, unknown>>,
  options: { allowEmpty?: boolean } = {},
): fc.Arbitrary<WireBody> {
  const corrupted = fc
    .tuple(plausible, fc.dictionary(oddKey, wrongValue, { minKeys: 1, maxKeys: 3 }), fc.boolean())
    .map(([body, extra, overwrite]) => (overwrite ? { ...body, ...extra } : { ...extra, ...body }));
  const value = fc.oneof(
    { arbitrary: plausible, weight: 6 },
    { arbitrary: corrupted, weight: 3 },
    { arbitrary: hostileJson, weight: 1 },
    { arbitrary: wrongValue, weight: 1 },
  );
  const text = fc.oneof(
    { arbitrary: value.map(jsonText), weight: 20 },
    {
      arbitrary: fc.constantFrom(
        '',
        '{',
        '{"a":1,}',
        "{'a':1}",
        'null',
        '[]',
        '"text"',
        '1e400',
        '{"a":1}{"b":2}',
        '\ufeff{}',
        '{"__proto__":{"polluted":true}}',
        '{"constructor":{"prototype":{"x":1}}}',
        deepArray(100_000),
        `{"a":"${'x'.repeat(110_000)}"}`,
      ),
      weight: 1,
    },
  );
  const type = fc.oneof(
    { arbitrary: fc.constant('application/json'), weight: 20 },
    {
      arbitrary: fc.constantFrom(
        'application/json; charset=utf-8',
        'application/json; charset=latin1',
        'application/json; charset=utf-16',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/vnd.api+json',
      ),
      weight: 1,
    },
  );
  const encoding = fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 30 },
    { arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-unknown'), weight: 1 },
  );
  const sent = fc.record({ text, type, encoding }, { requiredKeys: ['text', 'type'] }) as fc.Arbitrary<WireBody>;
  if (!options.allowEmpty) return sent;
  const empty = fc.constantFrom<WireBody>(
    {},
    { type: 'application/json' },
    { text: '{}', type: 'application/json' },
    { text: '', type: 'application/json' },
  );
  return fc.oneof({ arbitrary: empty, weight: 3 }, { arbitrary: sent, weight: 2 });
}

/** A URL segment for an id: usually one the test set up, otherwise junk. */
export function pathId(good: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: good, weight: 6 },
    {
      arbitrary: fc.constantFrom(
        '0',
        '-1',
        '1.5',
        '2147483648',
        '99999999999',
        'abc',
        '%ZZ',
        '%',
        'a%00b',
        '%ED%A0%80',
        '%F0%9F%98%80',
        '__proto__',
        'constructor',
        encodeURIComponent('x'.repeat(300)),
        '1e3',
        '%20',
      ),
      weight: 2,
    },
    { arbitrary: fc.string({ minLength: 1, maxLength: 12 }).map(encodeURIComponent), weight: 1 },
  );
}
