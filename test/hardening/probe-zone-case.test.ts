import { execFileSync } from 'node:child_process';
import { PeriodicTaskService, type Celeriac } from '../../src';
import { cleanup } from '../helpers';
import { PYTHON } from '../interop/python';
import { makeBeatApp, resetBeatState, sql } from '../beat/beat-helpers';

/**
 * Found from outside (session 7): Intl, and so the crontab validation, takes a zone name in any
 * capitalisation ('europe/berlin', 'utc'), and the name was stored as written. Python's zoneinfo
 * (a django-celery-beat sharing the tables, or any Python reading them) refuses those names:
 * ZoneInfoNotFoundError. A mis-cased name is stored as the zone's proper name; a name written
 * properly, alias or not, is kept as written.
 */

let app: Celeriac;
let service: PeriodicTaskService;

beforeAll(async () => {
  app = await makeBeatApp('probe_zone_case');
  service = new PeriodicTaskService(app);
});
afterAll(() => cleanup(app));
beforeEach(() => resetBeatState(app));

const CASES: [string, string][] = [
  ['europe/berlin', 'Europe/Berlin'],
  ['EUROPE/BERLIN', 'Europe/Berlin'],
  ['utc', 'UTC'],
  ['america/new_york', 'America/New_York'],
  ['america/port-au-prince', 'America/Port-au-Prince'],
  ['Europe/Berlin', 'Europe/Berlin'],
  ['US/Eastern', 'US/Eastern'],
  ['Etc/GMT+5', 'Etc/GMT+5'],
  ['EST5EDT', 'EST5EDT'],
];

test('crontab zones are stored under names Python knows', async () => {
  for (const [i, [written]] of CASES.entries())
    await service.create({
      name: `zone ${i}`,
      task: 'beat.ping',
      schedule: { kind: 'crontab', minute: '0', hour: '3', timezone: written },
    });
  const rows = await sql<{ name: string; timezone: string }>(
    app,
    `SELECT p.name, c.timezone FROM $S.celeriac_periodic_task p JOIN $S.celeriac_crontab_schedule c ON c.id = p.crontab_id`,
  );
  const stored = CASES.map((_, i) => rows.find((r) => r.name === `zone ${i}`)!.timezone);
  expect(stored).toEqual(CASES.map(([, proper]) => proper));
  // What a django-celery-beat reading these rows does with them.
  const check = `import sys, zoneinfo\nfor z in sys.argv[1:]:\n    zoneinfo.ZoneInfo(z)`;
  expect(() => execFileSync(PYTHON, ['-c', check, ...stored], { stdio: 'pipe' })).not.toThrow();
});

test("a cron string takes the app's zone, properly named", async () => {
  const other = await makeBeatApp('probe_zone_case_app', { timezone: 'europe/paris' });
  try {
    await new PeriodicTaskService(other).create({ name: 'nightly', task: 'beat.ping', schedule: '0 3 * * *' });
    const [row] = await sql<{ timezone: string }>(other, `SELECT timezone FROM $S.celeriac_crontab_schedule`);
    expect(row.timezone).toBe('Europe/Paris');
  } finally {
    await cleanup(other);
  }
});
