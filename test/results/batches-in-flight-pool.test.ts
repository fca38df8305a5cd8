import { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { databaseOf } from '../../src/db/database';
import { ResultStore } from '../../src/results/store';
import { PoolTooSmallError } from '../../src/results/batches-in-flight';
import { DATABASE_URL } from '../helpers';

/**
 * Each batch in flight holds one of the pool's connections until Postgres answers (up to the
 * statement timeout when a lock holds it). A pool no larger than the batches in flight would then
 * leave nothing for reads, chord joins, or a host app's own queries on the same DataSource: the
 * store refuses such a setting when it is built instead of starving the pool under load.
 */
const pools: Pool[] = [];
afterAll(async () => {
  for (const p of pools) await p.end();
});

/** A host app's DataSource whose pg pool has `max` connections (databaseOf reads only its driver). */
function hostPool(max: number) {
  const pool = new Pool({ connectionString: DATABASE_URL, max });
  pools.push(pool);
  return databaseOf({ driver: { master: pool } } as unknown as DataSource);
}

test('more than one batch in flight needs a pool with a connection left over', () => {
  expect(() => new ResultStore(hostPool(2), 'public', undefined, undefined, { batchesInFlight: 2 })).toThrow(
    PoolTooSmallError,
  );
  expect(() => new ResultStore(hostPool(3), 'public', undefined, undefined, { batchesInFlight: 4 })).toThrow(
    "result batches in flight (4) need a pool of at least 5 connections, and this pool has 3: raise the DataSource's poolSize (or the pool's max) to 5 or more, or lower resultBatchesInFlight",
  );
  expect(new ResultStore(hostPool(3), 'public', undefined, undefined, { batchesInFlight: 2 }).batchesInFlight).toBe(2);
});

test('one batch in flight (the default) is accepted on any pool, as before', () => {
  expect(new ResultStore(hostPool(1), 'public').batchesInFlight).toBe(1);
  expect(new ResultStore(hostPool(1), 'public', undefined, undefined, { batchesInFlight: 1 }).batchesInFlight).toBe(1);
});
