import { Client } from 'pg';
import type { Celeriac } from '../../src';
import type { Beat } from '../../src/beat';
import type { Worker } from '../../src/worker/worker';
import { cleanup, DATABASE_URL, eventually } from '../helpers';
import { djangoApp, type DjangoProject } from './django';

/**
 * Issue 22, beat: schedules created and edited with Django's ORM (django-celery-beat 2.4) in a
 * scratch Django project are run by two Celeriac beats in `tables: 'django'` mode: each run sent
 * once (as many results in Django's table as Django's total_run_count says), last_run_at and
 * total_run_count kept in Django's row as Python's beat keeps them, a disable or a delete in
 * Django seen within the poll, a clocked one-off run once and disabled in Django.
 */
const JS_QUEUE = 'js-django-beat';

let app: Celeriac;
let django: DjangoProject;
let worker: Worker;
const beats: Beat[] = [];
let pg: Client;

beforeAll(async () => {
  ({ app, django } = await djangoApp('django_beat', { routes: { 'js.*': { queue: JS_QUEUE } } }));
  worker = app.worker({ name: 'js-django-beat@test', queues: [JS_QUEUE], concurrency: 4 });
  await worker.start();
  pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  await startBeats(2);
}, 180_000);

afterAll(async () => {
  for (const b of beats) await b.stop();
  await worker?.stop();
  await pg?.end();
  if (app) await cleanup(app);
}, 60_000);

async function startBeats(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const b = app.beat({ name: `django-beat-${i}` });
    beats.push(b);
    await b.start();
  }
}

/** The mirrored row in beat's own table (null once gone). */
async function mirrored(name: string): Promise<any> {
  const { rows } = await pg.query(
    `SELECT pt.*, c.timezone FROM "${django.schema}".celeriac_periodic_task pt
       LEFT JOIN "${django.schema}".celeriac_crontab_schedule c ON c.id = pt.crontab_id WHERE pt.name = $1`,
    [name],
  );
  return rows[0] ?? null;
}

test('an interval schedule made with the ORM runs on two beats, each run once, its history in Django; a disable stops it', async () => {
  await django.run('schedule', [
    JSON.stringify({ name: 'every-second', task: 'js.add', interval: { every: 1, period: 'seconds' }, args: [1, 2] }),
  ]);
  await eventually(
    async () => {
      const p = await django.run('periodic', ['every-second']);
      expect(p.total_run_count).toBeGreaterThanOrEqual(3);
      expect(p.last_run_at).not.toBeNull();
    },
    60_000,
    200,
  );
  await django.run('edit', ['every-second', JSON.stringify({ enabled: false })]);
  // Seen by the beats' poll of periodic_tasks.last_update (no NOTIFY: Django's tables have no trigger).
  await eventually(async () => expect((await mirrored('every-second')).enabled).toBe(false), 10_000, 100);
  // Every run beat counted has one result, with the periodic task's name, none twice.
  await eventually(
    async () => {
      const p = await django.run('periodic', ['every-second']);
      const r = await django.run('periodic_results', ['every-second']);
      expect(new Set(r.ids).size).toBe(r.ids.length);
      expect(r.ids.length).toBe(p.total_run_count);
      expect(r.statuses.every((s: string) => s === 'SUCCESS')).toBe(true);
    },
    30_000,
    250,
  );
  const ran = await app.asyncResult((await django.run('periodic_results', ['every-second'])).ids[0]).get();
  expect(ran).toBe(3);
}, 120_000);

test('a clocked one-off runs once at its time and Django shows it disabled', async () => {
  const at = new Date(Date.now() + 2000);
  await django.run('schedule', [
    JSON.stringify({
      name: 'once',
      task: 'js.add',
      clocked: { clocked_time: at.toISOString() },
      one_off: true,
      args: [5, 6],
    }),
  ]);
  await eventually(
    async () => {
      const p = await django.run('periodic', ['once']);
      expect(p).toMatchObject({ total_run_count: 1, enabled: false });
      expect(Date.parse(p.last_run_at)).toBeGreaterThanOrEqual(at.getTime() - 1000);
    },
    30_000,
    200,
  );
  // Django's row is updated when the run is claimed; its result row follows once it is sent.
  const r = await eventually(
    async () => {
      const found = await django.run('periodic_results', ['once']);
      expect(found.ids).toHaveLength(1);
      return found;
    },
    20_000,
    200,
  );
  expect(await app.asyncResult(r.ids[0]).get({ timeout: 10_000 })).toBe(11);
}, 60_000);

test("a crontab's zone is mirrored; a row deleted in Django leaves beat's tables", async () => {
  await django.run('schedule', [
    JSON.stringify({
      name: 'nightly-kolkata',
      task: 'js.add',
      crontab: {
        minute: '30',
        hour: '2',
        day_of_week: '*',
        day_of_month: '*',
        month_of_year: '*',
        timezone: 'Asia/Kolkata',
      },
      args: [0, 0],
    }),
  ]);
  const row = await eventually(
    async () => {
      const r = await mirrored('nightly-kolkata');
      expect(r?.next_run_at).toBeTruthy();
      return r;
    },
    10_000,
    100,
  );
  expect(row.timezone).toBe('Asia/Kolkata');
  // 02:30 in Kolkata (UTC+05:30) is 21:00 UTC.
  const next = new Date(row.next_run_at);
  expect([next.getUTCHours(), next.getUTCMinutes()]).toEqual([21, 0]);
  await django.run('delete', ['nightly-kolkata']);
  await eventually(async () => expect(await mirrored('nightly-kolkata')).toBeNull(), 10_000, 100);
}, 60_000);

test('solar, start_time and expires are mirrored; an args edit made with the ORM while running reaches the next runs', async () => {
  const start = new Date(Date.now() + 3_600_000);
  const expires = new Date(Date.now() + 7_200_000);
  await django.run('schedule', [
    JSON.stringify({
      name: 'sunrise',
      task: 'js.add',
      solar: { event: 'sunrise', latitude: '52.520000', longitude: '13.405000' },
      args: [1, 1],
      start_time: start.toISOString(),
      expires: expires.toISOString(),
    }),
  ]);
  const sun = await eventually(
    async () => {
      const r = await mirrored('sunrise');
      expect(r?.next_run_at).toBeTruthy();
      return r;
    },
    10_000,
    100,
  );
  expect(sun.solar_id).not.toBeNull();
  expect(new Date(sun.start_time).getTime()).toBe(start.getTime());
  expect(new Date(sun.expires).getTime()).toBe(expires.getTime());
  expect(new Date(sun.next_run_at).getTime()).toBeGreaterThanOrEqual(start.getTime());

  await django.run('schedule', [
    JSON.stringify({ name: 'edited', task: 'js.add', interval: { every: 1, period: 'seconds' }, args: [1, 1] }),
  ]);
  await eventually(
    async () => expect((await django.run('periodic_results', ['edited'])).ids.length).toBeGreaterThan(0),
    30_000,
    200,
  );
  await django.run('edit', ['edited', JSON.stringify({ args: [100, 1] })]);
  await eventually(
    async () => {
      const { ids } = await django.run('periodic_results', ['edited']);
      expect(await app.asyncResult(ids[ids.length - 1]).get({ timeout: 10_000 })).toBe(101);
    },
    30_000,
    250,
  );
  await django.run('edit', ['edited', JSON.stringify({ enabled: false })]);
}, 90_000);

test('a Django row beat cannot run (args that are not JSON) is skipped; the rows beside it still run', async () => {
  await django.run('schedule', [
    JSON.stringify({
      name: 'good-beside-bad',
      task: 'js.add',
      interval: { every: 1, period: 'seconds' },
      args: [2, 2],
    }),
  ]);
  await django.run('schedule', [
    JSON.stringify({ name: 'bad-args', task: 'js.add', interval: { every: 1, period: 'seconds' }, args: [0, 0] }),
  ]);
  await pg.query(
    `UPDATE "${django.schema}".django_celery_beat_periodictask SET args = '(1, 2' WHERE name = 'bad-args'`,
  );
  await django.run('edit', ['good-beside-bad', JSON.stringify({ description: 'bumps last_update' })]);
  await eventually(async () => expect(await mirrored('bad-args')).toBeNull(), 10_000, 100);
  await eventually(
    async () => expect((await django.run('periodic_results', ['good-beside-bad'])).ids.length).toBeGreaterThan(1),
    30_000,
    200,
  );
  await django.run('edit', ['good-beside-bad', JSON.stringify({ enabled: false })]);
}, 60_000);
