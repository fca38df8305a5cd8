/**
 * A running beat claims runs up to claimAheadMs before their slot and sends each group of
 * them at its instant: never early, on time, and still exactly once when the beat stops or
 * dies in between (the group's outbox lease runs from its instant).
 */
import { ManualClock, type Beat, type Celeriac, type SentRun } from '../../src';
import { runTaskId } from '../../src/beat';
import { Client } from 'pg';
import { cleanup, DATABASE_URL, eventually } from '../helpers';
import {
  assertNoBeatLeftRunning,
  insertIntervalTask,
  makeBeatApp,
  queued,
  sql,
  taskRow,
  tracked,
  resetBeatState,
} from './beat-helpers';

let app: Celeriac;
const LEASE = 2000;

beforeAll(async () => {
  app = await makeBeatApp('beat_ahead');
});
afterAll(() => cleanup(app));
beforeEach(() => resetBeatState(app));
afterEach(assertNoBeatLeftRunning);

/** Starts a beat on the real clock, recording when each run's 'sent' event arrived. */
async function startBeat(): Promise<{ beat: Beat; sent: (SentRun & { at: number })[] }> {
  const beat = tracked(app.beat({ name: 'ahead', outboxLeaseMs: LEASE }));
  const sent: (SentRun & { at: number })[] = [];
  beat.on('sent', (runs) => sent.push(...runs.map((r) => ({ ...r, at: Date.now() }))));
  await beat.start();
  return { beat, sent };
}

/** Two hourly tasks, planned by the beat, then moved by hand to run at the given instants. */
async function twoTasksAt(beat: Beat, a: number, b: number): Promise<void> {
  await insertIntervalTask(app, 'a', 1, 'hours');
  await insertIntervalTask(app, 'b', 1, 'hours');
  await eventually(async () => expect((await taskRow(app, 'b')).next_run_at).not.toBeNull());
  expect(beat.running).toBe(true);
  await sql(
    app,
    `UPDATE $S.celeriac_periodic_task SET next_run_at = CASE name WHEN 'a' THEN $1::timestamptz ELSE $2::timestamptz END WHERE name IN ('a', 'b')`,
    [new Date(a), new Date(b)],
  );
}

test("afterPublish comes once Redis has the runs, not after the outbox row's delete; 'sent' after it", async () => {
  const published: string[] = [];
  const off = app.signals.connect('afterPublish', (info) => void published.push(info.id));
  const pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  try {
    const { beat, sent } = await startBeat();
    const slotA = Date.now() + 1200;
    await twoTasksAt(beat, slotA, slotA + 3600_000);
    await eventually(
      async () =>
        expect(
          await sql(app, `SELECT 1 FROM $S.celeriac_beat_outbox WHERE claimed_at = $1`, [new Date(slotA)]),
        ).toHaveLength(1),
      1000,
      10,
    );
    // Another session holds the claimed outbox row: the beat's delete after the send waits on it.
    await pg.query('BEGIN');
    await pg.query(`SELECT 1 FROM "${app.config.schema}".celeriac_beat_outbox FOR UPDATE`);
    await eventually(async () => expect(await queued(app)).toHaveLength(1), 5000, 10);
    await eventually(() => expect(published).toHaveLength(1), 5000, 10);
    expect(sent).toEqual([]);
    await pg.query('COMMIT');
    await eventually(() => expect(sent.map((r) => r.name)).toEqual(['a']), 5000, 10);
    await beat.stop();
  } finally {
    off();
    await pg.query('ROLLBACK').catch(() => {});
    await pg.end();
  }
});

test('runs are claimed ahead, one outbox group per instant, and each group is sent at its slot, not before', async () => {
  const { beat, sent } = await startBeat();
  const slotA = Date.now() + 1200;
  const slotB = slotA + 200;
  await twoTasksAt(beat, slotA, slotB);

  // Claimed ahead: both runs recorded (each group's lease counted from its instant), nothing in Redis yet.
  await eventually(
    async () => {
      const rows = await sql(
        app,
        `SELECT claimed_by, claimed_at, run_count FROM $S.celeriac_beat_outbox ORDER BY claimed_at`,
      );
      expect(rows.map((r: any) => [r.claimed_by, r.claimed_at.getTime(), r.run_count])).toEqual([
        ['ahead', slotA, 1],
        ['ahead', slotB, 1],
      ]);
    },
    1000,
    10,
  );
  expect(Date.now()).toBeLessThan(slotA);
  expect(await queued(app)).toEqual([]);
  expect((await taskRow(app, 'a')).next_run_at.getTime()).toBe(slotA + 3600_000);

  await eventually(() => expect(sent.map((r) => r.name).sort()).toEqual(['a', 'b']), 5000, 10);
  const [a, b] = [sent.find((r) => r.name === 'a')!, sent.find((r) => r.name === 'b')!];
  expect(a.at).toBeGreaterThanOrEqual(slotA);
  expect(b.at).toBeGreaterThanOrEqual(slotB);
  expect(a.at).toBeLessThan(slotB); // a's group did not wait for b's
  const msgs = await queued(app);
  expect(msgs.map((m) => [m.periodicTaskName, m.scheduledAt])).toEqual([
    ['a', new Date(slotA).toISOString()],
    ['b', new Date(slotB).toISOString()],
  ]);
  await eventually(async () => expect(await sql(app, `SELECT * FROM $S.celeriac_beat_outbox`)).toEqual([]));
  await beat.stop();
});

test('stop() sends the runs it claimed ahead, at their slot, before it returns', async () => {
  const { beat } = await startBeat();
  const slot = Date.now() + 1200;
  await twoTasksAt(beat, slot, slot);
  await eventually(
    async () => expect(await sql(app, `SELECT run_count FROM $S.celeriac_beat_outbox`)).toEqual([{ run_count: 2 }]),
    1000,
    10,
  );
  expect(Date.now()).toBeLessThan(slot);

  await beat.stop();
  expect(Date.now()).toBeGreaterThanOrEqual(slot);
  expect((await queued(app)).map((m) => m.periodicTaskName).sort()).toEqual(['a', 'b']);
  expect(await sql(app, `SELECT * FROM $S.celeriac_beat_outbox`)).toEqual([]);
});

describe('a group claimed ahead by a beat that died, written directly', () => {
  const T0 = Date.parse('2026-06-01T10:00:00.000Z');
  const INSTANT = T0 + 800;

  async function deadGroup(owner: string): Promise<string> {
    const id = await insertIntervalTask(app, 'ahead-job', 1, 'hours');
    const taskId = runTaskId(app.config.schema, id, INSTANT);
    const prepared = app.prepare(
      'beat.ping',
      [],
      {},
      { taskId, headers: { scheduled_at: new Date(INSTANT).toISOString() }, periodicTaskName: 'ahead-job' },
    );
    const run = {
      periodicTaskId: id,
      name: 'ahead-job',
      task: 'beat.ping',
      taskId,
      scheduledAt: new Date(INSTANT).toISOString(),
      queue: 'celery',
      priority: 0,
      raw: prepared.outgoing.raw,
    };
    await sql(
      app,
      `INSERT INTO $S.celeriac_beat_outbox (batch_id, claimed_by, claimed_at, first_claimed_at, run_count, runs)
       VALUES (gen_random_uuid(), $1, $2, $3, 1, $4)`,
      [owner, new Date(INSTANT), new Date(T0), JSON.stringify([run])],
    );
    return taskId;
  }

  test('another beat takes it over a lease after its instant, not a lease after the claim', async () => {
    const taskId = await deadGroup('dead');
    const rescuer = tracked(
      app.beat({ name: 'rescuer', listen: false, outboxLeaseMs: LEASE, clock: new ManualClock(T0) }),
    );
    expect((await rescuer.tick(T0 + LEASE)).recovered).toBe(0);
    expect((await rescuer.tick(INSTANT + LEASE - 1)).recovered).toBe(0);
    expect(await queued(app)).toEqual([]);
    expect(await rescuer.tick(INSTANT + LEASE)).toMatchObject({ recovered: 1, sent: 1 });
    expect((await queued(app)).map((m) => m.id)).toEqual([taskId]);
    await rescuer.stop();
  });

  test('a beat restarted under the same name sends its own group at the instant, not before', async () => {
    const taskId = await deadGroup('same-name');
    const again = tracked(
      app.beat({ name: 'same-name', listen: false, outboxLeaseMs: LEASE, clock: new ManualClock(T0) }),
    );
    expect((await again.tick(INSTANT - 1)).recovered).toBe(0);
    expect(await queued(app)).toEqual([]);
    expect(await again.tick(INSTANT)).toMatchObject({ recovered: 1, sent: 1 });
    expect((await queued(app)).map((m) => m.id)).toEqual([taskId]);
    await again.stop();
  });
});

test('claimAheadMs: 0 claims at the slot; a negative value is refused', () => {
  expect(() => app.beat({ claimAheadMs: -1 })).toThrow(/beat\.claimAheadMs/);
  expect(() => app.beat({ claimAheadMs: 0 })).not.toThrow();
});
