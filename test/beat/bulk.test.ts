/**
 * Many rows at once (a bulk insert, a new install, a burst): every row planned, the rounds read
 * ahead by id, the table analyzed so that Postgres plans the per-batch statements by key, and a
 * burst claimed batch after batch, each run once.
 */
import { ManualClock, type Beat, type Celeriac } from '../../src';
import { cleanup } from '../helpers';
import { assertNoBeatLeftRunning, makeBeatApp, queued, sql, tracked, resetBeatState } from './beat-helpers';

let app: Celeriac;
let beat: Beat;
const T0 = Date.parse('2026-06-01T10:00:00.000Z');

beforeAll(async () => {
  app = await makeBeatApp('beat_bulk');
});
afterAll(() => cleanup(app));
beforeEach(async () => {
  await resetBeatState(app);
  beat = tracked(app.beat({ clock: new ManualClock(T0), listen: false, batchSize: 10 }));
});
afterEach(async () => {
  await beat.stop();
  await assertNoBeatLeftRunning();
});

async function bulkInsert(n: number, prefix = 'bulk'): Promise<void> {
  const [{ id }] = await sql(
    app,
    `INSERT INTO $S.celeriac_interval_schedule (every, period) VALUES (1, 'hours') RETURNING id`,
  );
  await sql(
    app,
    `INSERT INTO $S.celeriac_periodic_task (name, task, interval_id) SELECT $3 || g, 'beat.ping', $1 FROM generate_series(1, $2) g`,
    [id, n, prefix],
  );
}

const lastAnalyze = async (): Promise<Date | null> =>
  (
    await sql(
      app,
      `SELECT last_analyze FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'celeriac_periodic_task'`,
      [app.config.schema],
    )
  )[0]?.last_analyze ?? null;

test('more rows than a batch are all planned by one tick, each once', async () => {
  await bulkInsert(35);
  const replanned: number[] = [];
  beat.on('replanned', (n) => replanned.push(n));
  expect(await beat.tick(T0)).toMatchObject({ replanned: 35 });
  expect(replanned).toEqual([35]);
  const [{ planned, stale }] = await sql(
    app,
    `SELECT count(*) FILTER (WHERE next_run_at = $1)::int AS planned, count(*) FILTER (WHERE next_run_stale)::int AS stale
       FROM $S.celeriac_periodic_task WHERE name LIKE 'bulk%'`,
    [new Date(T0 + 3600_000)],
  );
  expect({ planned, stale }).toEqual({ planned: 35, stale: 0 });
});

test('more due rows than a batch are claimed in a pipeline: all sent by one tick, each once', async () => {
  await bulkInsert(35);
  await beat.tick(T0);
  expect(await beat.tick(T0 + 3600_000)).toMatchObject({ sent: 35 });
  const msgs = await queued(app);
  expect(new Set(msgs.map((m) => m.periodicTaskName)).size).toBe(35);
  expect(msgs).toHaveLength(35);
  expect(await sql(app, `SELECT * FROM $S.celeriac_beat_outbox`)).toEqual([]);
});

test('a full batch of rows to plan gets the table analyzed; fewer rows do not', async () => {
  // Beat awaits its ANALYZE inside tick(), and Postgres (15+) records a manual ANALYZE's time in
  // shared memory as the statement ends: so as soon as tick() returns, last_analyze shows whether it
  // ran. The second half relies on that same fact, which is what lets the first half fail.
  const before = await lastAnalyze();
  await bulkInsert(5);
  await beat.tick(T0);
  expect(await lastAnalyze()).toEqual(before);

  await bulkInsert(25, 'more');
  await beat.tick(T0);
  expect((await lastAnalyze())?.getTime() ?? 0).toBeGreaterThan(before?.getTime() ?? 0);
});
