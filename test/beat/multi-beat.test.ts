/**
 * Several beats on one database: every (periodic task, slot) is sent exactly once.
 * Counted from what is in Redis, not from what the beats say they did.
 *   1. Three beats, each its own app (own pools, own Redis connections), ticking the same
 *      instants concurrently under an injected clock: maximal contention, deterministic slots.
 *   2. Three in-process beats and one in a child process, on the real clock, started and left
 *      to run with many short intervals.
 */
import { Celeriac, type Beat, type SentRun } from '../../src';
import { silentLogger, type Logger } from '../../src/log';
import { deadlockCount, deadlocksIn, openServerLog } from '../pg-log';
import { TEST_BROKERS } from '../brokers';
import { cleanup, DATABASE_URL, eventually } from '../helpers';
import {
  assertNoBeatLeftRunning,
  beatAppOn,
  exited,
  fixtureApps,
  insertTask,
  makeBeatApp,
  queued,
  spawnBeat,
  sql,
  tracked,
  type BeatChild,
  resetBeatState,
} from './beat-helpers';

let app: Celeriac;
const peers: Celeriac[] = [];
const children: BeatChild[] = [];

/** Another app on the same schema, broker and key prefix: what a second server would be. */
function peerApp(logger: Logger = silentLogger, of: Celeriac = app): Celeriac {
  const peer = new Celeriac({
    apps: fixtureApps,
    databaseUrl: DATABASE_URL,
    brokerUrl: of.config.brokerUrl,
    schema: of.config.schema,
    keyPrefix: of.config.keyPrefix,
    logger,
  });
  peers.push(peer);
  return peer;
}

beforeAll(async () => {
  app = await makeBeatApp('beat_multi');
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const p of peers) await p.close();
  await cleanup(app);
});
beforeEach(async () => {
  await resetBeatState(app);
});
afterEach(assertNoBeatLeftRunning);

async function createIntervalTasks(n: number, every: number, period: string, of: Celeriac = app): Promise<void> {
  const [{ id }] = await sql(
    of,
    `INSERT INTO $S.celeriac_interval_schedule (every, period) VALUES ($1, $2) RETURNING id`,
    [every, period],
  );
  for (let i = 0; i < n; i++) await insertTask(of, `t${String(i).padStart(3, '0')}`, { interval_id: id });
}

/** Messages per periodic task: the slots, in order, and the ids seen more than once. */
async function tally(of: Celeriac = app) {
  const msgs = await queued(of, ['celery']);
  const seen = new Map<string, number>();
  const slots = new Map<string, number[]>();
  for (const m of msgs) {
    seen.set(m.id, (seen.get(m.id) ?? 0) + 1);
    const list = slots.get(m.periodicTaskName!) ?? [];
    list.push(Date.parse(m.scheduledAt!));
    slots.set(m.periodicTaskName!, list);
  }
  for (const list of slots.values()) list.sort((a, b) => a - b);
  const duplicates = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  return { total: msgs.length, duplicates, slots };
}

/** On every transport: counted from what is in Redis or in the RabbitMQ queue, not from what the beats say. */
describe.each(TEST_BROKERS)('on %s', (kind) => {
  const current = beatAppOn(kind, 'beat_multi', () => app);

  test('three beats ticking the same instants concurrently: each slot sent once', async () => {
    const onBroker = current();
    await resetBeatState(onBroker);
    const T0 = Date.parse('2026-06-01T10:00:00.000Z');
    const N = 200;
    const STEPS = 20;
    await createIntervalTasks(N, 1, 'seconds', onBroker);
    const beats = [1, 2, 3].map(() => tracked(peerApp(silentLogger, onBroker).beat({ listen: false, batchSize: 50 })));
    const sentBy = beats.map(() => 0);
    beats.forEach((b, i) => b.on('sent', (runs: SentRun[]) => (sentBy[i] += runs.length)));

    await Promise.all(beats.map((b) => b.tick(T0))); // plans every row: first slot T0 + 1 s
    for (let step = 1; step <= STEPS; step++) {
      const now = T0 + step * 1000 + (step % 3) * 7;
      await Promise.all(beats.map((b, i) => b.tick(now + i)));
    }
    await Promise.all(beats.map((b) => b.stop()));

    const { total, duplicates, slots } = await tally(onBroker);
    expect(duplicates).toEqual([]);
    expect(total).toBe(N * STEPS);
    const expected = Array.from({ length: STEPS }, (_, k) => T0 + (k + 1) * 1000);
    for (let i = 0; i < N; i++) expect(slots.get(`t${String(i).padStart(3, '0')}`)).toEqual(expected);
    expect(sentBy.reduce((a, b) => a + b, 0)).toBe(N * STEPS);
    // The work was shared, not done by one beat while the others stood by.
    expect(sentBy.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    const counts = await sql(onBroker, `SELECT DISTINCT total_run_count FROM $S.celeriac_periodic_task`);
    expect(counts).toEqual([{ total_run_count: STEPS }]);
    expect(await sql(onBroker, `SELECT * FROM $S.celeriac_beat_outbox`)).toEqual([]);
  }, 120_000);
});

test('three beats in this process and one in a child, on the real clock: no duplicate, no gap', async () => {
  const N = 40;
  const PERIOD = 500;
  await createIntervalTasks(N, PERIOD * 1000, 'microseconds');
  const child = spawnBeat(app, { BEAT_NAME: 'child-beat' });
  children.push(child);
  await child.waitFor('started');
  const beats: Beat[] = [peerApp(), peerApp(), peerApp()].map((a) => tracked(a.beat({ pollIntervalMs: 200 })));
  await Promise.all(beats.map((b) => b.start()));

  // Every task has run at least 8 times (4 s of 500 ms slots), and the child took part.
  await eventually(
    async () => {
      const [{ min }] = await sql(
        app,
        `SELECT min(total_run_count) AS min FROM $S.celeriac_periodic_task WHERE source = 'db'`,
      );
      expect(min).toBeGreaterThanOrEqual(8);
    },
    30_000,
    100,
  );
  const stopAt = Date.now();
  child.kill('SIGTERM');
  await Promise.all([...beats.map((b) => b.stop()), exited(child)]);

  const { duplicates, slots, total } = await tally();
  expect(duplicates).toEqual([]);
  const rows = await sql(
    app,
    `SELECT name, total_run_count, next_run_at FROM $S.celeriac_periodic_task WHERE source = 'db' ORDER BY name`,
  );
  expect(total).toBe(rows.reduce((a: number, r: any) => a + r.total_run_count, 0));
  for (const row of rows) {
    const s = slots.get(row.name)!;
    // Contiguous: every slot between the first and the last was sent.
    for (let k = 1; k < s.length; k++) expect(s[k] - s[k - 1]).toBe(PERIOD);
    expect(s.length).toBe(row.total_run_count);
    // Nothing due before the beats began stopping is left unsent (beats send within ms; 1 s margin for a loaded CI box).
    expect(row.next_run_at.getTime()).toBeGreaterThan(stopAt - 1000);
    expect(row.next_run_at.getTime()).toBe(s[s.length - 1] + PERIOD);
  }
  const childSent = child.events.filter((e) => e.event === 'sent').reduce((a, e) => a + (e.runs as number), 0);
  expect(childSent).toBeGreaterThan(0);
  expect(await sql(app, `SELECT * FROM $S.celeriac_beat_outbox`)).toEqual([]);
  expect(await sql(app, `SELECT * FROM $S.celeriac_beat_instance`)).toEqual([]); // every beat left cleanly
});

test("beats and a worker writing the same tasks' states: no deadlock in Postgres' log or in Celeriac's warnings", async () => {
  // Beats record each run PENDING while the worker records RECEIVED and SUCCESS for the same
  // tasks: batches in insertion order locked the same rows in different orders (issue 15 item 3).
  const serverLog = await openServerLog();
  const deadlocksBefore = await deadlockCount();
  const warnings: string[] = [];
  const logger: Logger = { log: (level, message) => void (level !== 'info' && warnings.push(message)) };
  await createIntervalTasks(60, 200_000, 'microseconds');
  const beats = [peerApp(logger), peerApp(logger), peerApp(logger)].map((a) =>
    tracked(a.beat({ pollIntervalMs: 100 })),
  );
  const worker = peerApp(logger).worker({ name: 'multi-beat@test', concurrency: 20 });
  await worker.start();
  await Promise.all(beats.map((b) => b.start()));
  await eventually(
    async () => {
      const [{ n }] = await sql(app, `SELECT count(*)::int AS n FROM $S.celeriac_task_result WHERE status = 'SUCCESS'`);
      expect(n).toBeGreaterThanOrEqual(1500);
    },
    60_000,
    200,
  );
  await Promise.all(beats.map((b) => b.stop()));
  await worker.stop();
  expect(warnings.filter((w) => /deadlock/i.test(w))).toEqual([]);
  if (serverLog) expect(deadlocksIn(serverLog.newLines(), app.config.schema)).toEqual([]);
  // Without a readable server log, Postgres' own count for the database (shared with other test
  // files, so this can only be trusted as a fallback).
  else expect((await deadlockCount()) - deadlocksBefore).toBe(0);
});
