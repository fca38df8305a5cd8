import type { Celeriac } from '../../src';
import { ResultStore } from '../../src/results/store';
import { cleanup, eventually, makeApp } from '../helpers';

let app: Celeriac;
beforeAll(async () => {
  app = await makeApp('store');
});
afterAll(() => cleanup(app));

test('writes Postgres cannot take are kept and retried; flush and close are bounded and say what was lost', async () => {
  // A store pointed at a schema that was never migrated: every write fails with 42P01.
  const store = new ResultStore(await app.dataSource(), 'not_migrated_schema');
  const errors: string[] = [];
  store.on('error', (e) => errors.push(e.message));
  let result: unknown;
  void store.write({ taskId: 'lost-1', status: 'SUCCESS', retries: 0, result: 1 }).then((r) => (result = r));
  expect(await store.flush(300)).toBe(false);
  await eventually(() => expect(errors.length).toBeGreaterThan(0));
  expect(result).toBeUndefined();
  expect(store.backlog).toBe(1);
  expect(errors[0]).toMatch(/result table is missing in schema 'not_migrated_schema'\. Run `celeriac migrate/);
  expect(store.health().postgres).toMatchObject({ down: true, lastError: expect.stringMatching(/does not exist/) });
  expect(await store.close(100)).toBe(1);
  await eventually(() => expect(store.backlog).toBe(0)); // a statement in flight at close returns, then nothing is left
  // Not written, and said so: a worker does not ack such a task.
  await eventually(() => expect(result).toMatchObject({ stored: 'abandoned' }));
});

test('a later state merges over an earlier one in the same batch, and a late earlier one never wins', async () => {
  const store = await app.results();
  await Promise.all([
    store.write({ taskId: 'order-1', status: 'RECEIVED', retries: 0, taskName: 'x.y', args: [1] }),
    store.write({ taskId: 'order-1', status: 'SUCCESS', retries: 0, result: 42, dateDone: new Date() }),
  ]);
  await store.write({ taskId: 'order-1', status: 'PENDING', retries: 0, taskName: 'x.y' });
  const row = (await store.get('order-1'))!;
  expect(row).toMatchObject({ status: 'SUCCESS', result: 42, taskName: 'x.y', args: [1] });
  // A retry's next attempt (retries 1) moves past the first attempt's RETRY.
  await store.write({ taskId: 'order-2', status: 'RETRY', retries: 0 });
  await store.write({ taskId: 'order-2', status: 'STARTED', retries: 1 });
  expect((await store.get('order-2'))!.status).toBe('STARTED');
  await store.write({ taskId: 'order-2', status: 'RETRY', retries: 0 });
  expect((await store.get('order-2'))!.status).toBe('STARTED');
});

test('a state hinted rowExists sets only what a state changes; a wrong hint still writes the whole row, then hints rest a while', async () => {
  const ds = await app.dataSource();
  const store = new ResultStore(ds, app.config.schema);
  const pending = (id: string) =>
    store.write({ taskId: id, status: 'PENDING', retries: 0, taskName: 'x.hinted', args: [1], kwargs: { a: 1 } });
  const success = (id: string) =>
    store.write({
      taskId: id,
      status: 'SUCCESS',
      retries: 0,
      taskName: 'x.hinted',
      args: [1],
      queue: 'reports',
      worker: 'w@h',
      result: 7,
      dateDone: new Date(),
      rowExists: true,
    });

  // The row exists: the narrow update writes the state and keeps the row's own columns. The
  // PENDING left queue empty and the update does not fill it, which is how we see it took that path.
  await pending('hint-known');
  await success('hint-known');
  expect(await store.get('hint-known')).toMatchObject({
    status: 'SUCCESS',
    result: 7,
    worker: 'w@h',
    taskName: 'x.hinted',
    args: [1],
    kwargs: { a: 1 },
    queue: null,
  });

  // The hint is wrong (no row): the upsert writes the whole row anyway.
  await success('hint-missing');
  expect(await store.get('hint-missing')).toMatchObject({
    status: 'SUCCESS',
    result: 7,
    taskName: 'x.hinted',
    args: [1],
    queue: 'reports',
  });

  // After that mostly-missing batch, hints are ignored for a while: the next hinted write takes
  // the upsert, which fills the empty queue.
  await pending('hint-after-miss');
  await success('hint-after-miss');
  expect(await store.get('hint-after-miss')).toMatchObject({ status: 'SUCCESS', queue: 'reports' });
  await store.close();
});
