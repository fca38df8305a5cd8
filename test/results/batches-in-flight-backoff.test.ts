import { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { databaseOf } from '../../src/db/database';
import { ResultStore, type StateUpdate } from '../../src/results/store';

/**
 * While Postgres is away, a lane that failed backs off (100 ms, doubling). Writes arriving then
 * must not start the other lanes: each would try Postgres at once, fail, and hold a pool slot on
 * a connection attempt, so N lanes retried N times as often as one batch did. Postgres is "away"
 * here as a port nothing listens on (ECONNREFUSED, a transient failure).
 */
const pool = new Pool({ connectionString: 'postgres://x:y@127.0.0.1:1/none', max: 10 });
pool.on('error', () => {});
afterAll(() => pool.end());

const state = (taskId: string): StateUpdate => ({ taskId, status: 'STARTED', retries: 0, taskName: 'x.backoff' });

test('while one lane backs off from a Postgres that is away, new writes start no other lane', async () => {
  const store = new ResultStore(
    databaseOf({ driver: { master: pool } } as unknown as DataSource),
    'public',
    undefined,
    undefined,
    {
      batchesInFlight: 3,
    },
  );
  const failures: number[] = [];
  let next: (() => void) | undefined;
  store.on('error', () => {
    failures.push(Date.now());
    next?.();
  });
  const failed = (n: number) =>
    new Promise<void>((resolve) => {
      next = () => failures.length >= n && resolve();
      next();
    });
  store.writeThen(state('backoff-a'), () => {});
  await failed(1);
  // New writes, in separate turns, during the first lane's 100 ms backoff.
  for (const id of ['backoff-b', 'backoff-c']) {
    store.writeThen(state(id), () => {});
    await new Promise((r) => setImmediate(r));
  }
  await failed(2);
  // The next attempt is the backed-off lane's own, after its backoff; not another lane's, at once.
  expect(failures[1] - failures[0]).toBeGreaterThanOrEqual(99);
  expect(store.health().backlog).toBe(3);
  expect(await store.close(0)).toBe(3);
});
