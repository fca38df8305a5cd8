/**
 * The DST rule on real 2026 transitions (see the block comment in src/beat/schedule/crontab.ts):
 * a slot the clocks skip runs once at the transition instant; a slot shown twice runs once,
 * at its first occurrence; and both hold whatever `after` is, including inside the hour just
 * after a spring-forward gap and inside the second pass of a repeated hour.
 */
import { IANAZone } from 'luxon';
import { nextRunAfter, nextRuns, type ScheduleSpec } from '../../src/beat/schedule';

function cron(expr: string, timezone: string): ScheduleSpec {
  const [minute, hour, dayOfMonth, monthOfYear, dayOfWeek] = expr.split(' ');
  return { kind: 'crontab', minute, hour, dayOfMonth, monthOfYear, dayOfWeek, timezone };
}

function runs(expr: string, zone: string, afterIso: string, n: number): string[] {
  return nextRuns(cron(expr, zone), new Date(afterIso), n).map((d) => d.toISOString());
}

function next(expr: string, zone: string, afterIso: string): string | undefined {
  return nextRunAfter(cron(expr, zone), new Date(afterIso))?.toISOString();
}

/** Offset changes found by asking luxon minute by minute, not assumed from a calendar. */
function transitions(zone: string, fromIso: string, toIso: string): Array<{ at: string; from: number; to: number }> {
  const z = IANAZone.create(zone);
  const out: Array<{ at: string; from: number; to: number }> = [];
  const end = Date.parse(toIso);
  let t = Date.parse(fromIso);
  let prev = z.offset(t);
  for (; t <= end; t += 3_600_000) {
    const o = z.offset(t);
    if (o !== prev) {
      let m = t - 3_600_000;
      while (z.offset(m) === prev) m += 60_000;
      out.push({ at: new Date(m).toISOString(), from: prev, to: o });
      prev = o;
    }
  }
  return out;
}

describe('the transitions the tests below rely on (asked from luxon)', () => {
  test.each([
    [
      'Europe/Berlin',
      [
        { at: '2026-03-29T01:00:00.000Z', from: 60, to: 120 },
        { at: '2026-10-25T01:00:00.000Z', from: 120, to: 60 },
      ],
    ],
    [
      'America/New_York',
      [
        { at: '2026-03-08T07:00:00.000Z', from: -300, to: -240 },
        { at: '2026-11-01T06:00:00.000Z', from: -240, to: -300 },
      ],
    ],
    // Lord Howe Island shifts by 30 minutes: +11 → +10:30 in April, back in October.
    [
      'Australia/Lord_Howe',
      [
        { at: '2026-04-04T15:00:00.000Z', from: 660, to: 630 },
        { at: '2026-10-03T15:30:00.000Z', from: 630, to: 660 },
      ],
    ],
  ])('%s', (zone, expected) => {
    expect(transitions(zone, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z')).toEqual(expected);
  });
});

describe('Europe/Berlin (02:00 CET → 03:00 CEST on 2026-03-29, 03:00 CEST → 02:00 CET on 2026-10-25)', () => {
  const Z = 'Europe/Berlin';

  test('a daily job inside the spring gap runs once, at the transition instant (03:00 CEST)', () => {
    expect(runs('30 2 * * *', Z, '2026-03-27T12:00:00Z', 3)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  test('a daily job inside the repeated hour runs once, at the first (CEST) 02:30', () => {
    expect(runs('30 2 * * *', Z, '2026-10-23T12:00:00Z', 3)).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z', // 02:30 CEST; 02:30 CET (01:30Z) does not run
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
  });

  test('every 15 minutes within the gap hour collapses to one run', () => {
    expect(runs('*/15 2 * * *', Z, '2026-03-28T12:00:00Z', 5)).toEqual([
      '2026-03-29T01:00:00.000Z', // 02:00, 02:15, 02:30, 02:45 all skipped over: one run at 03:00 CEST
      '2026-03-30T00:00:00.000Z',
      '2026-03-30T00:15:00.000Z',
      '2026-03-30T00:30:00.000Z',
      '2026-03-30T00:45:00.000Z',
    ]);
  });

  test('every 15 minutes within the repeated hour runs only in the first pass', () => {
    expect(runs('*/15 2 * * *', Z, '2026-10-24T12:00:00Z', 5)).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:15:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T00:45:00.000Z',
      '2026-10-26T01:00:00.000Z',
    ]);
  });

  test('hourly across spring forward: the skipped 02:00 and the real 03:00 are the same instant, run once', () => {
    expect(runs('0 * * * *', Z, '2026-03-28T22:30:00Z', 4)).toEqual([
      '2026-03-28T23:00:00.000Z', // 00:00 CET
      '2026-03-29T00:00:00.000Z', // 01:00 CET
      '2026-03-29T01:00:00.000Z', // 02:00 skipped → 03:00 CEST, which is also the 03:00 slot
      '2026-03-29T02:00:00.000Z', // 04:00 CEST
    ]);
  });

  test('hourly across fall back: 02:00 runs once, not at both 02:00 CEST and 02:00 CET', () => {
    expect(runs('0 * * * *', Z, '2026-10-24T22:30:00Z', 4)).toEqual([
      '2026-10-24T23:00:00.000Z', // 01:00 CEST
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T02:00:00.000Z', // 03:00 CET
      '2026-10-25T03:00:00.000Z',
    ]);
  });

  test('every 15 minutes across both transitions', () => {
    expect(runs('*/15 * * * *', Z, '2026-03-29T00:30:00Z', 4)).toEqual([
      '2026-03-29T00:45:00.000Z', // 01:45 CET
      '2026-03-29T01:00:00.000Z', // 02:00-02:45 skipped, and 03:00 CEST: one run
      '2026-03-29T01:15:00.000Z',
      '2026-03-29T01:30:00.000Z',
    ]);
    expect(runs('*/15 * * * *', Z, '2026-10-25T00:30:00Z', 3)).toEqual([
      '2026-10-25T00:45:00.000Z', // 02:45 CEST
      '2026-10-25T02:00:00.000Z', // second pass 02:00-02:45 CET runs nothing; 03:00 CET
      '2026-10-25T02:15:00.000Z',
    ]);
  });

  test('`after` just before, at, and inside the hour after the gap', () => {
    expect(next('30 2 * * *', Z, '2026-03-29T00:30:00Z')).toBe('2026-03-29T01:00:00.000Z'); // 01:30 CET
    expect(next('30 2 * * *', Z, '2026-03-29T00:59:59.999Z')).toBe('2026-03-29T01:00:00.000Z');
    expect(next('30 2 * * *', Z, '2026-03-29T01:00:00Z')).toBe('2026-03-30T00:30:00.000Z');
    // cron-parser's trap (toolchain.md §6) is 03:00-03:29 CEST; here the run was at 03:00, so tomorrow is right.
    expect(next('30 2 * * *', Z, '2026-03-29T01:10:00Z')).toBe('2026-03-30T00:30:00.000Z');
    expect(next('45 3 * * *', Z, '2026-03-29T01:10:00Z')).toBe('2026-03-29T01:45:00.000Z'); // 03:45 CEST still runs
  });

  test('`after` inside the second pass of the repeated hour does not run that hour again', () => {
    // cron-parser's trap: from 01:00-01:29Z it returns 01:30Z, a second 02:30 that day.
    expect(next('30 2 * * *', Z, '2026-10-25T01:10:00Z')).toBe('2026-10-26T01:30:00.000Z');
    expect(next('30 2 * * *', Z, '2026-10-25T00:40:00Z')).toBe('2026-10-26T01:30:00.000Z'); // after the run, first pass
    expect(next('30 2 * * *', Z, '2026-10-25T00:29:59.999Z')).toBe('2026-10-25T00:30:00.000Z');
    expect(next('*/15 * * * *', Z, '2026-10-25T01:10:00Z')).toBe('2026-10-25T02:00:00.000Z');
    expect(next('0 3 * * *', Z, '2026-10-25T01:59:59.999Z')).toBe('2026-10-25T02:00:00.000Z'); // 03:00 CET
  });
});

describe('America/New_York (02:00 EST → 03:00 EDT on 2026-03-08, 02:00 EDT → 01:00 EST on 2026-11-01)', () => {
  const Z = 'America/New_York';

  test('a daily job inside the spring gap runs once, at 03:00 EDT', () => {
    expect(runs('30 2 * * *', Z, '2026-03-06T12:00:00Z', 3)).toEqual([
      '2026-03-07T07:30:00.000Z', // 02:30 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
    ]);
  });

  test('a daily job inside the repeated hour runs once, at 01:30 EDT', () => {
    expect(runs('30 1 * * *', Z, '2026-10-30T12:00:00Z', 3)).toEqual([
      '2026-10-31T05:30:00.000Z',
      '2026-11-01T05:30:00.000Z', // 01:30 EDT; 01:30 EST (06:30Z) does not run
      '2026-11-02T06:30:00.000Z', // 01:30 EST
    ]);
  });

  test('hourly and every 15 minutes across both transitions', () => {
    expect(runs('0 * * * *', Z, '2026-03-08T05:30:00Z', 3)).toEqual([
      '2026-03-08T06:00:00.000Z', // 01:00 EST
      '2026-03-08T07:00:00.000Z', // 02:00 skipped → 03:00 EDT
      '2026-03-08T08:00:00.000Z', // 04:00 EDT
    ]);
    expect(runs('0 * * * *', Z, '2026-11-01T04:30:00Z', 3)).toEqual([
      '2026-11-01T05:00:00.000Z', // 01:00 EDT
      '2026-11-01T07:00:00.000Z', // 01:00 EST repeats: nothing; 02:00 EST
      '2026-11-01T08:00:00.000Z',
    ]);
    expect(runs('*/15 * * * *', Z, '2026-03-08T06:40:00Z', 3)).toEqual([
      '2026-03-08T06:45:00.000Z',
      '2026-03-08T07:00:00.000Z',
      '2026-03-08T07:15:00.000Z',
    ]);
    expect(runs('*/15 * * * *', Z, '2026-11-01T05:40:00Z', 3)).toEqual([
      '2026-11-01T05:45:00.000Z', // 01:45 EDT
      '2026-11-01T07:00:00.000Z', // 02:00 EST
      '2026-11-01T07:15:00.000Z',
    ]);
  });

  test('`after` inside the hour after the gap and inside the second pass', () => {
    expect(next('30 2 * * *', Z, '2026-03-08T07:10:00Z')).toBe('2026-03-09T06:30:00.000Z');
    expect(next('30 2 * * *', Z, '2026-03-08T06:59:00Z')).toBe('2026-03-08T07:00:00.000Z');
    expect(next('30 1 * * *', Z, '2026-11-01T06:10:00Z')).toBe('2026-11-02T06:30:00.000Z'); // 01:10 EST
    expect(next('45 1 * * *', Z, '2026-11-01T06:10:00Z')).toBe('2026-11-02T06:45:00.000Z');
  });
});

describe('Australia/Lord_Howe (30-minute shift: 02:00 → 01:30 on 2026-04-05, 02:00 → 02:30 on 2026-10-04)', () => {
  const Z = 'Australia/Lord_Howe';

  test('a daily job inside the 30-minute spring gap runs once, at the transition instant (02:30 +11)', () => {
    expect(runs('15 2 * * *', Z, '2026-10-02T00:00:00Z', 3)).toEqual([
      '2026-10-02T15:45:00.000Z', // 02:15 +10:30
      '2026-10-03T15:30:00.000Z', // 02:15 does not exist on 10-04: 02:30 +11
      '2026-10-04T15:15:00.000Z', // 02:15 +11
    ]);
  });

  test('a daily job inside the repeated half hour runs once, at the first (+11) 01:45', () => {
    expect(runs('45 1 * * *', Z, '2026-04-03T00:00:00Z', 3)).toEqual([
      '2026-04-03T14:45:00.000Z', // 01:45 +11
      '2026-04-04T14:45:00.000Z', // 01:45 +11 on 04-05; 01:45 +10:30 (15:15Z) does not run
      '2026-04-05T15:15:00.000Z', // 01:45 +10:30
    ]);
  });

  test('hourly across both transitions', () => {
    expect(runs('0 * * * *', Z, '2026-04-04T13:30:00Z', 3)).toEqual([
      '2026-04-04T14:00:00.000Z', // 01:00 +11
      '2026-04-04T15:30:00.000Z', // 02:00 +10:30 (the clock never showed 02:00 +11)
      '2026-04-04T16:30:00.000Z',
    ]);
    expect(runs('0 * * * *', Z, '2026-10-03T14:00:00Z', 3)).toEqual([
      '2026-10-03T14:30:00.000Z', // 01:00 +10:30
      '2026-10-03T15:30:00.000Z', // 02:00 skipped → 02:30 +11
      '2026-10-03T16:00:00.000Z', // 03:00 +11
    ]);
  });

  test('every 15 minutes across both transitions', () => {
    expect(runs('*/15 * * * *', Z, '2026-04-04T14:30:00Z', 3)).toEqual([
      '2026-04-04T14:45:00.000Z', // 01:45 +11
      '2026-04-04T15:30:00.000Z', // 01:30-01:45 +10:30 repeat: nothing; 02:00 +10:30
      '2026-04-04T15:45:00.000Z',
    ]);
    expect(runs('*/15 * * * *', Z, '2026-10-03T15:00:00Z', 3)).toEqual([
      '2026-10-03T15:15:00.000Z', // 01:45 +10:30
      '2026-10-03T15:30:00.000Z', // 02:00 and 02:15 skipped, 02:30 +11: one run
      '2026-10-03T15:45:00.000Z',
    ]);
  });

  test('`after` inside the half hour after the gap and inside the second pass', () => {
    expect(next('15 2 * * *', Z, '2026-10-03T15:29:59Z')).toBe('2026-10-03T15:30:00.000Z');
    expect(next('15 2 * * *', Z, '2026-10-03T15:40:00Z')).toBe('2026-10-04T15:15:00.000Z');
    expect(next('45 1 * * *', Z, '2026-04-04T15:10:00Z')).toBe('2026-04-05T15:15:00.000Z'); // 01:40 +10:30
    expect(next('45 1 * * *', Z, '2026-04-04T14:50:00Z')).toBe('2026-04-05T15:15:00.000Z'); // just after the run
  });
});

describe('America/Santiago: DST changes at midnight, so a whole date starts at 01:00', () => {
  const Z = 'America/Santiago';

  test('a midnight job on the day whose midnight is skipped runs at 01:00 that day', () => {
    const [change] = transitions(Z, '2026-08-01T00:00:00Z', '2026-10-01T00:00:00Z');
    expect(change.to - change.from).toBe(60);
    const run = nextRunAfter(cron('0 0 * * *', Z), new Date(Date.parse(change.at) - 3_600_000));
    expect(run?.toISOString()).toBe(change.at);
  });
});

describe('crontab field semantics', () => {
  test('day of month AND day of week must both match (Celery), not either (Vixie cron)', () => {
    // The first Monday of each month: days 1-7 that are Mondays.
    expect(runs('0 9 1-7 * mon', 'UTC', '2026-01-01T00:00:00Z', 4)).toEqual([
      '2026-01-05T09:00:00.000Z',
      '2026-02-02T09:00:00.000Z',
      '2026-03-02T09:00:00.000Z',
      '2026-04-06T09:00:00.000Z',
    ]);
  });

  test('February 29 on a Monday comes round years later, not never', () => {
    expect(next('0 0 29 2 1', 'UTC', '2026-01-01T00:00:00Z')).toBe('2044-02-29T00:00:00.000Z');
  });

  test('wrap-around ranges and 7 as Sunday', () => {
    expect(runs('0 22-1 * * *', 'UTC', '2026-01-01T12:00:00Z', 4)).toEqual([
      '2026-01-01T22:00:00.000Z',
      '2026-01-01T23:00:00.000Z',
      '2026-01-02T00:00:00.000Z',
      '2026-01-02T01:00:00.000Z',
    ]);
    expect(runs('0 0 * * 7', 'UTC', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-01-04T00:00:00.000Z']);
    expect(runs('0 0 * * sat-mon', 'UTC', '2026-01-01T00:00:00Z', 3)).toEqual([
      '2026-01-03T00:00:00.000Z',
      '2026-01-04T00:00:00.000Z',
      '2026-01-05T00:00:00.000Z',
    ]);
  });

  test('month names and steps over ranges', () => {
    expect(runs('0 0 1 jan-dec/3 *', 'UTC', '2026-01-01T00:00:00Z', 4)).toEqual([
      '2026-04-01T00:00:00.000Z',
      '2026-07-01T00:00:00.000Z',
      '2026-10-01T00:00:00.000Z',
      '2027-01-01T00:00:00.000Z',
    ]);
    expect(runs('10-50/20 * * * *', 'UTC', '2026-01-01T00:00:00Z', 4)).toEqual([
      '2026-01-01T00:10:00.000Z',
      '2026-01-01T00:30:00.000Z',
      '2026-01-01T00:50:00.000Z',
      '2026-01-01T01:10:00.000Z',
    ]);
  });

  test('the run is strictly after `after`, also at a slot instant and within a second of it', () => {
    expect(next('*/5 * * * *', 'UTC', '2026-01-01T00:05:00Z')).toBe('2026-01-01T00:10:00.000Z');
    expect(next('*/5 * * * *', 'UTC', '2026-01-01T00:04:59.999Z')).toBe('2026-01-01T00:05:00.000Z');
    expect(next('*/5 * * * *', 'UTC', '2026-12-31T23:59:30Z')).toBe('2027-01-01T00:00:00.000Z');
  });
});
