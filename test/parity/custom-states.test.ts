import { join } from 'node:path';
import { AsyncResult, TaskFailedError, type Celeriac } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { adminApp, staffSession, waitForState, type StaffSession } from '../admin/helpers';
import { cleanup, eventually } from '../helpers';
import { openGate } from '../fixtures/gates';
import { setState, stages } from '../fixtures/parity/tasks';

/** ctx.updateState on a real worker: stored in Postgres, read back by AsyncResult and the admin. */
let app: Celeriac;
let worker: Worker;
let s: StaffSession;
beforeAll(async () => {
  const built = await adminApp('parity_states', { app: { apps: [join(__dirname, '../fixtures/parity')] } });
  app = built.app;
  s = await staffSession(built.web);
  worker = app.worker({ name: 'states@parity', concurrency: 4 });
  await worker.start();
});
afterAll(() => cleanup(app));

test('custom states and their meta are returned by status(), info(), .result, the API and the pages', async () => {
  const r = await stages.delay(true);
  await eventually(async () => expect(await r.status()).toBe('DOWNLOADING'));
  expect((await r.info())!.meta).toEqual({ file: 'a.csv', bytes: 10 });
  expect(await r.result).toEqual({ file: 'a.csv', bytes: 10 });
  expect(await r.ready()).toBe(false);
  const polled = await waitForState(s, r.id, ['DOWNLOADING']);
  expect(polled).toMatchObject({ state: 'DOWNLOADING', ready: false, meta: { file: 'a.csv', bytes: 10 } });
  const listed = (await s.get('/api/tasks?state=DOWNLOADING').expect(200)).body;
  expect(listed.items.map((t: { id: string }) => t.id)).toContain(r.id);
  const page = await s.get(`/tasks/${r.id}`).set('Accept', 'text/html').expect(200);
  expect(page.text).toContain('DOWNLOADING');
  expect(page.text).toContain('a.csv');

  openGate(`${r.id}:1`);
  await eventually(async () => expect(await r.status()).toBe('PROCESSING'));
  expect(await r.result).toEqual({ rows: 3 });
  openGate(`${r.id}:2`);
  expect(await r.get({ timeout: 10 })).toBe('stored');
  expect(await r.status()).toBe('SUCCESS');
});

test('a row never moves back: a custom state written after SUCCESS is ignored', async () => {
  const r = await stages.delay(false);
  expect(await r.get({ timeout: 10 })).toBe('stored');
  const store = await app.results();
  await store.write({ taskId: r.id, status: 'DOWNLOADING', retries: 0, meta: { late: true } });
  await store.flush();
  expect(await new AsyncResult(r.id, app.resultBackend).status()).toBe('SUCCESS');
});

test.each([
  ['SUCCESS', /return from the task/],
  ['RETRY', /ctx\.retry\(\)/],
  ['downloading', /upper-case/],
  ['X'.repeat(51), /1–50/],
])('updateState(%s) is refused with what to do instead', async (state, why) => {
  const r = await setState.delay(state);
  const err = (await r.get({ timeout: 10 }).catch((e) => e)) as TaskFailedError;
  expect(err).toBeInstanceOf(TaskFailedError);
  expect(err.excType).toBe('InvalidStateError');
  expect(err.excMessage).toMatch(why);
});

test('a meta that is not a plain object is refused', async () => {
  const r = await setState.delay('UPLOADING', [1, 2]);
  const err = (await r.get({ timeout: 10 }).catch((e) => e)) as TaskFailedError;
  expect(err.excMessage).toMatch(/plain object/);
});
