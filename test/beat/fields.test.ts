/**
 * The periodic task's field table (src/beat/fields.ts) against what it drives: the migrated
 * columns, the service's view, the admin's JSON and code-declared sync. A field added to the
 * table must appear in each of them, and the sample below must name it (the compiler says so).
 * Then the next run: the form's preview, the list's expected run and the run a beat plans agree.
 */
import { Celeriac, ManualClock, PeriodicTaskService, type Beat, type PeriodicTaskInput } from '../../src';
import { toPeriodicJson } from '../../src/admin/api/periodic';
import { PERIODIC_TASK_FIELD_NAMES, PERIODIC_TASK_FIELDS, type PeriodicTaskValues } from '../../src/beat/fields';
import { SCHEDULE_KINDS, SCHEDULE_TABLES } from '../../src/beat/schedule-tables';
import { silentLogger } from '../../src/log';
import { cleanup, DATABASE_URL, REDIS_URL } from '../helpers';
import {
  assertNoBeatLeftRunning,
  fixtureApps,
  makeBeatApp,
  resetBeatState,
  sql,
  taskRow,
  tracked,
} from './beat-helpers';

let app: Celeriac;
const T0 = Date.parse('2026-06-01T10:00:00.000Z');
const MIN = 60_000;

beforeAll(async () => {
  app = await makeBeatApp('beat_fields');
});
afterAll(() => cleanup(app));
beforeEach(() => resetBeatState(app));
afterEach(assertNoBeatLeftRunning);

/** A value other than the default for every field. */
const SAMPLE: PeriodicTaskValues = {
  name: 'every field',
  task: 'beat.report',
  args: [1, 'two', { three: [3] }],
  kwargs: { fmt: 'pdf', pages: [1, 2] },
  queue: 'reports',
  exchange: 'reports.x',
  routingKey: 'reports.key',
  headers: { 'x-tenant': 'acme' },
  priority: 7,
  expires: null,
  expireSeconds: 600,
  oneOff: true,
  startTime: new Date('2030-01-02T03:04:05.000Z'),
  enabled: false,
  description: 'all of them',
  catchUp: 'skip',
};

describe('the table and what it drives', () => {
  test('each field is a column of the type and size the migration gives it', async () => {
    const columns = await sql(
      app,
      `SELECT column_name, data_type, character_maximum_length AS length, is_nullable
         FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'celeriac_periodic_task'`,
      [app.config.schema],
    );
    const typeOf = (c: any) =>
      ({
        'character varying': `varchar(${c.length})`,
        integer: 'integer',
        jsonb: 'jsonb',
        boolean: 'boolean',
        text: 'text',
        'timestamp with time zone': 'timestamptz',
      })[c.data_type as string];
    for (const field of PERIODIC_TASK_FIELD_NAMES) {
      const spec = PERIODIC_TASK_FIELDS[field];
      const column = columns.find((c: any) => c.column_name === spec.column);
      expect({ field, type: column && typeOf(column) }).toEqual({ field, type: spec.sqlType });
    }
    for (const kind of SCHEDULE_KINDS) {
      const { table, columns: declared } = SCHEDULE_TABLES[kind];
      const actual = await sql(
        app,
        `SELECT column_name, data_type, character_maximum_length AS length, numeric_precision, numeric_scale
           FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`,
        [app.config.schema, table],
      );
      for (const c of declared) {
        const a = actual.find((x: any) => x.column_name === c.column);
        const type = a?.data_type === 'numeric' ? `numeric(${a.numeric_precision},${a.numeric_scale})` : a && typeOf(a);
        expect({ table, column: c.column, type }).toEqual({ table, column: c.column, type: c.sqlType });
      }
    }
  });

  test('every field goes in through the service and comes back in the view and the JSON', async () => {
    const service = new PeriodicTaskService(app);
    const view = await service.create({ ...SAMPLE, schedule: 3600 } as PeriodicTaskInput);
    const json = toPeriodicJson(view) as Record<string, unknown>;
    for (const field of PERIODIC_TASK_FIELD_NAMES) {
      expect({ field, value: view[field] }).toEqual({ field, value: SAMPLE[field] });
      const sample = SAMPLE[field];
      expect({ field, json: json[field] }).toEqual({
        field,
        json: sample instanceof Date ? sample.toISOString() : sample,
      });
    }
    // And again as a replacement of every field, with the other expiry.
    const replaced = await service.replace(view.id, {
      ...SAMPLE,
      expires: '2031-01-01T00:00:00Z',
      expireSeconds: null,
      schedule: 60,
    } as PeriodicTaskInput);
    expect(replaced).toMatchObject({ expires: new Date('2031-01-01T00:00:00Z'), expireSeconds: null });
  });

  test('every field a beatSchedule entry can set is synced into its column', async () => {
    const code = new Celeriac({
      apps: fixtureApps,
      databaseUrl: DATABASE_URL,
      brokerUrl: REDIS_URL,
      schema: app.config.schema,
      keyPrefix: app.config.keyPrefix,
      logger: silentLogger,
      beatSchedule: {
        [SAMPLE.name]: {
          task: SAMPLE.task,
          schedule: 3600,
          args: SAMPLE.args,
          kwargs: SAMPLE.kwargs,
          options: {
            queue: SAMPLE.queue!,
            exchange: SAMPLE.exchange!,
            routingKey: SAMPLE.routingKey!,
            headers: SAMPLE.headers,
            priority: SAMPLE.priority!,
            expires: SAMPLE.expireSeconds!,
          },
          oneOff: SAMPLE.oneOff,
          startTime: SAMPLE.startTime!,
          enabled: SAMPLE.enabled,
          description: SAMPLE.description,
          catchUp: SAMPLE.catchUp,
        },
      },
    });
    try {
      const beat = tracked(code.beat({ listen: false }));
      await beat.start();
      await beat.stop();
    } finally {
      await code.close();
    }
    const row = await taskRow(app, SAMPLE.name);
    expect(row.source).toBe('code');
    for (const field of PERIODIC_TASK_FIELD_NAMES) {
      const column = PERIODIC_TASK_FIELDS[field].column;
      expect({ field, value: row[column] }).toEqual({ field, value: SAMPLE[field] });
    }
  });
});

describe("the next run: the form's preview, the list's expected run and the beat's plan agree", () => {
  let beat: Beat;
  let clock: ManualClock;
  let service: PeriodicTaskService;
  beforeEach(() => {
    clock = new ManualClock(T0);
    beat = tracked(app.beat({ clock, listen: false }));
    service = new PeriodicTaskService(app, { clock });
  });
  afterEach(() => beat.stop());

  const every = (minutes: number) => ({ kind: 'interval' as const, every: minutes, period: 'minutes' as const });
  const at = async () => (await taskRow(app, 'agree')).next_run_at?.getTime() ?? null;

  test('a new task, an edit that changes the schedule, an edit that keeps it', async () => {
    // New: counted from now.
    const [previewNew] = await service.preview({ schedule: every(10) });
    const created = await service.create({ name: 'agree', task: 'beat.ping', schedule: every(10) });
    expect(created.nextRunExpectedAt).toEqual(previewNew);
    await beat.tick(T0);
    expect(await at()).toBe(previewNew.getTime());
    expect(previewNew.getTime()).toBe(T0 + 10 * MIN);

    // It runs once; then, at T0 + 12 min, the form moves it to every 15 minutes. The beat counts
    // the new period from the last run (T0 + 10 min), not from now: so must the preview.
    await beat.tick(T0 + 10 * MIN);
    clock.set(T0 + 12 * MIN);
    const [previewEdit] = await service.preview({ schedule: every(15), task: created.id });
    expect(previewEdit.getTime()).toBe(T0 + 25 * MIN);
    const edited = await service.replace(created.id, { name: 'agree', task: 'beat.ping', schedule: every(15) });
    expect(edited.nextRunExpectedAt).toEqual(previewEdit);
    await beat.tick(T0 + 12 * MIN);
    expect(await at()).toBe(previewEdit.getTime());

    // An edit of another field keeps the schedule row and the planned run: not re-planned. Even
    // when another row holds the same schedule (django-celery-beat does not share them).
    const [{ id: twin }] = await sql(
      app,
      `INSERT INTO $S.celeriac_interval_schedule (every, period) VALUES (15, 'minutes') RETURNING id`,
    );
    await sql(app, `UPDATE $S.celeriac_periodic_task SET interval_id = $1 WHERE name = 'agree'`, [twin]);
    await beat.tick(T0 + 12 * MIN);
    const before = await taskRow(app, 'agree');
    expect(before.next_run_at.getTime()).toBe(T0 + 25 * MIN);
    clock.set(T0 + 13 * MIN);
    const [previewSame] = await service.preview({ schedule: every(15), task: created.id });
    expect(previewSame.getTime()).toBe(T0 + 25 * MIN);
    await service.update(created.id, { description: 'renamed nothing, moved nothing' });
    const after = await taskRow(app, 'agree');
    expect({ interval: after.interval_id, next: after.next_run_at, stale: after.next_run_stale }).toEqual({
      interval: twin,
      next: before.next_run_at,
      stale: false,
    });
  });
});
