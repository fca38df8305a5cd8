import { join } from 'node:path';
import {
  AsyncResult,
  chain,
  GroupResult,
  group,
  isHigherState,
  precedence,
  states,
  TaskFailedError,
  TaskRevokedError,
  type Celeriac,
} from '../../src';
import { cleanup, eventually, makeApp } from '../helpers';
import { add, boom, note, sleeper } from '../fixtures/parity/tasks';

/** Celery's AsyncResult and GroupResult API on a real worker (Redis, Postgres). */
let app: Celeriac;
beforeAll(async () => {
  app = await makeApp('parity_results', { apps: [join(__dirname, '../fixtures/parity')] });
  await app.worker({ name: 'results@parity', concurrency: 4 }).start();
});
afterAll(() => cleanup(app));

test('successful(), failed(), .result, .traceback and wait() after SUCCESS and FAILURE', async () => {
  const ok = await add.delay(20, 22);
  expect(await ok.wait({ timeout: 10 })).toBe(42);
  expect([await ok.successful(), await ok.failed(), await ok.result, await ok.traceback]).toEqual([
    true,
    false,
    42,
    null,
  ]);
  const bad = await boom.delay('broken');
  await expect(bad.wait({ timeout: 10 })).rejects.toBeInstanceOf(TaskFailedError);
  expect([await bad.successful(), await bad.failed()]).toEqual([false, true]);
  const value = (await bad.result) as TaskFailedError;
  expect([value.excType, value.excMessage]).toEqual(['BoomError', 'broken']);
  expect(await bad.traceback).toMatch(/BoomError: broken\n\s+at /);
});

test('revoke({ terminate: true }) on the handle stops a running task', async () => {
  const r = await sleeper.delay();
  await eventually(async () => expect(await r.status()).toMatch(/RECEIVED|STARTED/));
  await eventually(async () => {
    await r.revoke({ terminate: true });
    expect(await r.status()).toBe('REVOKED');
  }, 15_000);
  await expect(r.get({ timeout: 5 })).rejects.toBeInstanceOf(TaskRevokedError);
});

test('.parent and .children link the steps of a work-flow and its callbacks', async () => {
  const last = (await chain(add.s(1, 1), add.s(2)).applyAsync()) as AsyncResult;
  expect(await last.get({ timeout: 10 })).toBe(4);
  const first = last.parent as AsyncResult;
  expect(await first.get({ timeout: 10 })).toBe(2);
  expect((await first.children).map((c) => c.id)).toEqual([last.id]);
  const linked = await add
    .s(3, 3)
    .link(note.s(`kids-${Math.random()}`))
    .delay();
  await eventually(async () => expect(await linked.children).toHaveLength(1));
  const [callback] = await linked.children;
  expect((await callback.info())!.taskName).toBe('parity.note');
});

test('GroupResult: save and restore by id, completedCount, join with and without propagate, delete, forget', async () => {
  const g = await group(add.s(1, 1), boom.s('member'), add.s(2, 2)).applyAsync();
  await expect(g.join({ timeout: 10 })).rejects.toBeInstanceOf(TaskFailedError);
  const joined = await g.join({ timeout: 10, propagate: false });
  expect(joined[0]).toBe(2);
  expect(joined[1]).toBeInstanceOf(TaskFailedError);
  expect(joined[2]).toBe(4);
  expect([await g.completedCount(), await g.ready(), await g.successful(), await g.failed()]).toEqual([
    2,
    true,
    false,
    true,
  ]);
  const restored = (await GroupResult.restore<number>(g.id))!;
  expect(restored.ids).toEqual(g.ids);

  const a = await add.delay(5, 5);
  const b = await add.delay(6, 6);
  const mine = new GroupResult<number>(`saved-${Math.random()}`, [a, b], a.backend);
  expect(await GroupResult.restore(mine.id)).toBeNull();
  await mine.save();
  const back = (await GroupResult.restore<number>(mine.id))!;
  expect(await back.get({ timeout: 10 })).toEqual([10, 12]);
  await back.delete();
  expect(await GroupResult.restore(mine.id)).toBeNull();
  expect(await a.status()).toBe('SUCCESS'); // delete() keeps the members' results…
  await back.forget(); // …forget() removes them too
  expect([await a.status(), await b.status()]).toEqual(['UNKNOWN', 'UNKNOWN']);
});

test("states: Celery's precedence, with custom states between STARTED and FAILURE", async () => {
  expect(states.SUCCESS).toBe('SUCCESS');
  expect(states.READY_STATES.has('REVOKED')).toBe(true);
  expect(states.PROPAGATE_STATES.has('FAILURE')).toBe(true);
  expect(isHigherState('SUCCESS', 'PENDING')).toBe(true);
  expect(isHigherState('DOWNLOADING', 'STARTED')).toBe(true);
  expect(isHigherState('DOWNLOADING', 'FAILURE')).toBe(false);
  expect(precedence('PENDING')).toBeGreaterThan(precedence('STARTED'));
});
