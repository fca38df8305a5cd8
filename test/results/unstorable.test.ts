import type { Celeriac } from '../../src';
import { ResultStore, type StateUpdate, type WriteResult } from '../../src/results/store';
import { cleanup, makeApp } from '../helpers';

/**
 * Issue 15 item 1, at the store: one state Postgres refuses used to fail its whole batch, which
 * was retried forever, so no later state was ever written. Each case below was a wedge.
 */
let app: Celeriac;
let store: ResultStore;
const warnings: string[] = [];
beforeAll(async () => {
  app = await makeApp('unstorable');
  store = new ResultStore(await app.dataSource(), app.config.schema, (level, message) => {
    if (level === 'warn') warnings.push(message);
  });
});
afterAll(async () => {
  await store.close();
  await cleanup(app);
});

const good = (i: number): StateUpdate => ({
  taskId: `good-${i}`,
  status: 'SUCCESS',
  retries: 0,
  taskName: 'x.good',
  args: [i],
  result: i,
  dateDone: new Date(),
});

test('in one batch: good rows commit as they are, each bad row is found and replaced, an unstorable id is dropped', async () => {
  const bad: Record<string, StateUpdate> = {
    nulResult: {
      taskId: 'bad-nul-result',
      status: 'SUCCESS',
      retries: 0,
      taskName: 'x.bad',
      result: { a: ['x\u0000y'] },
    },
    surrogateArgs: { taskId: 'bad-surrogate-args', status: 'SUCCESS', retries: 0, args: ['ok', '\ud800'], result: 5 },
    nulKey: { taskId: 'bad-nul-key', status: 'RECEIVED', retries: 0, kwargs: { 'k\u0000': 1 } },
    longName: { taskId: 'bad-long-name', status: 'SUCCESS', retries: 0, taskName: 'n'.repeat(300), result: 1 },
    nulTraceback: {
      taskId: 'bad-traceback',
      status: 'FAILURE',
      retries: 0,
      result: { exc_type: 'E', exc_message: ['m'] },
      traceback: 'at \u0000',
    },
    badMeta: { taskId: 'bad-meta', status: 'PROGRESS', retries: 0, meta: { note: '\udc00' } },
    longId: { taskId: 'i'.repeat(256), status: 'SUCCESS', retries: 0, result: 1 },
    nanRetries: { taskId: 'bad-retries', status: 'SUCCESS', retries: Number.NaN, result: 1 },
  };
  const unstorable: string[] = [];
  store.on('unstorable', (u) => unstorable.push(u.taskId));
  // All written in one turn, so they share one batch with the good rows around them.
  const writes = new Map<string, Promise<WriteResult>>();
  for (let i = 0; i < 20; i++) writes.set(`good-${i}`, store.write(good(i)));
  for (const u of Object.values(bad)) writes.set(u.taskId, store.write(u));
  const results = Object.fromEntries(await Promise.all([...writes].map(async ([id, p]) => [id, await p] as const)));

  for (let i = 0; i < 20; i++) expect(results[`good-${i}`]).toEqual({ stored: 'as-is' });
  const rows = new Map((await store.getMany([...writes.keys()])).map((r) => [r.taskId, r]));
  for (let i = 0; i < 20; i++) expect(rows.get(`good-${i}`)).toMatchObject({ status: 'SUCCESS', result: i, args: [i] });

  // A result is never changed silently: the task becomes FAILURE, naming the path.
  expect(rows.get('bad-nul-result')).toMatchObject({
    status: 'FAILURE',
    taskName: 'x.bad',
    result: {
      exc_type: 'NotStorableError',
      exc_message: [expect.stringMatching(/^NotStorableError: result\.a\[0\] contains U\+0000 \(NUL\) at index 1/)],
    },
  });
  // Arguments, meta and names that cannot be stored are left out; the state stands.
  expect(rows.get('bad-surrogate-args')).toMatchObject({
    status: 'SUCCESS',
    result: 5,
    args: null,
    meta: { not_stored: expect.stringMatching(/args\[1\] contains a lone surrogate U\+D800 at index 0/) },
  });
  expect(rows.get('bad-nul-key')).toMatchObject({
    status: 'RECEIVED',
    kwargs: null,
    meta: { not_stored: expect.stringMatching(/kwargs has a key that contains U\+0000/) },
  });
  expect(rows.get('bad-long-name')).toMatchObject({
    status: 'SUCCESS',
    taskName: null,
    meta: { not_stored: expect.stringMatching(/taskName is 300 characters long, over the 255 its column holds/) },
  });
  expect(rows.get('bad-traceback')).toMatchObject({ status: 'FAILURE', traceback: 'at \ufffd' });
  expect(rows.get('bad-meta')).toMatchObject({ status: 'PROGRESS', meta: { not_stored: expect.any(String) } });
  expect(rows.get('bad-retries')).toMatchObject({ status: 'SUCCESS', retries: 0 });
  expect(results['i'.repeat(256)]).toMatchObject({ stored: 'dropped' });
  expect(rows.has('i'.repeat(256))).toBe(false);

  expect(results['bad-nul-result']).toMatchObject({ stored: 'replaced', update: { status: 'FAILURE' } });
  expect(unstorable.sort()).toEqual(
    Object.values(bad)
      .map((u) => u.taskId)
      .sort(),
  );
  expect(store.health().unstorable).toBe(Object.keys(bad).length);
  expect(warnings.filter((w) => /Postgres refused its/.test(w))).toHaveLength(Object.keys(bad).length);
  expect(store.backlog).toBe(0);
});

test('after a bad row, later writes go straight through: nothing is held back', async () => {
  const bad = store.write({ taskId: 'again-bad', status: 'SUCCESS', retries: 0, result: '\u0000' });
  const later = Array.from({ length: 50 }, (_, i) => store.write(good(100 + i)));
  expect((await bad).stored).toBe('replaced');
  for (const r of await Promise.all(later)) expect(r).toEqual({ stored: 'as-is' });
  expect(await store.flush()).toBe(true);
});
