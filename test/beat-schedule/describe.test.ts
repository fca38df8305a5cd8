import { describeSchedule, type ScheduleSpec } from '../../src/beat/schedule';

function cron(expr: string, timezone = 'UTC'): ScheduleSpec {
  const [minute, hour, dayOfMonth, monthOfYear, dayOfWeek] = expr.split(' ');
  return { kind: 'crontab', minute, hour, dayOfMonth, monthOfYear, dayOfWeek, timezone };
}

describe('crontab', () => {
  test.each([
    ['30 2 * * mon-fri', 'Europe/Berlin', 'At 02:30, Monday to Friday, Europe/Berlin'],
    ['*/15 * * * *', 'UTC', 'Every 15 minutes, UTC'],
    ['0 9 1 * *', 'UTC', 'At 09:00 on day 1 of the month, UTC'],
    ['30 2 * * *', 'UTC', 'At 02:30 every day, UTC'],
    ['* * * * *', 'UTC', 'Every minute, UTC'],
    ['0 * * * *', 'UTC', 'Every hour, UTC'],
    ['15 * * * *', 'UTC', 'Every hour at minute 15, UTC'],
    ['0,30 * * * *', 'UTC', 'Every 30 minutes, UTC'],
    ['5,20 * * * *', 'UTC', 'Every hour at minutes 5 and 20, UTC'],
    ['0 */2 * * *', 'UTC', 'Every 2 hours, UTC'],
    ['15 */6 * * *', 'UTC', 'Every 6 hours at minute 15, UTC'],
    ['0 9-17 * * *', 'UTC', 'Every hour from 09:00 through 17:00, UTC'],
    [
      '*/15 9-17 * * mon-fri',
      'America/New_York',
      'Every 15 minutes from 09:00 through 17:45, Monday to Friday, America/New_York',
    ],
    ['0 8,12 * * *', 'UTC', 'At 08:00 and 12:00 every day, UTC'],
    ['0 9 1,15 * *', 'UTC', 'At 09:00 on days 1 and 15 of the month, UTC'],
    ['0 9 1-7 * mon', 'UTC', 'At 09:00 on days 1 to 7 of the month that fall on a Monday, UTC'],
    [
      '0 9 1-7,15-21 * mon,fri',
      'UTC',
      'At 09:00 on days 1 to 7 and 15 to 21 of the month that fall on a Monday or Friday, UTC',
    ],
    ['0 0 * * sat,sun', 'UTC', 'At 00:00, on Saturday and Sunday, UTC'],
    ['0 0 * * 1,3,5', 'UTC', 'At 00:00, on Monday, Wednesday and Friday, UTC'],
    ['0 0 * * 7', 'UTC', 'At 00:00, on Sunday, UTC'],
    ['0 0 1 1 *', 'UTC', 'At 00:00 on day 1 of the month in January, UTC'],
    ['30 2 * jan-mar mon-fri', 'UTC', 'At 02:30, Monday to Friday, from January to March, UTC'],
    ['0 12 * 6,12 *', 'UTC', 'At 12:00 every day in June and December, UTC'],
  ])('%s (%s) → %s', (expr, zone, text) => {
    expect(describeSchedule(cron(expr, zone))).toBe(text);
  });

  test.each([
    // 60 is not a multiple of 7: runs at :56 then :00, so "every 7 minutes" would be false.
    ['*/7 * * * *', 'Cron "*/7 * * * *" (UTC)'],
    // 24 is not a multiple of 5: listed, never "every 5 hours" (20:00 → 00:00 is 4 hours).
    ['0 */5 * * *', 'At 00:00, 05:00, 10:00, 15:00 and 20:00 every day, UTC'],
    // Odd days of the month are not "every 2 days" across a 31-day month.
    ['5 4 */2 * *', 'Cron "5 4 */2 * *" (UTC)'],
    ['1,2,3,5,8,13,21 * * * *', 'Cron "1,2,3,5,8,13,21 * * * *" (UTC)'],
  ])('%s falls back to plain facts rather than a wrong sentence', (expr, text) => {
    expect(describeSchedule(cron(expr))).toBe(text);
  });
});

describe('other kinds', () => {
  test.each<[ScheduleSpec, string]>([
    [{ kind: 'interval', every: 5, period: 'minutes' }, 'Every 5 minutes'],
    [{ kind: 'interval', every: 1, period: 'days' }, 'Every day'],
    [{ kind: 'interval', every: 2, period: 'hours' }, 'Every 2 hours'],
    [{ kind: 'interval', every: 1, period: 'seconds' }, 'Every second'],
    [{ kind: 'interval', every: 5000, period: 'microseconds' }, 'Every 5000 microseconds'],
    [{ kind: 'solar', event: 'sunrise', latitude: 52.52, longitude: 13.405 }, 'At sunrise at 52.5200, 13.4050'],
    [
      { kind: 'solar', event: 'dusk_civil', latitude: -33.8688, longitude: 151.2093 },
      'At civil dusk at -33.8688, 151.2093',
    ],
    [{ kind: 'solar', event: 'solar_noon', latitude: 0, longitude: 0 }, 'At solar noon at 0.0000, 0.0000'],
    [{ kind: 'clocked', clockedTime: new Date('2026-12-01T09:00:00Z') }, 'Once at 2026-12-01 09:00:00 UTC'],
    [{ kind: 'clocked', clockedTime: new Date('2026-12-01T09:00:00.250Z') }, 'Once at 2026-12-01 09:00:00.250 UTC'],
  ])('%p → %s', (spec, text) => {
    expect(describeSchedule(spec)).toBe(text);
  });
});
