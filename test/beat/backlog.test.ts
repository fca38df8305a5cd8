/**
 * A beat behind a backlog (more runs due than it sends in a second) still picks up an edit
 * within about a second: a running tick starts no new claim after its claim budget, and the
 * next tick re-plans before it claims on. Every run of the backlog is still sent once.
 */
import type { Celeriac } from '../../src';
import { injectBeatFaults } from '../../src/beat/fault-hooks';
import { cleanup, eventually } from '../helpers';
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
const BACKLOG = 24;

beforeAll(async () => {
  app = await makeBeatApp('beat_backlog');
});
afterAll(() => cleanup(app));
beforeEach(() => resetBeatState(app));
afterEach(assertNoBeatLeftRunning);

test('an edit made while a backlog is being sent is re-planned before the backlog is through', async () => {
  for (let i = 0; i < BACKLOG; i++) await insertIntervalTask(app, `backlog-${i}`, 1, 'hours');
  // Each claim held 400 ms once the backlog is due: 12 batches of 2, two in flight, ~2.4 s of
  // claiming, more than one tick's claim budget (1 s) on any machine (load only makes it longer).
  let slow = false;
  const beat = tracked(
    injectBeatFaults(app.beat({ name: 'backlog', batchSize: 2 }), {
      afterClaim: () => (slow ? new Promise((r) => setTimeout(r, 400)) : undefined),
    }),
  );
  const events: string[] = [];
  beat.on('sent', (runs) => events.push(...runs.map((r) => `sent ${r.name}`)));
  beat.on('replanned', () => events.push('replanned'));
  await beat.start();
  await eventually(async () => expect((await taskRow(app, `backlog-${BACKLOG - 1}`)).next_run_at).not.toBeNull());

  slow = true;
  events.length = 0;
  const firstSent = new Promise<void>((resolve) => beat.once('sent', () => resolve()));
  // Moved by hand into the past: all due at once (the NOTIFY wakes the beat).
  await sql(
    app,
    `UPDATE $S.celeriac_periodic_task SET next_run_at = now() - interval '1 second' WHERE name LIKE 'backlog-%'`,
  );
  await firstSent;
  await insertIntervalTask(app, 'edited', 1, 'hours');

  await eventually(async () => expect((await taskRow(app, 'edited')).next_run_at).not.toBeNull(), 30_000);
  await eventually(() => expect(events.filter((e) => e.startsWith('sent backlog-'))).toHaveLength(BACKLOG), 30_000);
  const replanned = events.indexOf(
    'replanned',
    events.findIndex((e) => e.startsWith('sent ')),
  );
  const lastSent = events.length - 1 - [...events].reverse().findIndex((e) => e.startsWith('sent '));
  expect(replanned).toBeGreaterThan(-1);
  expect(replanned).toBeLessThan(lastSent);
  await beat.stop();
  // Each run of the backlog once.
  const names = (await queued(app)).map((m) => m.periodicTaskName).filter((n) => n?.startsWith('backlog-'));
  expect(names).toHaveLength(BACKLOG);
  expect(new Set(names).size).toBe(BACKLOG);
}, 60_000);
