import type { Celeriac } from '../../src';
import { ResultStore } from '../../src/results/store';
import { cleanup, makeApp } from '../helpers';

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
  let committed = false;
  void store.write({ taskId: 'lost-1', status: 'SUCCESS', retries: 0, result: 1 }).then(() => (committed = true));
  expect(await store.flush(300)).toBe(false);
  expect(committed).toBe(false);
  expect(store.backlog).toBe(1);
  expect(errors[0]).toMatch(/result table is missing in schema 'not_migrated_schema'\. Run `celeriac migrate/);
  expect(await store.close(100)).toBe(1);
  expect(store.backlog).toBe(0);
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
