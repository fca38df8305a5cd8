import { join } from 'node:path';
import { chain, chord, group, signature, TaskFailedError, type Celeriac } from '../../src';
import { eagerApp, EagerResult } from '../../src/testing';
import { silentLogger } from '../../src/log';
import { add, boom, BoomError, note, notes, total } from '../fixtures/parity/tasks';

/** alwaysEager (eagerApp, the documented helper): the app's usual send calls run here, at once. */
let app: Celeriac;
const apps = [join(__dirname, '../fixtures/parity')];
beforeEach(() => {
  app = eagerApp({ apps, logger: silentLogger, eagerPropagates: false });
});
afterEach(() => app.close());

test('delay, applyAsync, sendTask and sendMany run eagerly and resolve finished', async () => {
  const r = await add.delay(1, 2);
  expect(r).toBeInstanceOf(EagerResult);
  expect(await r.status()).toBe('SUCCESS');
  expect(await (await add.applyAsync([2, 2])).get()).toBe(4);
  expect(await (await app.sendTask('parity.add', [3, 3])).get()).toBe(6);
  const many = await add.applyAsyncMany([
    [1, 1],
    [5, 5],
  ]);
  expect(await Promise.all(many.map((m) => m.get()))).toEqual([2, 10]);
});

test('work-flows of every shape run eagerly, with their handles linked', async () => {
  const res = await chain(add.s(1, 2), group(add.s(1), chain(add.s(2), add.s(3))), total.s()).delay();
  expect(await res.get()).toBe(4 + 8);
  expect(res.parent).not.toBeNull();
  const g = await group(add.s(1, 1), group(add.s(2, 2), add.s(3, 3))).delay();
  expect(await g.join()).toEqual([2, 4, 6]);
  expect(await g.completedCount()).toBe(3);
  const c = await chord([add.s(1, 1), chord([add.s(1, 1)], total.s())], total.s()).delay();
  expect(await c.get()).toBe(4);
  const s = await signature('parity.add', [4, 4]).delay();
  expect(await s.get()).toBe(8);
});

test('callbacks run once with the result; a chord errback runs once when a member fails', async () => {
  const key = `cb-${Math.random()}`;
  await add.s(2, 2).link(note.s(key)).delay();
  expect(notes.get(key)).toEqual([[4]]);
  const ek = `eb-${Math.random()}`;
  const body = await chord([boom.s('x'), boom.s('y'), add.s(1, 1)], total.s())
    .linkError(note.s(ek))
    .delay();
  expect(((await body.get().catch((e) => e)) as TaskFailedError).excType).toBe('ChordError');
  expect(notes.get(ek)).toEqual([[body.id]]);
});

test("eagerPropagates throws the task's own error from delay()", async () => {
  await app.close();
  app = eagerApp({ apps, logger: silentLogger });
  const err = await boom.delay('propagated').catch((e) => e);
  expect(err).toBeInstanceOf(BoomError);
  // The errback of a failed chain step has run before the error reaches the caller.
  const key = `prop-${Math.random()}`;
  await expect(chain(add.s(1, 1), boom.s()).linkError(note.s(key)).delay()).rejects.toBeInstanceOf(BoomError);
  expect(notes.get(key)).toHaveLength(1);
});

test("a task defined elsewhere (a route, no definition here) still goes to the broker, as Celery's send_task", async () => {
  await app.close();
  app = eagerApp({ apps, logger: silentLogger, routes: { 'billing.*': { queue: 'billing' } } });
  const r = await app.sendTask('billing.charge', [10]);
  expect(r).not.toBeInstanceOf(EagerResult);
  expect(await (await app.broker()).queueLength('billing')).toBe(1);
});
