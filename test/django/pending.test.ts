import { Celeriac, type CeleriacOptions } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { cleanup, eventually } from '../helpers';
import { djangoApp, type DjangoProject } from './django';
import { add } from './fixtures/djtasks/tasks';

/**
 * Issue 22, PENDING: Python's django-db backend writes no row until a worker starts or finishes a
 * task; Celeriac writes a PENDING row when it sends one, in django mode too. Django's own admin
 * (its Task results changelist, rendered by Django for a superuser) lists that row as PENDING
 * with its task name and arguments, filters on it, and shows the same row, not a second one,
 * once a worker finished it.
 */
const QUEUE = 'js-django-pending';

let app: Celeriac;
let options: CeleriacOptions;
let django: DjangoProject;
let worker: Worker | undefined;

beforeAll(async () => {
  ({ app, django, options } = await djangoApp('django_pending', { routes: { 'js.*': { queue: QUEUE } } }));
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  if (app) await cleanup(app);
}, 60_000);

test("a task sent and not yet run is a PENDING row in Django's admin list; the same row turns SUCCESS", async () => {
  const sentAt = Date.now();
  const r = await add.applyAsync([2, 40]);
  const pending = await eventually(
    async () => {
      const list = await django.run('adminlist', ['status__exact=PENDING']);
      expect(list.rows.map((row: any) => row.task_id)).toContain(r.id);
      return list;
    },
    30_000,
    200,
  );
  expect(pending.status).toBe(200);
  expect(pending.status_filter).toBe(true);
  expect(pending.rows.find((row: any) => row.task_id === r.id)).toMatchObject({
    task_name: 'js.add',
    status: 'PENDING',
    worker: null,
    periodic_task_name: null,
  });
  expect(pending.rendered).toContain(r.id);
  const row = await django.run('taskresult', [r.id]);
  expect(row).toMatchObject({ status: 'PENDING', result: 'null', task_args: '"[2,40]"', traceback: null });
  // date_done is NOT NULL in Django (auto_now): for PENDING it is the send time, as for STARTED it is the start.
  expect(Date.parse(row.date_done)).toBeGreaterThanOrEqual(sentAt - 1000);
  expect(await django.run('asyncresult', [r.id])).toMatchObject({ state: 'PENDING', result: null });

  worker = app.worker({ name: 'js-django-pending@test', queues: [QUEUE], concurrency: 1 });
  await worker.start();
  expect(await r.get({ timeout: 30_000 })).toBe(42);
  const done = await django.run('adminlist', [`task_id=${r.id}`]);
  expect(done.rows).toEqual([expect.objectContaining({ task_id: r.id, status: 'SUCCESS', task_name: 'js.add' })]);
  expect((await django.run('adminlist', ['status__exact=PENDING'])).rows).toEqual([]);
  await worker.stop();
  worker = undefined;
}, 120_000);

test("trackPending: false writes no row until a worker takes the task, as Python's backend", async () => {
  const quiet = new Celeriac({ ...options, trackPending: false });
  try {
    const r = await quiet.sendTask('js.add', [1, 1]);
    expect((await django.run('adminlist', [`task_id=${r.id}`])).rows).toEqual([]);
    expect(await django.run('asyncresult', [r.id])).toMatchObject({ state: 'PENDING' });
    worker = app.worker({ name: 'js-django-pending@test', queues: [QUEUE], concurrency: 1 });
    await worker.start();
    expect(await app.asyncResult(r.id).get({ timeout: 30_000 })).toBe(2);
    expect((await django.run('adminlist', [`task_id=${r.id}`])).rows).toEqual([
      expect.objectContaining({ status: 'SUCCESS' }),
    ]);
  } finally {
    await quiet.close();
  }
}, 120_000);
