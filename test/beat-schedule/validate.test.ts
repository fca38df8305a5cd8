import {
  assertValidSchedule,
  nextRunAfter,
  ScheduleValidationError,
  validateSchedule,
  type FieldError,
} from '../../src/beat/schedule';

function cron(
  fields: Partial<Record<'minute' | 'hour' | 'dayOfMonth' | 'monthOfYear' | 'dayOfWeek' | 'timezone', unknown>>,
) {
  return {
    kind: 'crontab',
    minute: '*',
    hour: '*',
    dayOfMonth: '*',
    monthOfYear: '*',
    dayOfWeek: '*',
    timezone: 'UTC',
    ...fields,
  };
}

function only(errors: FieldError[]): FieldError {
  expect(errors).toHaveLength(1);
  return errors[0];
}

describe('crontab fields', () => {
  test.each([
    ['minute', '*'],
    ['minute', '0,30'],
    ['minute', '*/15'],
    ['minute', '10-50/10'],
    ['minute', ' 0 , 30 '],
    ['hour', '9-17'],
    ['hour', '22-2'],
    ['dayOfWeek', 'mon-fri'],
    ['dayOfWeek', 'SUN'],
    ['dayOfWeek', 'Monday,friday'],
    ['dayOfWeek', '0-7'],
    ['dayOfWeek', '7'],
    ['dayOfWeek', 'fri-mon'],
    ['dayOfMonth', '1-31/2'],
    ['monthOfYear', 'jan-mar'],
    ['monthOfYear', 'Dec'],
    ['monthOfYear', '*/3'],
  ])('%s %p is accepted', (field, value) => {
    expect(validateSchedule(cron({ [field]: value }))).toEqual([]);
  });

  test.each([
    ['minute', '61', "'61' is out of range: use 0-59"],
    ['minute', '0,61', "'61' is out of range (in '0,61'): use 0-59"],
    ['hour', '24', "'24' is out of range: use 0-23, a list like 8,12, a range like 9-17 or a step like */2"],
    ['dayOfMonth', '0', "'0' is out of range: use 1-31"],
    ['monthOfYear', '13', "'13' is out of range: use 1-12 or jan..dec"],
    ['dayOfWeek', '8', "'8' is out of range: use 0-6 (0 = Sunday, 7 also means Sunday)"],
    ['dayOfWeek', 'mnday', "'mnday' is not a day name or number (did you mean 'monday'?)"],
    ['dayOfWeek', 'xyz', "'xyz' is not a day name or number: use 0-6"],
    ['monthOfYear', 'janu', "'janu' is not a month name or number (did you mean 'jan'?)"],
    ['minute', 'abc', "'abc' is not a number: use 0-59"],
    ['minute', '*/0', "'*/0' has step '0', which is not a whole number of at least 1"],
    ['minute', '*/x', "'*/x' has step 'x'"],
    ['minute', '5/10', "'5/10' has a step without a range: write 5-59/10"],
    ['minute', '1-2-3', "'1-2-3' has more than one '-'"],
    ['minute', '-5', "'-5' is negative, and negative numbers are not supported"],
    ['minute', '0,,30', 'has an empty list item'],
    ['minute', '', 'is empty: write'],
    ['minute', 5, "expected a string such as '*' but got number 5"],
    ['hour', '1/2/3', "has more than one '/'"],
  ])('%s %p is rejected: %s', (field, value, message) => {
    const error = only(validateSchedule(cron({ [field]: value })));
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });

  test('every bad field is reported at once, each naming its field', () => {
    const errors = validateSchedule(
      cron({ minute: '61', hour: '24', dayOfMonth: '32', monthOfYear: '0', dayOfWeek: 'funday' }),
    );
    expect(errors.map((e) => e.field)).toEqual(['minute', 'hour', 'dayOfWeek', 'dayOfMonth', 'monthOfYear']);
  });

  test('a day that no chosen month has is rejected instead of never running', () => {
    const error = only(validateSchedule(cron({ dayOfMonth: '30,31', monthOfYear: 'feb' })));
    expect(error.field).toBe('dayOfMonth');
    expect(error.message).toContain('never run');
    expect(validateSchedule(cron({ dayOfMonth: '29', monthOfYear: '2' }))).toEqual([]); // leap years
    expect(validateSchedule(cron({ dayOfMonth: '31', monthOfYear: '2,3' }))).toEqual([]);
  });
});

describe('time zone', () => {
  test('an unknown zone says what to use, and suggests the closest name', () => {
    const error = only(validateSchedule(cron({ timezone: 'Europe/Berln' })));
    expect(error.field).toBe('timezone');
    expect(error.message).toMatch(/^unknown time zone 'Europe\/Berln': use an IANA name such as Europe\/Berlin or UTC/);
    expect(error.message).toContain("did you mean 'Europe/Berlin'?");
  });

  test.each(['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata'])(
    '%s is valid',
    (timezone) => {
      expect(validateSchedule(cron({ timezone }))).toEqual([]);
    },
  );

  test.each([[''], [undefined], [42]])('%p is rejected', (timezone) => {
    expect(only(validateSchedule(cron({ timezone }))).field).toBe('timezone');
  });
});

describe('interval', () => {
  test('valid intervals', () => {
    expect(validateSchedule({ kind: 'interval', every: 5, period: 'minutes' })).toEqual([]);
    expect(validateSchedule({ kind: 'interval', every: 2000, period: 'microseconds' })).toEqual([]);
  });

  test.each([
    [{ every: 0, period: 'minutes' }, 'every', 'not a whole number of at least 1'],
    [{ every: 1.5, period: 'minutes' }, 'every', 'not a whole number of at least 1'],
    [{ every: '5', period: 'minutes' }, 'every', "the string '5'"],
    [{ every: 5, period: 'minute' }, 'period', "did you mean 'minutes'?"],
    [{ every: 5, period: 'weeks' }, 'period', 'use one of days, hours, minutes, seconds, microseconds'],
    [{ every: 1500, period: 'microseconds' }, 'every', 'use a multiple of 1000'],
    [{ every: 999, period: 'microseconds' }, 'every', 'use a multiple of 1000 (e.g. 1000)'],
    [{ every: 4e12, period: 'days' }, 'every', 'longer than a Date can reach'],
  ])('%p → %s: %s', (fields, field, message) => {
    const error = only(validateSchedule({ kind: 'interval', ...fields }));
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });
});

describe('solar', () => {
  test('a valid solar schedule', () => {
    expect(validateSchedule({ kind: 'solar', event: 'sunrise', latitude: 52.52, longitude: 13.405 })).toEqual([]);
    expect(validateSchedule({ kind: 'solar', event: 'dusk_astronomical', latitude: -90, longitude: 180 })).toEqual([]);
  });

  test('bad event, latitude and longitude are each reported', () => {
    const errors = validateSchedule({ kind: 'solar', event: 'sunrse', latitude: 91, longitude: -180.5 });
    expect(errors.map((e) => e.field)).toEqual(['event', 'latitude', 'longitude']);
    expect(errors[0].message).toContain("did you mean 'sunrise'?");
    expect(errors[1].message).toContain('use decimal degrees from -90 to 90');
    expect(errors[2].message).toContain('use decimal degrees from -180 to 180');
    expect(only(validateSchedule({ kind: 'solar', event: 'sunset', latitude: NaN, longitude: 0 })).field).toBe(
      'latitude',
    );
  });
});

describe('clocked and kind', () => {
  test('clockedTime must be a valid Date', () => {
    expect(validateSchedule({ kind: 'clocked', clockedTime: new Date('2026-12-01T09:00:00Z') })).toEqual([]);
    expect(only(validateSchedule({ kind: 'clocked', clockedTime: new Date('nope') })).message).toContain(
      'Invalid Date',
    );
    expect(only(validateSchedule({ kind: 'clocked', clockedTime: '2026-12-01' })).field).toBe('clockedTime');
  });

  test('unknown kind and non-objects', () => {
    expect(only(validateSchedule({ kind: 'cron' })).message).toContain("did you mean 'crontab'?");
    expect(only(validateSchedule(null)).field).toBe('kind');
    expect(only(validateSchedule('*/5 * * * *')).message).toContain('expected a schedule object');
  });
});

describe('assertValidSchedule and evaluation of invalid specs', () => {
  test('throws ScheduleValidationError listing every field error', () => {
    let thrown: unknown;
    try {
      assertValidSchedule(cron({ minute: '61', timezone: 'Mars/Base' }));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ScheduleValidationError);
    const error = thrown as ScheduleValidationError;
    expect(error.name).toBe('ScheduleValidationError');
    expect(error.errors.map((e) => e.field)).toEqual(['minute', 'timezone']);
    expect(error.message).toMatch(
      /^Invalid schedule: minute: '61' is out of range: use 0-59.*; timezone: unknown time zone 'Mars\/Base'/,
    );
  });

  test('does not throw for a valid spec', () => {
    expect(() => assertValidSchedule(cron({ minute: '*/5' }))).not.toThrow();
  });

  test('nextRunAfter refuses an unparsable crontab or an unknown zone instead of returning nonsense', () => {
    expect(() => nextRunAfter(cron({ minute: '61' }) as never, new Date())).toThrow(ScheduleValidationError);
    expect(() => nextRunAfter(cron({ timezone: 'Nowhere/Land' }) as never, new Date())).toThrow(/unknown time zone/);
  });
});
