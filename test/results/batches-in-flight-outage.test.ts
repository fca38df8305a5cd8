import { join } from 'node:path';
import { Client } from 'pg';
import { Celeriac } from '../../src';
import { ResultStore, type StateUpdate } from '../../src/results/store';
import { cleanup, eventually, isolation, REDIS_URL } from '../helpers';
import { PrivatePostgres } from '../private-servers';

/**
 * Postgres stopped while two result batches are in flight, and started again: each batch is kept,
 * backed off and written again on its own, every waiter settles once as stored, and the outage is
 * counted once. Postgres is a private cluster (its own port and temp dir), never the shared server.
 */
const pg = new PrivatePostgres(7833);
let app: Celeriac;
beforeAll(async () => {
  await pg.init();
  app = new Celeriac({
    apps: [join(__dirname, '../fixtures/outage')],
    databaseUrl: pg.url,
    brokerUrl: REDIS_URL,
    ...isolation('inflight_outage'),
  });
  await app.migrate();
}, 60_000);
afterAll(async () => {
  await cleanup(app).catch(() => {}); // its schema lives in the private cluster, removed below
  pg.remove();
});

const state = (taskId: string, status: string): StateUpdate => ({
  taskId,
  status,
  retries: 0,
  taskName: 'x.outage',
  result: status === 'SUCCESS' ? 1 : undefined,
  dateDone: status === 'SUCCESS' ? new Date() : undefined,
});

test('Postgres stopped with two batches in flight: both kept, retried and settled once each', async () => {
  const store = new ResultStore(await app.database(), app.config.schema, undefined, undefined, {
    batchesInFlight: 2,
  });
  const errors: Error[] = [];
  store.on('error', (e) => errors.push(e));
  const table = `"${app.config.schema}".celeriac_task_result`;
  await store.write(state('out-a', 'PENDING'));
  await store.write(state('out-b', 'PENDING'));
  // Hold both rows so that each batch waits in Postgres, one per connection.
  const locker = new Client({ connectionString: pg.url });
  locker.on('error', () => {}); // cut by the stop below
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query(`SELECT 1 FROM ${table} WHERE task_id = ANY($1) FOR UPDATE`, [['out-a', 'out-b']]);
  // Watched from another session: inside the locker's transaction pg_stat_activity is a snapshot.
  const watcher = new Client({ connectionString: pg.url });
  watcher.on('error', () => {});
  await watcher.connect();
  const waiting = async () =>
    (
      await watcher.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
        [`%${table}%`],
      )
    ).rows[0].n;
  const results: string[] = [];
  store.writeThen(state('out-a', 'SUCCESS'), (r) => results.push(`a:${r.stored}`));
  await eventually(async () => expect(await waiting()).toBe(1));
  store.writeThen(state('out-b', 'SUCCESS'), (r) => results.push(`b:${r.stored}`));
  await eventually(async () => expect(await waiting()).toBe(2));
  expect(store.health().backlog).toBe(2);

  pg.crash(); // not a fast stop: that ends the locker first, and a batch could commit on the way out
  await eventually(() => expect(errors.length).toBeGreaterThanOrEqual(2));
  expect(store.health().postgres.down).toBe(true);
  expect(results).toEqual([]);
  expect(store.health().backlog).toBe(2);
  await pg.start();

  await eventually(() => expect(results.sort()).toEqual(['a:as-is', 'b:as-is']), 30_000);
  expect(store.health()).toMatchObject({ backlog: 0, stalledMs: 0, postgres: { down: false } });
  const check = new Client({ connectionString: pg.url });
  await check.connect();
  const { rows } = await check.query(`SELECT task_id, status FROM ${table} ORDER BY task_id`);
  await check.end();
  expect(rows).toEqual([
    { task_id: 'out-a', status: 'SUCCESS' },
    { task_id: 'out-b', status: 'SUCCESS' },
  ]);
  expect(await store.close()).toBe(0);
  await locker.end().catch(() => {});
  await watcher.end().catch(() => {});
}, 90_000);
