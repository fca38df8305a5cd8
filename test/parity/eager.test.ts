import { join } from 'node:path';
import { Celeriac, chain, chord, group, TaskFailedError } from '../../src';
import { EagerResult } from '../../src/eager/eager-result';
import { silentLogger } from '../../src/log';
import { add, boom, BoomError, flaky, note, notes, stages, total, whoami } from '../fixtures/parity/tasks';

/** task.apply(): no broker connection and no database are made; everything runs in this process. */
let app: Celeriac;
beforeAll(() => {
  app = new Celeriac({ brokerUrl: 'memory://', logger: silentLogger, apps: [join(__dirname, '../fixtures/parity')] });
});
afterAll(() => app.close());

test('apply runs the task here and returns an EagerResult with the AsyncResult API', async () => {
  const r = await add.apply([2, 3]);
  expect(r).toBeInstanceOf(EagerResult);
  expect(await r.get()).toBe(5);
  expect(await r.wait()).toBe(5);
  expect(await r.status()).toBe('SUCCESS');
  expect(await r.successful()).toBe(true);
  expect(await r.failed()).toBe(false);
  expect(await r.ready()).toBe(true);
  expect(await r.result).toBe(5);
  expect(await r.traceback).toBeNull();
  expect(await r.info()).toMatchObject({ taskName: 'parity.add', args: [2, 3], retries: 0, status: 'SUCCESS' });
});

test('the task gets a real context: its own id, the eager hostname, retries', async () => {
  const r = await whoami.apply([], {}, { taskId: 'eager-id-1' });
  expect(r.id).toBe('eager-id-1');
  expect(await r.get()).toEqual({ id: 'eager-id-1', hostname: expect.stringMatching(/^eager@/), retries: 0 });
});

test('a failure is recorded as FAILURE; get() throws it with the class and stack, .result holds it', async () => {
  const r = await boom.apply(['bad input']);
  expect(await r.status()).toBe('FAILURE');
  expect(await r.failed()).toBe(true);
  const err = (await r.get().catch((e) => e)) as TaskFailedError;
  expect(err).toBeInstanceOf(TaskFailedError);
  expect(err.excType).toBe('BoomError');
  expect(err.excMessage).toBe('bad input');
  expect(await r.traceback).toMatch(/BoomError: bad input\n\s+at /);
  expect(await r.result).toBeInstanceOf(TaskFailedError);
});

test("throw: true (Celery apply(throw=True)) rejects with the task's own error", async () => {
  const err = await boom.apply(['thrown'], {}, { throw: true }).catch((e) => e);
  expect(err).toBeInstanceOf(BoomError);
  expect(err.message).toBe('thrown');
});

test('ctx.retry() runs again at once, countdown ignored, up to maxRetries', async () => {
  const r = await flaky.apply([2]);
  expect(await r.get()).toBe(2);
  expect((await r.info())!.retries).toBe(2);
  const tooMany = await flaky.apply([9]);
  expect(await tooMany.status()).toBe('FAILURE');
  expect((await tooMany.info())!.retries).toBe(5);
});

test('custom states set with ctx.updateState end in the final state', async () => {
  const r = await stages.apply([false]);
  expect(await r.get()).toBe('stored');
});

test('task middleware runs around eager runs too', async () => {
  const seen: string[] = [];
  app.use('task', async (ctx, next) => {
    seen.push(ctx.name);
    return next();
  });
  await add.apply([1, 1]);
  expect(seen).toContain('parity.add');
});

test('an unknown task name fails at once with the registered names', async () => {
  await expect(app.applyEager('parity.nope')).rejects.toThrow(/parity\.nope/);
});

test('canvas apply(): nested chain, group and chord run here with callbacks and errbacks once', async () => {
  const flow = chain(add.s(1, 2), add.s(3), group(add.s(10), add.s(20)));
  const g = await flow.apply();
  expect(await g.get()).toEqual([16, 26]);

  const c = await chord([add.s(1, 1), chain(add.s(2, 2), add.s(1))], total.s()).apply();
  expect(await c.get()).toBe(7);
  expect(c).toBeInstanceOf(EagerResult);

  const key = `eb-${Date.now()}`;
  const failing = chord([add.s(1, 1), boom.s('member')], total.s()).linkError(note.s(key));
  const body = await failing.apply();
  expect(await body.status()).toBe('FAILURE');
  expect(((await body.get().catch((e) => e)) as TaskFailedError).excType).toBe('ChordError');
  expect(notes.get(key)).toEqual([[body.id]]);

  const key2 = `chain-${Date.now()}`;
  const broken = await chain(add.s(1, 1), boom.s(), add.s(1)).linkError(note.s(key2)).apply();
  expect(((await broken.get().catch((e) => e)) as TaskFailedError).excType).toBe('ChainBroken');
  expect(notes.get(key2)).toEqual([[expect.any(String)]]);
});
