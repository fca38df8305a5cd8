import express from 'express';
import { PeriodicTaskService, type Celeriac } from '../../src';
import type { AdminOptions } from '../../src';
import type { Beat } from '../../src/beat';
import type { Worker } from '../../src/worker/worker';
import { cleanup, eventually } from '../helpers';
import { MOUNT, staffSession, type StaffSession } from '../admin/helpers';
import { djangoApp, type DjangoProject } from './django';

/**
 * Issue 22, schedules the other way: in django mode a periodic task created or changed through
 * Celeriac's admin (or PeriodicTaskService) is written to django-celery-beat's tables in the same
 * transaction, with periodic_tasks.last_update bumped, so Django's ORM and Python's
 * DatabaseScheduler see it, and Celeriac's beat runs it from Django's row.
 */
const JS_QUEUE = 'js-django-write';

let app: Celeriac;
let django: DjangoProject;
let service: PeriodicTaskService;
let admin: StaffSession;

beforeAll(async () => {
  ({ app, django } = await djangoApp('django_write', { routes: { 'js.*': { queue: JS_QUEUE } } }));
  service = new PeriodicTaskService(app);
  const web = express();
  web.use(MOUNT, app.admin({ authorize: (req) => req.get('x-test-user') === 'staff' } as AdminOptions));
  admin = await staffSession(web);
}, 180_000);

afterAll(async () => {
  if (app) await cleanup(app);
}, 60_000);

test("a task created in Celeriac's admin is Django's row, with its crontab's zone; Python's beat lists it", async () => {
  const before = await django.run('periodic', ['none-yet']);
  expect(before).toBeNull();
  const { body } = await admin
    .post('/api/periodic-tasks', {
      name: 'nightly-berlin',
      task: 'js.add',
      schedule: { kind: 'crontab', minute: '30', hour: '2', timezone: 'Europe/Berlin' },
      args: [1, 2],
      kwargs: {},
      headers: { tenant: 'a' },
      description: 'made in Celeriac',
    })
    .expect(201);
  expect(body.name).toBe('nightly-berlin');
  const row = await django.run('periodic', ['nightly-berlin']);
  expect(row).toMatchObject({
    task: 'js.add',
    args: [1, 2],
    kwargs: {},
    headers: { tenant: 'a' },
    enabled: true,
    one_off: false,
    description: 'made in Celeriac',
    total_run_count: 0,
    schedule: {
      kind: 'CrontabSchedule',
      minute: '30',
      hour: '2',
      day_of_week: '*',
      day_of_month: '*',
      month_of_year: '*',
      timezone: 'Europe/Berlin',
    },
  });
  expect(row.last_update).not.toBeNull();
  const pybeat = await django.run('pybeat');
  expect(pybeat['nightly-berlin']).toMatchObject({ task: 'js.add', args: [1, 2] });
  expect(pybeat['nightly-berlin'].schedule).toContain('Europe/Berlin');
}, 60_000);

test('edits (args, schedule, rename), a disable and deletes through the service reach Django, each bumping last_update', async () => {
  await service.create({ name: 'tick', task: 'js.add', schedule: { kind: 'interval', every: 10, period: 'seconds' } });
  const created = await django.run('periodic', ['tick']);
  expect(created.schedule).toMatchObject({ kind: 'IntervalSchedule', every: 10, period: 'seconds' });

  await service.update('tick', { args: [5, 5], schedule: { kind: 'interval', every: 2, period: 'minutes' } });
  const edited = await django.run('periodic', ['tick']);
  expect(edited).toMatchObject({ id: created.id, args: [5, 5] });
  expect(edited.schedule).toMatchObject({ every: 2, period: 'minutes' });
  expect(Date.parse(edited.last_update)).toBeGreaterThan(Date.parse(created.last_update));

  await service.update('tick', { name: 'tock' });
  expect(await django.run('periodic', ['tick'])).toBeNull();
  const renamed = await django.run('periodic', ['tock']);
  expect(renamed).toMatchObject({ id: created.id, args: [5, 5] });

  const { id } = await service.get('tock');
  await admin.post(`/api/periodic-tasks/${id}/disable`).expect(200);
  const disabled = await django.run('periodic', ['tock']);
  expect(disabled.enabled).toBe(false);
  expect(Date.parse(disabled.last_update)).toBeGreaterThan(Date.parse(renamed.last_update));

  const many = await service.createMany([
    { name: 'm1', task: 'js.add', schedule: { kind: 'clocked', clockedTime: new Date(Date.now() + 3_600_000) } },
    { name: 'm2', task: 'js.add', schedule: { kind: 'solar', event: 'sunset', latitude: 52.52, longitude: 13.405 } },
  ]);
  expect((await django.run('periodic', ['m1'])).schedule.kind).toBe('ClockedSchedule');
  expect((await django.run('periodic', ['m1'])).one_off).toBe(true);
  expect((await django.run('periodic', ['m2'])).schedule).toMatchObject({ kind: 'SolarSchedule', event: 'sunset' });
  await service.setEnabledMany(
    many.map((m) => m.id),
    false,
  );
  expect((await django.run('periodic', ['m2'])).enabled).toBe(false);
  await service.deleteMany(many.map((m) => m.id));
  expect(await django.run('periodic', ['m1'])).toBeNull();
  await admin.delete(`/api/periodic-tasks/${id}`).expect(204);
  expect(await django.run('periodic', ['tock'])).toBeNull();
}, 90_000);

test("Celeriac's beat runs a task made in its admin from Django's row, and keeps it after re-reading Django", async () => {
  const worker: Worker = app.worker({ name: 'js-django-write@test', queues: [JS_QUEUE], concurrency: 2 });
  await worker.start();
  const beat: Beat = app.beat({ name: 'django-write-beat' });
  await beat.start();
  try {
    await service.create({
      name: 'every-second',
      task: 'js.add',
      schedule: { kind: 'interval', every: 1, period: 'seconds' },
      args: [4, 4],
    });
    await eventually(
      async () => {
        const p = await django.run('periodic', ['every-second']);
        expect(p.total_run_count).toBeGreaterThanOrEqual(2);
      },
      60_000,
      200,
    );
    const { ids } = await django.run('periodic_results', ['every-second']);
    expect(await app.asyncResult(ids[0]).get({ timeout: 20_000 })).toBe(8);
    // The mirror re-read Django after the write: the task is still beat's, as a Django row.
    expect((await service.get('every-second')).enabled).toBe(true);
    await service.disable('every-second');
  } finally {
    await beat.stop();
    await worker.stop();
  }
}, 120_000);

test("a name only Django's table holds (a row this app has not mirrored) is refused on create, and Django's row is kept", async () => {
  await django.run('schedule', [
    JSON.stringify({ name: 'django-owned', task: 'py.report', interval: { every: 5, period: 'minutes' } }),
  ]);
  await expect(
    service.create({
      name: 'django-owned',
      task: 'js.add',
      schedule: { kind: 'interval', every: 10, period: 'seconds' },
    }),
  ).rejects.toThrow("a periodic task named 'django-owned' already exists");
  const row = await django.run('periodic', ['django-owned']);
  expect(row).toMatchObject({ task: 'py.report', schedule: { kind: 'IntervalSchedule', every: 5, period: 'minutes' } });
  await expect(service.get('django-owned')).rejects.toThrow('No periodic task');
}, 60_000);
