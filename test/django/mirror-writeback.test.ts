import { Pool } from 'pg';
import { PeriodicTaskService, type Celeriac } from '../../src';
import { DjangoScheduleMirror } from '../../src/beat/django-mirror';
import { poolTransaction } from '../../src/db/database';
import { cleanup, DATABASE_URL } from '../helpers';
import { djangoApp, type DjangoProject } from './django';

/**
 * Issue 22, review F4: a beat's mirror remembers what it last mirrored from each Django row and
 * skips rows that still hold it. A write through PeriodicTaskService (Celeriac's admin, maybe in
 * another process) changes both tables without touching that memory, so a Django edit back to
 * the remembered value before the next poll must still be mirrored. The mirror is polled by hand
 * here, so the edits land between two polls every time (a running beat polls on its own clock).
 */
let app: Celeriac;
let django: DjangoProject;
let service: PeriodicTaskService;
let pool: Pool;
let mirror: DjangoScheduleMirror;

beforeAll(async () => {
  ({ app, django } = await djangoApp('django_mirror_wb'));
  service = new PeriodicTaskService(app);
  pool = new Pool({ connectionString: DATABASE_URL, max: 2 });
  mirror = new DjangoScheduleMirror(
    (fn) => poolTransaction(pool, fn),
    django.schema,
    'UTC',
    () => undefined,
  );
}, 180_000);

afterAll(async () => {
  await pool?.end();
  if (app) await cleanup(app);
}, 60_000);

async function celeriacArgs(name: string): Promise<unknown> {
  const { rows } = await pool.query(`SELECT args FROM "${django.schema}".celeriac_periodic_task WHERE name = $1`, [
    name,
  ]);
  return rows[0]?.args;
}

test('a Django admin edit back to what the mirror last saw, after a Celeriac write, is mirrored', async () => {
  await django.run('schedule', [
    JSON.stringify({ name: 'flip', task: 'js.add', interval: { every: 10, period: 'seconds' }, args: [1] }),
  ]);
  expect(await mirror.poll()).toBe(true);
  expect(await celeriacArgs('flip')).toEqual([1]);

  await service.update('flip', { args: [2] });
  expect((await django.run('periodic', ['flip'])).args).toEqual([2]);
  await django.run('edit', ['flip', JSON.stringify({ args: [1] })]);

  expect(await mirror.poll()).toBe(true);
  expect(await celeriacArgs('flip')).toEqual([1]);
}, 90_000);

test('so is a bulk update back (no date_changed from Django) announced with update_changed()', async () => {
  await service.update('flip', { args: [3] });
  expect(await mirror.poll()).toBe(true);
  expect(await celeriacArgs('flip')).toEqual([3]);

  await service.update('flip', { args: [4] });
  // What PeriodicTask.objects.filter(...).update(args=...) then PeriodicTasks.update_changed() write.
  await pool.query(`UPDATE "${django.schema}".django_celery_beat_periodictask SET args = '[3]' WHERE name = 'flip'`);
  await pool.query(
    `UPDATE "${django.schema}".django_celery_beat_periodictasks SET last_update = last_update + interval '1 second'`,
  );

  expect(await mirror.poll()).toBe(true);
  expect(await celeriacArgs('flip')).toEqual([3]);
}, 90_000);

test('a Celeriac write Django keeps is mirrored as it is', async () => {
  await service.update('flip', { args: [5] });
  expect(await mirror.poll()).toBe(true);
  expect(await celeriacArgs('flip')).toEqual([5]);
  expect((await django.run('periodic', ['flip'])).args).toEqual([5]);
}, 60_000);
