/**
 * A periodic task row whose queue or routing key is '' rather than NULL (a Python script or SQL
 * writing django-celery-beat's tables; the field table, fields.ts, reads '' as "none") runs as one
 * with none: on the task's default queue, as django-celery-beat + Celery send it (Celery's router
 * ignores a falsy queue). It was sent to a queue named '' (a key no worker reads), and since queue
 * names are checked at send, parked as an invalid name.
 */
import { ManualClock, PeriodicTaskService, type Beat, type Celeriac } from '../../src';
import { cleanup } from '../helpers';
import { assertNoBeatLeftRunning, makeBeatApp, queued, resetBeatState, sql, taskRow, tracked } from './beat-helpers';

let app: Celeriac;
const T0 = Date.parse('2026-06-01T10:00:00.000Z');

beforeAll(async () => {
  app = await makeBeatApp('beat_empty_route');
});
afterAll(() => cleanup(app));
beforeEach(() => resetBeatState(app));
afterEach(assertNoBeatLeftRunning);

let beat: Beat;
afterEach(() => beat?.stop());

test.each([
  ['queue', `queue = ''`],
  ['routing key', `routing_key = ''`],
  ['queue and routing key', `queue = '', routing_key = ''`],
])('a row with an empty %s runs on the default queue', async (_what, set) => {
  const service = new PeriodicTaskService(app, { clock: new ManualClock(T0) });
  await service.create({ name: 'empty-route', task: 'beat.ping', schedule: 60 });
  await sql(app, `UPDATE $S.celeriac_periodic_task SET ${set} WHERE name = 'empty-route'`);
  beat = tracked(app.beat({ clock: new ManualClock(T0), listen: false }));
  await beat.tick(T0);
  await beat.tick(T0 + 60_000);
  const row = await taskRow(app, 'empty-route');
  expect({ error: row.last_error, sent: (await queued(app)).map((m) => [m.task, m.queue]) }).toEqual({
    error: null,
    sent: [['beat.ping', 'celery']],
  });
});

test("'run now' of a row with an empty queue and routing key sends it to the default queue", async () => {
  const service = new PeriodicTaskService(app, { clock: new ManualClock(T0) });
  const created = await service.create({ name: 'empty-route-now', task: 'beat.ping', schedule: 60 });
  await sql(app, `UPDATE $S.celeriac_periodic_task SET queue = '', routing_key = '' WHERE name = 'empty-route-now'`);
  await service.runNow(created.id);
  expect((await queued(app)).map((m) => [m.task, m.queue])).toEqual([['beat.ping', 'celery']]);
});
