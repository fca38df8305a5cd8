import type { Celeriac } from '../../src';
import { ResultStore, type StateUpdate } from '../../src/results/store';
import { cleanup, makeApp } from '../helpers';
import { deadlocksIn, openServerLog } from '../pg-log';

/**
 * Issue 15 item 3: two writers holding some of the same tasks in their batches, in other orders
 * (a sender's PENDING batch and a worker's batch; two workers), used to deadlock in Postgres.
 * Each statement now locks rows in task-id order, whichever order the states were written in.
 */
let app: Celeriac;
beforeAll(async () => {
  app = await makeApp('lock_order');
});
afterAll(() => cleanup(app));

test('two stores writing the same tasks in opposite orders, at once, many rounds: no deadlock, every state lands', async () => {
  const serverLog = await openServerLog();
  const ds = await app.dataSource();
  const errors: string[] = [];
  const stores = [0, 1].map(() => {
    const store = new ResultStore(ds, app.config.schema);
    store.on('error', (e) => errors.push(e.message));
    return store;
  });
  const ids = Array.from({ length: 300 }, (_, i) => `lock-${String(i).padStart(3, '0')}`);
  const ROUNDS = 15;
  for (let round = 0; round < ROUNDS; round++) {
    const update = (id: string, retries: number): StateUpdate => ({
      taskId: id,
      status: 'RETRY',
      retries,
      taskName: 'x.lock',
      dateDone: null,
    });
    // Both batches are queued in the same turn and their statements run concurrently: one store
    // has the ids ascending, the other descending (and, every other round, the narrow update).
    const a = ids.map((id) => stores[0].write({ ...update(id, round * 2), rowExists: round % 2 === 1 }));
    const b = [...ids]
      .reverse()
      .map((id) => stores[1].write({ ...update(id, round * 2 + 1), rowExists: round % 2 === 1 }));
    await Promise.all([...a, ...b]);
  }
  expect(errors.filter((e) => /deadlock/.test(e))).toEqual([]);
  if (serverLog) expect(deadlocksIn(serverLog.newLines(), app.config.schema)).toEqual([]);
  const rows = await stores[0].getMany(ids);
  expect(rows).toHaveLength(ids.length);
  for (const r of rows) expect(r.retries).toBeGreaterThanOrEqual((ROUNDS - 1) * 2);
  for (const s of stores) await s.close();
});
