import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { ResultUnavailableError, TimeoutError, type Celeriac } from '../../src';
import { celeriacEntities } from '../../src/db/entities';
import { ResultStore } from '../../src/results/store';
import { ResultWaiter } from '../../src/results/waiter';
import type { LogLevel } from '../../src/log';
import { cleanup, DATABASE_URL, eventually, makeApp } from '../helpers';
import { echo } from '../fixtures/values/tasks';

/**
 * Issue 15, "nothing waits forever" in the sending process: Postgres up but wedged (a session
 * holds an ACCESS EXCLUSIVE lock on the result table, as a migration can) used to hold get() with
 * a timeout for a 10 s read, and close() until each statement's 30 s query_timeout, with nothing
 * said until then.
 */
let app: Celeriac;
const logs: { level: LogLevel; message: string }[] = [];
let locker: Client | undefined;

beforeAll(async () => {
  app = await makeApp('wedged_store', {
    apps: [join(__dirname, '../fixtures/values')],
    logger: { log: (level, message) => logs.push({ level, message }) },
  });
});
afterAll(async () => {
  await locker?.end().catch(() => {});
  await cleanup(app);
});

test('a wedged result table: get() keeps its timeout, status() answers, the stall is logged and shown, close() ends', async () => {
  const before = await echo.delay(1);
  expect(await before.status()).toBe('PENDING'); // our own write is committed: the table works
  locker = new Client({ connectionString: DATABASE_URL });
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query(`LOCK TABLE "${app.config.schema}".celeriac_task_result IN ACCESS EXCLUSIVE MODE`);

  const r = await echo.delay(2); // its PENDING write now waits behind the lock
  let started = Date.now();
  await expect(r.get({ timeout: 1 })).rejects.toThrow(TimeoutError);
  // Bounded by its own timeout, not by the 10 s read it was waiting on.
  expect(Date.now() - started).toBeLessThan(8_000);
  // Reads the sending process makes besides status() give up too (children had no bound at all).
  const children = r.children.then(
    () => 'answered',
    (e: Error) => e.message,
  );
  // status() waits briefly for our own write and for a read, then answers from the write (2 s + 2 s).
  started = Date.now();
  expect(await r.status()).toBe('PENDING');
  expect(Date.now() - started).toBeLessThan(9_000);

  const store = await app.results();
  await eventually(() => {
    expect(
      logs.some((l) => l.level === 'warn' && /^result store stalled: a batch of \d+ task states/.test(l.message)),
    ).toBe(true);
    expect(store.health().stalledMs).toBeGreaterThanOrEqual(5_000);
  }, 30_000);
  expect(store.health().postgres.down).toBe(false); // wedged, not down: the stall is what shows it

  expect(await children).toMatch(/timeout/i);
  started = Date.now();
  await app.close();
  // The store's own bound (10 s) and the pool's (5 s), not the statements' 30 s query_timeout.
  expect(Date.now() - started).toBeLessThan(20_000);
  expect(logs.map((l) => l.message)).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^closed with [1-9]\d* task states not written/),
      expect.stringMatching(/^closed Postgres connections that were still inside a statement after 5 s/),
    ]),
  );
  await locker.query('ROLLBACK');
}, 60_000);

test('get() without a timeout waits out failing reads for a bound, then says the result table cannot be read', async () => {
  // A store whose pool has ended: every read fails at once.
  const ds = new DataSource({
    type: 'postgres',
    url: DATABASE_URL,
    schema: app.config.schema,
    entities: celeriacEntities,
  });
  await ds.initialize();
  await ds.destroy();
  const store = new ResultStore(ds, app.config.schema);
  const waiter = new ResultWaiter(
    () => app.broker(),
    async () => store,
    50,
    1_000,
  );
  try {
    const started = Date.now();
    const failure = await waiter.wait('no-such-task', Infinity).catch((e) => e);
    expect(failure).toBeInstanceOf(ResultUnavailableError);
    expect(failure.message).toMatch(
      /^Could not read task no-such-task's state for \d+ s: .*The task itself is unaffected: call get\(\) again once Postgres answers\.$/,
    );
    // It kept trying for the bound, and not much longer.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  } finally {
    await waiter.close();
    await store.close(0);
  }
});
