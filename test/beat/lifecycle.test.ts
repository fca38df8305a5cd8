/**
 * What a periodic task's row does over its life: one-off and clocked runs that disable
 * themselves, catch-up after downtime ('once' vs 'skip'), bad rows parked without stopping the
 * others, and a worker running a scheduled task with periodic_task_name on its result.
 */
import { ManualClock, PeriodicTaskService, type Beat, type Celeriac, type RowError, type SkippedRun } from '../../src';
import { cleanup } from '../helpers';
import {
  assertNoBeatLeftRunning,
  insertCrontabTask,
  insertIntervalTask,
  insertTask,
  makeBeatApp,
  queued,
  sql,
  taskRow,
  tracked,
  resetBeatState,
} from './beat-helpers';

let app: Celeriac;
let beat: Beat;
let clock: ManualClock;
let service: PeriodicTaskService;
const T0 = Date.parse('2026-06-01T10:00:00.000Z');

beforeAll(async () => {
  app = await makeBeatApp('beat_life');
});
afterAll(() => cleanup(app));
beforeEach(async () => {
  await resetBeatState(app);
  clock = new ManualClock(T0);
  beat = tracked(app.beat({ clock, listen: false, misfireGraceMs: 30_000 }));
  service = new PeriodicTaskService(app, { clock });
});
afterEach(async () => {
  await beat.stop();
  await assertNoBeatLeftRunning();
});

describe('one-off and clocked', () => {
  test('a clocked task runs at its time, once, then disables itself keeping its run count', async () => {
    const t = await service.create({
      name: 'launch',
      task: 'beat.ping',
      schedule: { kind: 'clocked', clockedTime: '2026-06-01T10:05:00Z' },
    });
    expect(t.oneOff).toBe(true);
    await beat.tick(T0);
    expect((await beat.tick(T0 + 4 * 60_000)).sent).toBe(0);
    expect((await beat.tick(T0 + 5 * 60_000)).sent).toBe(1);
    let row = await taskRow(app, 'launch');
    expect(row).toMatchObject({ enabled: false, total_run_count: 1, next_run_at: null });
    expect(row.last_slot_at.toISOString()).toBe('2026-06-01T10:05:00.000Z');

    // A restart right after (django-celery-beat #828) or re-enabling it does not run it again…
    const again = tracked(app.beat({ clock, listen: false }));
    expect((await again.tick(T0 + 5 * 60_000 + 100)).sent).toBe(0);
    await again.stop();
    await service.enable('launch');
    await beat.tick(T0 + 6 * 60_000);
    row = await taskRow(app, 'launch');
    expect(row.last_error).toMatch(/already ran for its clocked time .*set a new clocked time/);
    expect(row.total_run_count).toBe(1);
    // …a new clocked time does.
    await service.update('launch', { schedule: { kind: 'clocked', clockedTime: '2026-06-01T10:10:00Z' } });
    await beat.tick(T0 + 9 * 60_000);
    expect((await beat.tick(T0 + 10 * 60_000)).sent).toBe(1);
    row = await taskRow(app, 'launch');
    expect(row).toMatchObject({ enabled: false, total_run_count: 2 });
    expect((await queued(app)).map((m) => m.scheduledAt)).toEqual([
      '2026-06-01T10:05:00.000Z',
      '2026-06-01T10:10:00.000Z',
    ]);
  });

  test('a clocked time already past when created runs at once', async () => {
    await service.create({
      name: 'overdue',
      task: 'beat.ping',
      schedule: { kind: 'clocked', clockedTime: '2026-06-01T09:00:00Z' },
    });
    expect(await beat.tick(T0)).toMatchObject({ replanned: 1, sent: 1 }); // planned and sent in the same tick
    expect((await beat.tick(T0 + 1)).sent).toBe(0);
  });

  test('two clocked tasks at the same instant both run (django-celery-beat #283)', async () => {
    await service.create({
      name: 'a',
      task: 'beat.ping',
      schedule: { kind: 'clocked', clockedTime: '2026-06-01T10:01:00Z' },
    });
    await service.create({
      name: 'b',
      task: 'beat.ping',
      schedule: { kind: 'clocked', clockedTime: '2026-06-01T10:01:00Z' },
    });
    await beat.tick(T0);
    expect((await beat.tick(T0 + 60_000)).sent).toBe(2);
  });

  test('one_off on a repeating schedule: the first slot only', async () => {
    await service.create({ name: 'once', task: 'beat.ping', schedule: 30, oneOff: true });
    await beat.tick(T0);
    expect((await beat.tick(T0 + 30_000)).sent).toBe(1);
    expect((await beat.tick(T0 + 60_000)).sent).toBe(0);
    expect(await taskRow(app, 'once')).toMatchObject({ enabled: false, total_run_count: 1 });
  });
});

describe('catch-up after downtime', () => {
  test("'once' (default): the missed slots run once, then the schedule resumes on its grid", async () => {
    await service.create({ name: 'minutely', task: 'beat.ping', schedule: 60 });
    await beat.tick(T0);
    expect((await beat.tick(T0 + 10 * 60_000 + 5000)).sent).toBe(1); // 10 slots missed
    expect((await taskRow(app, 'minutely')).next_run_at.toISOString()).toBe('2026-06-01T10:11:00.000Z');
    expect((await queued(app)).map((m) => m.scheduledAt)).toEqual(['2026-06-01T10:01:00.000Z']);
  });

  test("'skip': missed slots do not run; an on-time run (within misfireGraceMs) still does", async () => {
    await service.create({ name: 'skipper', task: 'beat.ping', schedule: 60, catchUp: 'skip' });
    await service.create({ name: 'hourly-skip', task: 'beat.ping', schedule: '0 * * * *', catchUp: 'skip' });
    const skipped: SkippedRun[] = [];
    beat.on('skipped', (runs) => skipped.push(...runs));
    await beat.tick(T0);
    expect((await beat.tick(T0 + 60_000 + 20_000)).sent).toBe(1); // 20 s late: within the 30 s grace
    const down = await beat.tick(T0 + 10 * 60_000 + 5000); // 10:02 … 10:10 missed
    expect(down).toMatchObject({ sent: 0, skipped: 1 });
    expect(skipped.map((s) => s.name)).toEqual(['skipper']);
    expect((await taskRow(app, 'skipper')).next_run_at.toISOString()).toBe('2026-06-01T10:11:00.000Z');
    expect((await beat.tick(T0 + 11 * 60_000)).sent).toBe(1);
    // A single slot missed by more than the grace is skipped too.
    expect(await beat.tick(Date.parse('2026-06-01T11:00:45Z'))).toMatchObject({ skipped: 2 }); // 'skipper' (10:12 … 11:00) and 'hourly-skip' (11:00, 45 s late)
    expect((await taskRow(app, 'hourly-skip')).next_run_at.toISOString()).toBe('2026-06-01T12:00:00.000Z');
    expect((await queued(app)).map((m) => `${m.periodicTaskName}@${m.scheduledAt}`)).toEqual([
      'skipper@2026-06-01T10:01:00.000Z',
      'skipper@2026-06-01T10:11:00.000Z',
    ]);
  });

  test("a clocked task missed with catch_up 'skip' never runs, and says why", async () => {
    await service.create({
      name: 'missed launch',
      task: 'beat.ping',
      schedule: { kind: 'clocked', clockedTime: '2026-06-01T10:01:00Z' },
      catchUp: 'skip',
    });
    await beat.tick(T0);
    expect(await beat.tick(T0 + 3600_000)).toMatchObject({ sent: 0, skipped: 1 });
    const row = await taskRow(app, 'missed launch');
    expect(row).toMatchObject({ enabled: false, total_run_count: 0 });
    expect(row.last_error).toMatch(/missed by 3540 s and catch_up is 'skip'/);
  });
});

describe('bad rows', () => {
  test('rows beat cannot run are parked with the reason; the others run', async () => {
    await insertIntervalTask(app, 'good', 10, 'seconds');
    await insertCrontabTask(app, 'bad minute', { minute: '61' });
    await insertCrontabTask(app, 'bad zone', { timezone: 'Mars/Olympus_Mons' });
    await insertIntervalTask(app, 'unknown task', 10, 'seconds', { task: 'nobody.has.this' });
    await insertIntervalTask(app, 'hijack', 10, 'seconds', { headers: { id: 'mine' } });
    const errors: RowError[] = [];
    beat.on('rowError', (e) => errors.push(e));

    await beat.tick(T0);
    expect((await beat.tick(T0 + 10_000)).sent).toBe(1);
    expect(errors.map((e) => e.name).sort()).toEqual(['bad minute', 'bad zone', 'hijack', 'unknown task']);
    const rows = Object.fromEntries(
      (await sql(app, `SELECT name, next_run_at, last_error FROM $S.celeriac_periodic_task`)).map((r: any) => [
        r.name,
        r,
      ]),
    );
    expect(rows['bad minute']).toMatchObject({ next_run_at: null, last_error: expect.stringMatching(/^minute: /) });
    expect(rows['bad zone'].last_error).toMatch(/timezone: unknown time zone 'Mars\/Olympus_Mons'/);
    expect(rows['unknown task'].last_error).toMatch(/no task named 'nobody.has.this' is registered/);
    expect(rows.hijack.last_error).toMatch(/headers: may not set 'id'/);
    expect(rows.good.last_error).toBeNull();

    // Parked rows are not re-read every tick…
    expect((await beat.tick(T0 + 20_000)).rowErrors).toBe(0);
    // …and a fix by plain SQL brings one back.
    await sql(app, `UPDATE $S.celeriac_crontab_schedule SET minute = '1' WHERE minute = '61'`);
    await beat.tick(T0 + 21_000);
    const fixed = await taskRow(app, 'bad minute');
    expect(fixed.last_error).toBeNull();
    expect(fixed.next_run_at.toISOString()).toBe('2026-06-01T10:01:00.000Z');
  });

  test('the database refuses what no beat could ever run', async () => {
    const [{ id }] = await sql(
      app,
      `INSERT INTO $S.celeriac_interval_schedule (every, period) VALUES (1, 'hours') RETURNING id`,
    );
    const [{ id: cron }] = await sql(app, `INSERT INTO $S.celeriac_crontab_schedule DEFAULT VALUES RETURNING id`);
    await expect(insertTask(app, 'none', {})).rejects.toThrow(/celeriac_periodic_task_one_schedule/);
    await expect(insertTask(app, 'two', { interval_id: id, crontab_id: cron })).rejects.toThrow(
      /celeriac_periodic_task_one_schedule/,
    );
    await expect(insertTask(app, 'args', { interval_id: id, args: { a: 1 } })).rejects.toThrow(
      /celeriac_periodic_task_args_array/,
    );
    await expect(insertTask(app, 'both', { interval_id: id, expires: new Date(), expire_seconds: 5 })).rejects.toThrow(
      /one_expiry/,
    );
    await expect(
      sql(app, `INSERT INTO $S.celeriac_interval_schedule (every, period) VALUES (0, 'fortnights')`),
    ).rejects.toThrow(/celeriac_interval/);
  });
});

test('a worker runs the scheduled task; its result carries periodic_task_name', async () => {
  const worker = app.worker({ queues: ['celery'] });
  await worker.start();
  try {
    const t = await service.create({ name: 'ping every 5s', task: 'beat.ping', schedule: 5, args: [41] });
    await beat.tick(T0);
    const sent = await new Promise<string>((resolve) => {
      beat.once('sent', (runs) => resolve(runs[0].taskId));
      void beat.tick(T0 + 5000);
    });
    const result = app.asyncResult(sent);
    expect(await result.get({ timeout: 10 })).toBe(41);
    const row = await (await app.results()).get(sent);
    expect(row).toMatchObject({ status: 'SUCCESS', periodicTaskName: 'ping every 5s', taskName: 'beat.ping' });
    expect(row!.taskId).toBe(sent);
    expect(t.id).toBeGreaterThan(0);
  } finally {
    await worker.stop();
  }
});
