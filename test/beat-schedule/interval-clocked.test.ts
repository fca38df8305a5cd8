import { InvalidInstantError, nextRunAfter, nextRuns, type ScheduleSpec } from '../../src/beat/schedule';

const at = (iso: string) => new Date(iso);

describe('interval', () => {
  test.each<[ScheduleSpec, string]>([
    [{ kind: 'interval', every: 5, period: 'minutes' }, '2026-01-01T00:05:00.000Z'],
    [{ kind: 'interval', every: 2, period: 'hours' }, '2026-01-01T02:00:00.000Z'],
    [{ kind: 'interval', every: 1, period: 'days' }, '2026-01-02T00:00:00.000Z'],
    [{ kind: 'interval', every: 30, period: 'seconds' }, '2026-01-01T00:00:30.000Z'],
    [{ kind: 'interval', every: 5000, period: 'microseconds' }, '2026-01-01T00:00:00.005Z'],
  ])('%p is after + period', (spec, expected) => {
    expect(nextRunAfter(spec, at('2026-01-01T00:00:00Z'))?.toISOString()).toBe(expected);
  });

  test('a day is 24 elapsed hours, also across a DST change (intervals have no zone)', () => {
    expect(
      nextRunAfter({ kind: 'interval', every: 1, period: 'days' }, at('2026-03-28T12:00:00Z'))?.toISOString(),
    ).toBe('2026-03-29T12:00:00.000Z');
  });

  test('nextRuns previews consecutive runs', () => {
    const runs = nextRuns({ kind: 'interval', every: 15, period: 'minutes' }, at('2026-01-01T00:00:00Z'), 3);
    expect(runs.map((d) => d.toISOString())).toEqual([
      '2026-01-01T00:15:00.000Z',
      '2026-01-01T00:30:00.000Z',
      '2026-01-01T00:45:00.000Z',
    ]);
  });
});

describe('clocked', () => {
  const spec: ScheduleSpec = { kind: 'clocked', clockedTime: at('2026-12-01T09:00:00Z') };

  test('runs once, at clockedTime, if that is after `after`', () => {
    expect(nextRunAfter(spec, at('2026-11-30T00:00:00Z'))?.toISOString()).toBe('2026-12-01T09:00:00.000Z');
    expect(nextRunAfter(spec, at('2026-12-01T09:00:00Z'))).toBeNull();
    expect(nextRunAfter(spec, at('2027-01-01T00:00:00Z'))).toBeNull();
  });

  test('nextRuns stops when the schedule has no more runs', () => {
    expect(nextRuns(spec, at('2026-11-30T00:00:00Z'), 5).map((d) => d.toISOString())).toEqual([
      '2026-12-01T09:00:00.000Z',
    ]);
    expect(nextRuns(spec, at('2026-12-02T00:00:00Z'), 5)).toEqual([]);
  });
});

describe('arguments', () => {
  const spec: ScheduleSpec = { kind: 'interval', every: 1, period: 'minutes' };

  test('an Invalid Date `after` is refused with a named error', () => {
    expect(() => nextRunAfter(spec, new Date('garbage'))).toThrow(InvalidInstantError);
    expect(() => nextRuns(spec, new Date('garbage'), 1)).toThrow(/after must be a valid Date/);
  });

  test('n must be a whole number; 0 gives an empty preview', () => {
    expect(nextRuns(spec, at('2026-01-01T00:00:00Z'), 0)).toEqual([]);
    expect(() => nextRuns(spec, at('2026-01-01T00:00:00Z'), -1)).toThrow(RangeError);
    expect(() => nextRuns(spec, at('2026-01-01T00:00:00Z'), 1.5)).toThrow(/whole number/);
  });

  test('a run past the last representable Date is null, not an Invalid Date', () => {
    const huge: ScheduleSpec = { kind: 'interval', every: 100_000_000, period: 'days' };
    expect(nextRunAfter(huge, at('2026-01-01T00:00:00Z'))).toBeNull();
  });
});
