/**
 * Interval rows are planned in Postgres (src/beat/sql/planIntervals.ts), the rest row by row in
 * TypeScript (src/beat/plan.ts firstRun): both must give every row the same first slot, and rows
 * the SQL does not take (other kinds, bad rows, tasks only routed) must still be planned or parked.
 */
import { ManualClock, type Beat, type Celeriac } from '../../src';
import { BeatDb } from '../../src/beat/db';
import { firstRun } from '../../src/beat/plan';
import { intervalMs } from '../../src/beat/schedule/interval';
import { cleanup } from '../helpers';
import {
  assertNoBeatLeftRunning,
  insertCrontabTask,
  insertIntervalTask,
  makeBeatApp,
  resetBeatState,
  sql,
  taskRow,
  tracked,
} from './beat-helpers';

let app: Celeriac;
let beat: Beat;
const T0 = Date.parse('2026-06-01T10:00:00.000Z');

beforeAll(async () => {
  app = await makeBeatApp('beat_plan_sql');
});
afterAll(() => cleanup(app));
beforeEach(async () => {
  await resetBeatState(app);
  beat = tracked(app.beat({ clock: new ManualClock(T0), listen: false, batchSize: 10 }));
});
afterEach(async () => {
  jest.restoreAllMocks();
  await beat.stop();
  await assertNoBeatLeftRunning();
});

const iso = (s: string) => new Date(s);
/** A shape's last_slot_at as inserted (a run sent by the tick moves it). */
const pick = (name: string) => {
  const cols = shapes.find(([n]) => n === name)![3];
  return cols.last_slot_at ? { last_slot_at: iso(cols.last_slot_at as string) } : {};
};

/** [name, every, period, columns]: each shape of firstRun's interval rule, with sub-millisecond times. */
const shapes: [string, number, string, Record<string, unknown>][] = [
  ['fresh', 60, 'seconds', {}],
  ['start-ahead', 60, 'seconds', { start_time: '2026-06-01T10:05:00.123456Z' }],
  // (start_time = now plans a slot due at once, which the same tick then sends)
  ['start-just-ahead', 7, 'seconds', { start_time: '2026-06-01T10:00:00.001Z' }],
  ['start-past', 7, 'seconds', { start_time: '2026-06-01T09:00:00.000789Z' }],
  ['start-past-on-grid', 60, 'seconds', { start_time: '2026-06-01T09:59:00.000Z' }],
  ['start-long-ago', 2, 'days', { start_time: '2001-02-03T04:05:06.999999Z' }],
  ['last-recent', 60, 'seconds', { last_slot_at: '2026-06-01T09:59:50.5Z' }],
  ['last-exactly-period', 60, 'seconds', { last_slot_at: '2026-06-01T09:59:00.000Z' }],
  ['last-long-ago', 7, 'minutes', { last_slot_at: '2026-06-01T08:13:14.15Z' }],
  ['start-and-last', 3, 'hours', { start_time: '2026-05-01T00:00:00Z', last_slot_at: '2026-06-01T09:00:00Z' }],
  ['micro', 5000, 'microseconds', {}],
  ['micro-start', 3000, 'microseconds', { start_time: '2026-06-01T09:59:59.9999Z' }],
  ['hours', 1, 'hours', {}],
];

test('interval rows get the first slot firstRun gives them, planned in Postgres', async () => {
  for (const [name, every, period, cols] of shapes) await insertIntervalTask(app, name, every, period, cols);
  const names: string[] = [];
  const query = BeatDb.prototype.query;
  jest.spyOn(BeatDb.prototype, 'query').mockImplementation(function (this: BeatDb, n, text, values) {
    names.push(n);
    return query.call(this, n, text, values);
  });
  expect(await beat.tick(T0)).toMatchObject({ replanned: shapes.length });
  // All planned by the set-based statement; none read back into the beat.
  expect(names.some((n) => n.startsWith('celeriac_beat_plan_intervals_'))).toBe(true);
  const schema = app.config.schema;
  expect(names).not.toContain(`celeriac_beat_stale_${schema}`);
  expect(names).not.toContain(`celeriac_beat_plan_${schema}`);
  for (const [name, every, period] of shapes) {
    const row = await taskRow(app, name);
    const spec = { kind: 'interval', every, period: period as 'seconds' } as const;
    const expected = firstRun({ ...row, last_slot_at: null, ...pick(name) }, spec, T0).nextMs!;
    // A first slot at now is due at once: the same tick sends it and moves on one period.
    const sentNow = expected <= T0;
    expect({
      name,
      next: row.next_run_at?.getTime(),
      lastSlot: sentNow ? row.last_slot_at?.getTime() : undefined,
      stale: row.next_run_stale,
      error: row.last_error,
    }).toEqual({
      name,
      next: sentNow ? expected + intervalMs(every, period as 'seconds') : expected,
      lastSlot: sentNow ? expected : undefined,
      stale: false,
      error: null,
    });
  }
});

test('a disabled row is planned with no next run and keeps its note', async () => {
  await insertIntervalTask(app, 'off', 60, 'seconds', { enabled: false, last_error: 'removed from beatSchedule' });
  await insertCrontabTask(app, 'off-cron', { minute: '61' }, { enabled: false });
  expect(await beat.tick(T0)).toMatchObject({ replanned: 2, rowErrors: 0 });
  expect(await taskRow(app, 'off')).toMatchObject({
    next_run_at: null,
    next_run_stale: false,
    last_error: 'removed from beatSchedule',
  });
  expect(await taskRow(app, 'off-cron')).toMatchObject({ next_run_at: null, next_run_stale: false });
});

test('rows the statement leaves (crontab, an unknown task, a reserved header) are planned or parked row by row', async () => {
  await insertIntervalTask(app, 'a-good', 60, 'seconds');
  await insertCrontabTask(app, 'b-cron', { minute: '30' });
  await insertIntervalTask(app, 'c-unknown', 60, 'seconds', { task: 'nobody.runs.this' });
  await insertIntervalTask(app, 'd-header', 60, 'seconds', { headers: { id: 'mine' } });
  await insertIntervalTask(app, 'e-good', 60, 'seconds');
  expect(await beat.tick(T0)).toMatchObject({ replanned: 3, rowErrors: 2 });
  expect((await taskRow(app, 'a-good')).next_run_at).toEqual(new Date(T0 + 60_000));
  expect((await taskRow(app, 'e-good')).next_run_at).toEqual(new Date(T0 + 60_000));
  expect((await taskRow(app, 'b-cron')).next_run_at).toEqual(iso('2026-06-01T10:30:00Z'));
  expect(await taskRow(app, 'c-unknown')).toMatchObject({ next_run_at: null, next_run_stale: false });
  expect((await taskRow(app, 'c-unknown')).last_error).toMatch(/no task named 'nobody.runs.this'/);
  expect((await taskRow(app, 'd-header')).last_error).toMatch(/headers: may not set 'id'/);
});

test('more stale rows than a statement takes: every one planned, once, by one tick', async () => {
  const [{ id }] = await sql(
    app,
    `INSERT INTO $S.celeriac_interval_schedule (every, period) VALUES (90, 'seconds') RETURNING id`,
  );
  await sql(
    app,
    `INSERT INTO $S.celeriac_periodic_task (name, task, interval_id) SELECT 'many' || g, 'beat.ping', $1 FROM generate_series(1, 12000) g`,
    [id],
  );
  expect(await beat.tick(T0)).toMatchObject({ replanned: 12_000 });
  const [r] = await sql(
    app,
    `SELECT count(*) FILTER (WHERE next_run_at = $1)::int AS planned, count(*) FILTER (WHERE next_run_stale)::int AS stale
       FROM $S.celeriac_periodic_task`,
    [new Date(T0 + 90_000)],
  );
  expect(r).toEqual({ planned: 12_000, stale: 0 });
});
