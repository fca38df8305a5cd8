import express from 'express';
import request from 'supertest';
import { group, type Celeriac } from '../../src';
import type { AdminOptions } from '../../src';
import type { Worker } from '../../src/worker/worker';
import type { PythonProcess } from '../interop/python';
import { cleanup } from '../helpers';
import { djangoApp, type DjangoProject } from './django';
import { add, fail, nothing } from './fixtures/djtasks/tasks';

/**
 * Issue 22, results: a Celeriac app in `tables: 'django'` mode on a scratch Django project's
 * database. A Celeriac worker's results are read back through Django's ORM and Python's
 * AsyncResult (django-db backend) field for field as a Python worker writes them, and a Python
 * worker's results are read through Celeriac's AsyncResult.
 */
const JS_QUEUE = 'js-django';
const PY_QUEUE = 'py-django';
const JS_WORKER = 'js-django@test';

let app: Celeriac;
let django: DjangoProject;
let worker: Worker;
let pyWorker: PythonProcess | undefined;

beforeAll(async () => {
  ({ app, django } = await djangoApp('django_results', {
    routes: { 'js.*': { queue: JS_QUEUE }, 'dj.*': { queue: PY_QUEUE } },
  }));
  worker = app.worker({ name: JS_WORKER, queues: [JS_QUEUE], concurrency: 2 });
  await worker.start();
}, 180_000);

afterAll(async () => {
  await pyWorker?.stop();
  await worker?.stop();
  if (app) await cleanup(app); // drops the schema, Django's tables with it
}, 60_000);

test("a Celeriac worker's success is a TaskResult row as Python's django-db backend writes it", async () => {
  const before = Date.now();
  const r = await add.applyAsync([2, 3]);
  expect(await r.get({ timeout: 30_000 })).toBe(5);
  const row = await django.run('taskresult', [r.id]);
  expect(row).toMatchObject({
    task_id: r.id,
    status: 'SUCCESS',
    task_name: 'js.add',
    worker: JS_WORKER,
    content_type: 'application/json',
    content_encoding: 'utf-8',
    result: '5',
    traceback: null,
    meta: '{"children": []}',
    task_args: '"[2,3]"',
    periodic_task_name: null,
  });
  const created = Date.parse(row.date_created);
  const done = Date.parse(row.date_done);
  expect(created).toBeGreaterThanOrEqual(before - 1000);
  expect(done).toBeGreaterThanOrEqual(created);

  const py = await django.run('asyncresult', [r.id]);
  expect(py).toMatchObject({ state: 'SUCCESS', result: 5, worker: JS_WORKER, args: '[2,3]' });
}, 60_000);

test('a null result is stored as JSON null, as Python stores None', async () => {
  const r = await nothing.applyAsync([]);
  expect(await r.get({ timeout: 30_000 })).toBeNull();
  const row = await django.run('taskresult', [r.id]);
  expect(row).toMatchObject({ status: 'SUCCESS', result: 'null' });
}, 60_000);

test("a Celeriac worker's failure carries Celery's exception shape and the traceback; Python raises it", async () => {
  const r = await fail.applyAsync(['no good']);
  await expect(r.get({ timeout: 30_000 })).rejects.toThrow('no good');
  const row = await django.run('taskresult', [r.id]);
  expect(row.status).toBe('FAILURE');
  expect(JSON.parse(row.result)).toMatchObject({ exc_type: 'TypeError', exc_message: ['no good'] });
  expect(row.traceback).toContain('no good');
  const py = await django.run('asyncresult', [r.id]);
  expect(py.state).toBe('FAILURE');
  expect(py.result.exc_message).toContain('no good');
}, 60_000);

test("a Python worker's results (django-db backend) read through Celeriac's AsyncResult", async () => {
  pyWorker = await django.worker(PY_QUEUE);
  const ok = await app.sendTask('dj.add', [20, 22]);
  expect(await ok.get({ timeout: 30_000 })).toBe(42);
  const row = await ok.info();
  // The same columns a Celeriac worker fills (previous tests), filled by Python.
  const pyRow = await django.run('taskresult', [ok.id]);
  expect(pyRow).toMatchObject({ content_type: 'application/json', result: '42', meta: '{"children": []}' });
  expect(pyRow.task_args).toBe('"(20, 22)"');
  expect(row).toMatchObject({
    status: 'SUCCESS',
    taskName: 'dj.add',
    worker: expect.stringContaining('py-django@test'),
  });
  expect(row!.dateDone).toBeInstanceOf(Date);

  const bad = await app.sendTask('dj.fail', ['from python']);
  await expect(bad.get({ timeout: 30_000 })).rejects.toThrow('from python');
  expect((await bad.info())!.traceback).toContain('ValueError');
}, 120_000);

test("a group's member ids are a GroupResult row Python restores", async () => {
  const g = await group(add.s(1, 1), add.s(2, 2), add.s(3, 3)).applyAsync();
  expect(await g.get({ timeout: 30_000 })).toEqual([2, 4, 6]);
  const py = await django.run('group', [g.id]);
  expect(py.ids).toEqual(g.results.map((r) => r.id));
  const back = await app.groupResult(g.id);
  expect(back!.results.map((r) => r.id)).toEqual(g.results.map((r) => r.id));
}, 60_000);

test("Celeriac's admin lists and shows Django's task results, Celeriac's and Python's, in django mode", async () => {
  const js = await add.applyAsync([7, 8]);
  await js.get({ timeout: 30_000 });
  pyWorker ??= await django.worker(PY_QUEUE);
  const py = await app.sendTask('dj.add', [1, 1]);
  await py.get({ timeout: 30_000 });
  const web = express();
  web.use('/admin', app.admin({ authorize: () => true } as AdminOptions));
  const { body } = await request(web).get('/admin/api/tasks?limit=200').expect(200);
  const listed = new Map(body.items.map((i: any) => [i.id ?? i.taskId ?? i.task_id, i]));
  expect(listed.has(js.id)).toBe(true);
  expect(listed.has(py.id)).toBe(true);
  const detail = await request(web).get(`/admin/api/tasks/${js.id}/detail`).expect(200);
  expect(JSON.stringify(detail.body)).toContain('js.add');
  expect(JSON.stringify(detail.body)).toContain('15');
  const status = await request(web).get(`/admin/api/tasks/${py.id}`).expect(200);
  expect(status.body).toMatchObject({ state: 'SUCCESS', name: 'dj.add', result: 2, ready: true });
  const page = await request(web).get('/admin/tasks').expect(200);
  expect(page.text).toContain(js.id);
}, 90_000);
