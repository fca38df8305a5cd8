/**
 * The API the admin builds on (PeriodicTaskService), `beatSchedule` in the config and its sync
 * into the tables, and the schema itself (entities match the migration; an unmigrated database
 * gets a message that says what to do).
 */
import {
  Celeriac,
  ConfigError,
  ManualClock,
  PeriodicTaskNotFoundError,
  PeriodicTaskService,
  PeriodicTaskValidationError,
  type BeatSchedule,
} from '../../src';
import { BeatNotMigratedError } from '../../src/beat';
import { resolveConfig } from '../../src/config';
import { silentLogger } from '../../src/log';
import { cleanup, DATABASE_URL, eventually, isolation, REDIS_URL } from '../helpers';
import type { RedisBroker } from '../../src/broker/redis-broker';
import {
  assertNoBeatLeftRunning,
  fixtureApps,
  makeBeatApp,
  queued,
  sql,
  taskRow,
  tracked,
  resetBeatState,
} from './beat-helpers';

let app: Celeriac;
let service: PeriodicTaskService;
const clock = new ManualClock('2026-03-27T12:00:00Z');

beforeAll(async () => {
  app = await makeBeatApp('beat_service');
  service = new PeriodicTaskService(app, { clock });
});
afterAll(() => cleanup(app));
beforeEach(() => resetBeatState(app));
afterEach(assertNoBeatLeftRunning);

async function validationErrors(p: Promise<unknown>): Promise<Record<string, string>> {
  const err = await p.then(
    () => null,
    (e) => e,
  );
  expect(err).toBeInstanceOf(PeriodicTaskValidationError);
  return Object.fromEntries((err as PeriodicTaskValidationError).errors.map((e) => [e.field, e.message]));
}

describe('validation: every problem at once, each with its field', () => {
  test('a form full of mistakes', async () => {
    const errors = await validationErrors(
      service.create({
        name: '',
        task: 'beat.pnig',
        schedule: { kind: 'crontab', minute: '61', hour: '2', timezone: 'Europe/Berln' },
        args: { not: 'an array' } as any,
        priority: 300,
        expires: '2026-06-01T00:00:00Z',
        expireSeconds: 60,
        catchUp: 'twice' as any,
        queueName: 'x',
      } as any),
    );
    expect(errors).toEqual({
      queueName: expect.stringMatching(/unknown field/),
      name: expect.stringMatching(/required: a unique name/),
      task: expect.stringMatching(/no task named 'beat.pnig' is registered \(did you mean 'beat.ping'\?\)/),
      'schedule.minute': expect.any(String),
      'schedule.timezone': expect.stringMatching(/unknown time zone 'Europe\/Berln'.*did you mean 'Europe\/Berlin'/),
      args: expect.stringMatching(/must be an array/),
      priority: expect.stringMatching(/0-255/),
      expireSeconds: expect.stringMatching(/either expires .* or expireSeconds/),
      catchUp: expect.stringMatching(/'once'.*'skip'/),
    });
    expect(await sql(app, `SELECT * FROM $S.celeriac_periodic_task`)).toEqual([]);
  });

  test('schedule shorthands and their errors', async () => {
    expect(service.validate({ name: 'a', task: 'beat.ping', schedule: '*/5 9-17 * * 1-5' })).toEqual([]);
    expect(service.validate({ name: 'a', task: 'beat.ping', schedule: '@daily' })).toEqual([]);
    expect(service.validate({ name: 'a', task: 'beat.ping', schedule: 0.5 })).toEqual([]);
    expect(service.validate({ name: 'a', task: 'beat.ping', schedule: 'every day' })).toEqual([
      { field: 'schedule.kind', message: expect.stringMatching(/five fields/) },
    ]);
    expect(
      service
        .validate({ name: 'a', task: 'beat.ping', schedule: { kind: 'interval', every: 0, period: 'fortnights' } })
        .map((e) => e.field),
    ).toEqual(['schedule.period', 'schedule.every']);
    expect(
      service.validate({
        name: 'a',
        task: 'beat.ping',
        schedule: { kind: 'solar', event: 'sunrise', latitude: 95, longitude: 0 },
      }),
    ).toEqual([{ field: 'schedule.latitude', message: expect.stringMatching(/out of range/) }]);
    expect(service.validate({ name: 'a', task: 'beat.ping', schedule: 5, headers: { task: 'other' } })).toEqual([
      { field: 'headers', message: expect.stringMatching(/may not set 'task'/) },
    ]);
  });

  test('names are unique', async () => {
    await service.create({ name: 'dup', task: 'beat.ping', schedule: 60 });
    expect(await validationErrors(service.create({ name: 'dup', task: 'beat.ping', schedule: 30 }))).toEqual({
      name: expect.stringMatching(/already exists/),
    });
  });
});

describe('PeriodicTaskService', () => {
  test('create, get, list, update, enable/disable, delete', async () => {
    const created = await service.create({
      name: 'report',
      task: 'beat.report',
      schedule: '0 3 * * *',
      description: 'nightly',
      kwargs: { fmt: 'pdf' },
    });
    expect(created).toMatchObject({
      name: 'report',
      source: 'db',
      enabled: true,
      schedule: { kind: 'crontab', minute: '0', hour: '3', timezone: 'UTC' },
      kwargs: { fmt: 'pdf' },
      catchUp: 'once',
      totalRunCount: 0,
    });
    expect(created.scheduleText).toMatch(/03:00/);
    await service.create({ name: 'ping', task: 'beat.ping', schedule: 30 });
    expect((await service.list({ search: 'NIGHT' })).items.map((t) => t.name)).toEqual(['report']);
    expect((await service.list()).total).toBe(2);

    const moved = await service.update('report', {
      schedule: { kind: 'interval', every: 2, period: 'hours' },
      priority: 3,
    });
    expect(moved).toMatchObject({
      schedule: { kind: 'interval', every: 2, period: 'hours' },
      priority: 3,
      kwargs: { fmt: 'pdf' },
    });
    // Schedules are never edited in place: the old crontab row is still there for anyone sharing it.
    expect(await sql(app, `SELECT hour FROM $S.celeriac_crontab_schedule`)).toEqual([{ hour: '3' }]);

    expect((await service.disable(created.id)).enabled).toBe(false);
    expect((await service.enable('report')).enabled).toBe(true);
    await service.delete('report');
    await expect(service.get('report')).rejects.toThrow(PeriodicTaskNotFoundError);
  });

  test('preview shows the DST rule before anything is saved, and the planned runs after', async () => {
    const runs = await service.preview(
      { schedule: { kind: 'crontab', minute: '30', hour: '2', timezone: 'Europe/Berlin' } },
      3,
    );
    expect(runs.map((d) => d.toISOString())).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    await expect(service.preview({ schedule: '99 * * * *' })).rejects.toThrow(PeriodicTaskValidationError);

    await service.create({
      name: 'quarter',
      task: 'beat.ping',
      schedule: { kind: 'interval', every: 15, period: 'minutes' },
      startTime: '2026-03-27T12:10:00Z',
    });
    expect((await service.preview('quarter', 3)).map((d) => d.toISOString())).toEqual([
      '2026-03-27T12:10:00.000Z',
      '2026-03-27T12:25:00.000Z',
      '2026-03-27T12:40:00.000Z',
    ]);
  });

  test('runNow sends with the row options and the periodic task name, outside the schedule', async () => {
    await service.create({ name: 'manual', task: 'beat.report', schedule: 3600, args: [1, 2], priority: 3 });
    const taskId = await service.runNow('manual');
    const [msg] = await queued(app, ['reports']);
    expect(msg).toMatchObject({ id: taskId, periodicTaskName: 'manual', args: [1, 2] });
    expect((await service.get('manual')).totalRunCount).toBe(0);
    const broker = (await app.broker()) as RedisBroker;
    await (broker as any).redis.del(broker.keys.queue('reports', 3));
  });

  test('beats() lists running beats from their heartbeats', async () => {
    const inits: string[] = [];
    const off = app.signals.connect('beatInit', (b) => void inits.push(b.name));
    const beat = tracked(app.beat({ heartbeatMs: 50 }));
    await beat.start();
    off();
    expect(inits).toEqual([beat.name]); // Celery's beat_init
    const live = new PeriodicTaskService(app);
    await eventually(async () => expect((await live.beats()).map((b) => b.beatId)).toEqual([beat.name]));
    expect((await live.beats())[0]).toMatchObject({ pid: process.pid, listening: true });
    await beat.stop();
    expect(await live.beats()).toEqual([]);
  });
});

describe('beatSchedule', () => {
  const schedule: BeatSchedule = {
    'ping every 30s': { task: 'beat.ping', schedule: 30, args: [1] },
    'nightly report': {
      task: 'beat.report',
      schedule: '0 3 * * *',
      options: { queue: 'reports', expires: 600 },
      catchUp: 'skip',
    },
  };

  test('is checked when the app is built, naming the entry and field', () => {
    const bad = (s: unknown) => () => resolveConfig({ beatSchedule: s } as any, {});
    expect(bad({ x: { task: 'a', schedule: '61 * * * *' } })).toThrow(/beatSchedule\['x'\]\.schedule\.minute/);
    expect(bad({ x: { task: 'a', schedule: 5, options: { expires: -1 } } })).toThrow(
      /beatSchedule\['x'\]\.options\.expires/,
    );
    expect(bad({ x: { task: 'a', schedule: 5, options: { queu: 'q' } } })).toThrow(
      /beatSchedule\['x'\]\.options\.queu.*did you mean 'queue'/,
    );
    expect(bad({ x: { task: 'a', shedule: 5 } })).toThrow(/beatSchedule\['x'\]\.shedule.*did you mean 'schedule'/);
    expect(bad({ x: { task: 'a', schedule: { kind: 'crontab', hour: '3' } } })).not.toThrow();
    expect(bad({ x: { task: 'a', schedule: 5 } })).not.toThrow(ConfigError);
    expect(
      resolveConfig({ timezone: 'Europe/Berlin', beatSchedule: { x: { task: 'a', schedule: '0 3 * * *' } } }, {})
        .beatSchedule![0].schedule,
    ).toMatchObject({
      timezone: 'Europe/Berlin',
    });
  });

  function codeApp(beatSchedule: BeatSchedule): Celeriac {
    const a = new Celeriac({
      apps: fixtureApps,
      databaseUrl: DATABASE_URL,
      brokerUrl: REDIS_URL,
      schema: app.config.schema,
      keyPrefix: app.config.keyPrefix,
      logger: silentLogger,
      beatSchedule,
    });
    return a;
  }

  async function startAndStop(a: Celeriac): Promise<void> {
    const beat = tracked(a.beat({ listen: false }));
    await beat.start();
    await beat.stop();
    await a.close();
  }

  test('is synced at start; code wins for what it declares, admin pauses survive, removed entries are disabled', async () => {
    await startAndStop(codeApp(schedule));
    const rows = await sql(
      app,
      `SELECT name, source, enabled, args, queue, expire_seconds, catch_up FROM $S.celeriac_periodic_task ORDER BY name`,
    );
    expect(rows).toEqual([
      // What django-celery-beat installs by itself, for the result table's expiry.
      {
        name: 'celery.backend_cleanup',
        source: 'code',
        enabled: true,
        args: [],
        queue: null,
        expire_seconds: 43200,
        catch_up: 'once',
      },
      {
        name: 'nightly report',
        source: 'code',
        enabled: true,
        args: [],
        queue: 'reports',
        expire_seconds: 600,
        catch_up: 'skip',
      },
      {
        name: 'ping every 30s',
        source: 'code',
        enabled: true,
        args: [1],
        queue: null,
        expire_seconds: null,
        catch_up: 'once',
      },
    ]);
    const planned = await taskRow(app, 'ping every 30s');

    // An admin edits args and pauses the nightly report.
    await service.update('ping every 30s', { args: [99] });
    await service.disable('nightly report');
    await startAndStop(codeApp(schedule));
    expect((await taskRow(app, 'ping every 30s')).args).toEqual([1]); // code wins
    expect((await taskRow(app, 'nightly report')).enabled).toBe(false); // enabled not declared: the pause stays

    // Restarting with unchanged code changes nothing: same schedule rows, same plan.
    const before = await taskRow(app, 'ping every 30s');
    await startAndStop(codeApp(schedule));
    const after = await taskRow(app, 'ping every 30s');
    expect(after.revision).toBe(before.revision);
    expect(after.next_run_at).toEqual(before.next_run_at);
    expect(planned.interval_id).toBe(after.interval_id);
    expect(await sql(app, `SELECT count(*)::int AS n FROM $S.celeriac_interval_schedule`)).toEqual([{ n: 1 }]);

    // An entry removed from code is disabled, with the reason.
    await startAndStop(codeApp({ 'ping every 30s': schedule['ping every 30s'] }));
    const removed = await taskRow(app, 'nightly report');
    expect(removed.enabled).toBe(false);
    const paused = await service.enable('nightly report');
    await startAndStop(codeApp({ 'ping every 30s': schedule['ping every 30s'] }));
    expect((await taskRow(app, 'nightly report')).enabled).toBe(false);
    expect((await taskRow(app, 'nightly report')).last_error).toMatch(/removed from beatSchedule/);
    expect(paused.enabled).toBe(true);
  });
});

describe('schema', () => {
  test('the entities describe exactly what the migration creates', async () => {
    const ds = await app.dataSource();
    const pending = await ds.driver.createSchemaBuilder().log();
    const beatTables =
      /celeriac_(interval_schedule|crontab_schedule|solar_schedule|clocked_schedule|periodic_task|beat_outbox|beat_instance)/;
    expect(pending.upQueries.map((q) => q.query).filter((q) => beatTables.test(q))).toEqual([]);
  });

  test('a beat on an unmigrated database says to migrate', async () => {
    const bare = new Celeriac({
      databaseUrl: DATABASE_URL,
      brokerUrl: REDIS_URL,
      logger: silentLogger,
      ...isolation('beat_bare'),
    });
    try {
      const beat = bare.beat({ listen: false });
      await expect(beat.start()).rejects.toThrow(BeatNotMigratedError);
      await expect(bare.beat().start()).rejects.toThrow(/run `celeriac migrate --app <module>`/);
    } finally {
      await bare.close();
    }
  });

  test('the migration goes down and up again', async () => {
    const ds = await app.dataSource();
    // attcompression: 'l' lz4, '' the server's default; attstorage: 'x' extended, 'e' external
    const runsColumn = `SELECT attcompression::text AS compression, attstorage::text AS storage FROM pg_attribute
                         WHERE attrelid = '$S.celeriac_beat_outbox'::regclass AND attname = 'runs'`;
    expect(await sql(app, runsColumn)).toEqual([{ compression: 'l', storage: 'x' }]);
    await ds.undoLastMigration({ transaction: 'each' }); // 0005, the outbox's lz4
    expect(await sql(app, runsColumn)).toEqual([{ compression: '', storage: 'e' }]);
    await ds.undoLastMigration({ transaction: 'each' }); // 0004, the broker coordination tables
    expect(await sql(app, `SELECT to_regclass('$S.celeriac_chord_member') AS t`)).toEqual([{ t: null }]);
    await ds.undoLastMigration({ transaction: 'each' }); // 0003, the results' date_created index
    expect(await sql(app, `SELECT to_regclass('$S.celeriac_task_result_created_idx') AS t`)).toEqual([{ t: null }]);
    await ds.undoLastMigration({ transaction: 'each' }); // 0002, beat
    expect(await sql(app, `SELECT to_regclass('$S.celeriac_periodic_task') AS t`)).toEqual([{ t: null }]);
    await app.migrate();
    expect(await sql(app, `SELECT count(*)::int AS n FROM $S.celeriac_periodic_task`)).toEqual([{ n: 0 }]);
    expect(await sql(app, runsColumn)).toEqual([{ compression: 'l', storage: 'x' }]);
  });
});
