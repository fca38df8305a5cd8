/**
 * A running beat sees edits made behind its back (plain SQL, as the admin or psql would) within
 * a second, through LISTEN/NOTIFY, and re-plans only the rows that changed. Without LISTEN it
 * polls at most a second apart; a lost LISTEN session is re-established.
 */
import { Client } from 'pg';
import { type Beat, type Celeriac, type SentRun } from '../../src';
import { cleanup, DATABASE_URL, eventually } from '../helpers';
import {
  assertNoBeatLeftRunning,
  insertCrontabTask,
  insertIntervalTask,
  makeBeatApp,
  sql,
  taskRow,
  tracked,
  resetBeatState,
} from './beat-helpers';

let app: Celeriac;
let beat: Beat;
let sent: SentRun[];

beforeAll(async () => {
  app = await makeBeatApp('beat_changes');
});
afterAll(() => cleanup(app));
beforeEach(async () => {
  await resetBeatState(app);
  sent = [];
});
afterEach(async () => {
  await beat?.stop();
  await assertNoBeatLeftRunning();
});

async function startBeat(options: Parameters<Celeriac['beat']>[0] = {}): Promise<Beat> {
  beat = tracked(app.beat(options));
  beat.on('sent', (runs) => sent.push(...runs));
  await beat.start();
  return beat;
}

/**
 * How long a change may take to be seen. Not a latency target (a quiet machine sees one in a few
 * ms): without NOTIFY, or without polling where LISTEN is off, the beat here would not look again
 * for an hour or for maxSleepMs (30 s), so seeing it at all within this bound shows the mechanism,
 * and a busy machine's slow statements cannot fail it.
 */
const SEEN_MS = 10_000;

/** Waits for `check` and returns how long it took from `since`. */
async function within(since: number, check: () => Promise<void>, timeoutMs = SEEN_MS + 5_000): Promise<number> {
  await eventually(check, timeoutMs, 10);
  return Date.now() - since;
}

test('an edit to a schedule row by plain SQL is planned at once (NOTIFY), and the run follows', async () => {
  await insertIntervalTask(app, 'hourly', 1, 'hours');
  await startBeat();
  expect(beat.listening).toBe(true);
  await eventually(async () => expect((await taskRow(app, 'hourly')).next_run_at).not.toBeNull());
  const before = (await taskRow(app, 'hourly')).next_run_at.getTime();
  expect(before - Date.now()).toBeGreaterThan(3_500_000); // asleep for an hour

  const t0 = Date.now();
  await sql(app, `UPDATE $S.celeriac_interval_schedule SET every = 1, period = 'seconds'`);
  const planned = await within(t0, async () => {
    // Seconds away instead of an hour: the edit was planned (the first slot may already be
    // claimed, up to claimAheadMs ahead, and next_run_at on the slot after it).
    const next = (await taskRow(app, 'hourly')).next_run_at;
    expect(next.getTime()).toBeLessThan(t0 + 3000);
  });
  expect(planned).toBeLessThan(SEEN_MS);
  await within(t0, async () => expect(sent.filter((r) => r.name === 'hourly').length).toBeGreaterThanOrEqual(1));
});

test('a row inserted, a run moved and a task disabled by plain SQL are all seen at once', async () => {
  const control = await insertIntervalTask(app, 'control', 200_000, 'microseconds');
  await insertIntervalTask(app, 'daily', 1, 'days');
  await startBeat();

  let t0 = Date.now();
  await insertIntervalTask(app, 'new', 300_000, 'microseconds');
  expect(await within(t0, async () => expect(sent.some((r) => r.name === 'new')).toBe(true))).toBeLessThan(SEEN_MS);

  // Moving next_run_at by hand is a change too (the trigger tells it from a beat's own write).
  await eventually(async () => expect((await taskRow(app, 'daily')).next_run_at).not.toBeNull());
  t0 = Date.now();
  await sql(app, `UPDATE $S.celeriac_periodic_task SET next_run_at = $1 WHERE name = 'daily'`, [new Date(t0 + 100)]);
  expect(await within(t0, async () => expect(sent.some((r) => r.name === 'daily')).toBe(true))).toBeLessThan(SEEN_MS);

  t0 = Date.now();
  await sql(app, `UPDATE $S.celeriac_periodic_task SET enabled = false WHERE name = 'new'`);
  await within(t0, async () => expect((await taskRow(app, 'new')).next_run_at).toBeNull());
  const seen = Date.now();
  const controlRuns = sent.filter((r) => r.periodicTaskId === control).length;
  // The control task keeps running (for 2 s more); the disabled one does not, except a run the
  // beat had already claimed, at most claimAheadMs (1 s) before its slot.
  await eventually(
    () => expect(sent.filter((r) => r.periodicTaskId === control).length).toBeGreaterThanOrEqual(controlRuns + 10),
    SEEN_MS + 5_000,
  );
  expect(sent.filter((r) => r.name === 'new' && r.scheduledAt.getTime() > seen + 1000)).toEqual([]);
});

test('an edit re-plans only the rows it touched', async () => {
  const [{ id: shared }] = await sql(
    app,
    `INSERT INTO $S.celeriac_interval_schedule (every, period) VALUES (1, 'hours') RETURNING id`,
  );
  await sql(
    app,
    `INSERT INTO $S.celeriac_periodic_task (name, task, interval_id) SELECT 'bulk' || g, 'beat.ping', $1 FROM generate_series(1, 500) g`,
    [shared],
  );
  await insertCrontabTask(app, 'nightly', { minute: '0', hour: '3' });
  const replans: number[] = [];
  await startBeat();
  beat.on('replanned', (n) => replans.push(n));
  await eventually(async () =>
    expect(
      (await sql(app, `SELECT count(*)::int AS n FROM $S.celeriac_periodic_task WHERE next_run_at IS NULL`))[0].n,
    ).toBe(0),
  );
  const before = await sql(
    app,
    `SELECT name, next_run_at, revision FROM $S.celeriac_periodic_task WHERE name <> 'nightly' ORDER BY name`,
  );
  replans.length = 0;

  await sql(app, `UPDATE $S.celeriac_crontab_schedule SET hour = '4' WHERE hour = '3'`);
  await eventually(async () => expect((await taskRow(app, 'nightly')).next_run_at.getUTCHours()).toBe(4));
  expect(replans).toEqual([1]);
  expect(
    await sql(
      app,
      `SELECT name, next_run_at, revision FROM $S.celeriac_periodic_task WHERE name <> 'nightly' ORDER BY name`,
    ),
  ).toEqual(before);
});

test('without LISTEN the beat polls: a change is seen at the next poll', async () => {
  await insertIntervalTask(app, 'hourly', 1, 'hours');
  await startBeat({ listen: false, pollIntervalMs: 1000 });
  expect(beat.listening).toBe(false);
  await eventually(async () => expect((await taskRow(app, 'hourly')).next_run_at).not.toBeNull());
  const t0 = Date.now();
  await sql(app, `UPDATE $S.celeriac_interval_schedule SET every = 1, period = 'seconds'`);
  // At most one poll interval, plus the tick that plans it.
  expect(
    await within(t0, async () => expect((await taskRow(app, 'hourly')).next_run_at.getTime()).toBeLessThan(t0 + 3500)),
  ).toBeLessThan(SEEN_MS);
});

test('a lost LISTEN session is re-established, and changes are still seen', async () => {
  await insertIntervalTask(app, 'hourly', 1, 'hours');
  const states: boolean[] = [];
  await startBeat({ pollIntervalMs: 1000 });
  beat.on('listening', (up) => states.push(up));
  beat.on('error', () => {});
  const admin = new Client({ connectionString: DATABASE_URL });
  await admin.connect();
  try {
    const killed = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
      [`celeriac-beat:${beat.name}:listen`.slice(0, 63)],
    );
    expect(killed.rowCount).toBe(1);
  } finally {
    await admin.end();
  }
  await eventually(() => expect(states).toEqual([false, true]), 10_000);
  const t0 = Date.now();
  await sql(app, `UPDATE $S.celeriac_interval_schedule SET every = 1, period = 'seconds'`);
  expect(
    await within(t0, async () => expect((await taskRow(app, 'hourly')).next_run_at.getTime()).toBeLessThan(t0 + 3500)),
  ).toBeLessThan(SEEN_MS);
});
