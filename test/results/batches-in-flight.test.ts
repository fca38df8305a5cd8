import fc from 'fast-check';
import { Client } from 'pg';
import type { Celeriac } from '../../src';
import { ResultStore, type StateUpdate, type WriteResult } from '../../src/results/store';
import { BatchesInFlightError } from '../../src/results/batches-in-flight';
import { ConfigError } from '../../src/errors';
import { resolveConfig } from '../../src/config';
import { cleanup, DATABASE_URL, eventually, makeApp } from '../helpers';

/**
 * The result store writes up to `batchesInFlight` batches at once (default 1; these tests set 2 or 3). A batch held up
 * by Postgres must not hold back the next one, and a task's states must still commit in the
 * order written: the SQL guard admits an equal seq, so two PROGRESS states committed out of
 * order would leave the older one stored. Batches are held up here by a row lock another
 * session takes on one of their rows (the statement then waits in Postgres, as under a stall).
 */
let app: Celeriac;
let locker: Client;
/** Looks from outside the locker's transaction (inside it, pg_stat_activity may be a snapshot). */
let watcher: Client;
beforeAll(async () => {
  app = await makeApp('batches_in_flight');
  locker = new Client({ connectionString: DATABASE_URL });
  await locker.connect();
  watcher = new Client({ connectionString: DATABASE_URL });
  await watcher.connect();
});
// A test that fails with its lock held would hold every later test's batches up (each then fails
// on its own timeout, hiding which one broke): end the locker's transaction after each test.
afterEach(async () => void (await locker.query('ROLLBACK')));
afterAll(async () => {
  await locker.end();
  await watcher.end();
  await cleanup(app);
});

const state = (taskId: string, status: string, meta?: Record<string, unknown>): StateUpdate => ({
  taskId,
  status,
  retries: 0,
  taskName: 'x.inflight',
  meta,
  result: status === 'SUCCESS' ? 1 : undefined,
  dateDone: status === 'SUCCESS' ? new Date() : undefined,
});

const table = () => `"${app.config.schema}".celeriac_task_result`;

/** Another session locks `taskIds`' rows until `release()`: a batch holding one waits in Postgres. */
async function lockRows(taskIds: string[]): Promise<{ release(): Promise<void> }> {
  await locker.query('BEGIN');
  await locker.query(`SELECT 1 FROM ${table()} WHERE task_id = ANY($1) FOR UPDATE`, [taskIds]);
  return { release: async () => void (await locker.query('COMMIT')) };
}

/** Statements of this file's schema waiting on a lock in Postgres. */
async function waitingOnLock(): Promise<number> {
  const { rows } = await watcher.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
    [`%"${app.config.schema}".celeriac_task_result%`],
  );
  return rows[0].n;
}

async function stored(taskId: string): Promise<{ status: string; meta: unknown } | undefined> {
  const { rows } = await watcher.query(`SELECT status, meta FROM ${table()} WHERE task_id = $1`, [taskId]);
  return rows[0];
}

function newStore(batchesInFlight?: number): ResultStore {
  return new ResultStore(locker as never, app.config.schema, undefined, undefined, { batchesInFlight });
}

/** A store on the app's pool (one connection per batch in flight). */
async function storeOnPool(batchesInFlight?: number): Promise<ResultStore> {
  return new ResultStore(await app.database(), app.config.schema, undefined, undefined, { batchesInFlight });
}

test('a batch held up in Postgres does not hold back the next: it commits and settles on its own', async () => {
  const store = await storeOnPool(2);
  await store.write(state('hold-a', 'PENDING'));
  const lock = await lockRows(['hold-a']);
  const settled: string[] = [];
  store.writeThen(state('hold-a', 'SUCCESS'), (r) => settled.push(`a:${r.stored}`));
  await eventually(async () => expect(await waitingOnLock()).toBe(1));
  // A later turn: a second batch, on a second connection.
  const b = store.write(state('hold-b', 'SUCCESS'));
  expect(await b).toEqual({ stored: 'as-is' });
  expect(await stored('hold-b')).toMatchObject({ status: 'SUCCESS' });
  expect(settled).toEqual([]);
  expect(store.health().backlog).toBe(1);
  await lock.release();
  await eventually(() => expect(settled).toEqual(['a:as-is']));
  expect(await stored('hold-a')).toMatchObject({ status: 'SUCCESS' });
  expect(await store.close()).toBe(0);
});

test('with batchesInFlight 1 the next batch waits for the one in flight (today’s behaviour)', async () => {
  const store = await storeOnPool(1);
  await store.write(state('one-a', 'PENDING'));
  const lock = await lockRows(['one-a']);
  const order: string[] = [];
  store.writeThen(state('one-a', 'SUCCESS'), () => order.push('a'));
  await eventually(async () => expect(await waitingOnLock()).toBe(1));
  store.writeThen(state('one-b', 'SUCCESS'), () => order.push('b'));
  // b is queued behind a: nothing of it reaches Postgres while a waits.
  expect(store.health().backlog).toBe(2);
  expect(await stored('one-b')).toBeUndefined();
  await lock.release();
  expect(await store.flush()).toBe(true);
  expect(order).toEqual(['a', 'b']);
  await store.close();
});

test("a task's later state waits while its earlier one is in flight, then commits after it", async () => {
  const store = await storeOnPool(2);
  await store.write(state('order-a', 'PENDING'));
  const lock = await lockRows(['order-a']);
  const committed: string[] = [];
  store.on('committed', (updates) => {
    for (const u of updates) committed.push(`${u.taskId}:${JSON.stringify(u.meta ?? null)}`);
  });
  const first = store.write(state('order-a', 'PROGRESS', { step: 1 }));
  await eventually(async () => expect(await waitingOnLock()).toBe(1));
  // Same rank (seq) as the first: the SQL guard alone would take either order.
  const second = store.write(state('order-a', 'PROGRESS', { step: 2 }));
  expect(await store.write(state('order-b', 'SUCCESS'))).toEqual({ stored: 'as-is' });
  // order-b's batch went without order-a's second state: still unwritten, not in that batch.
  expect(store.unwritten('order-a')?.meta).toEqual({ step: 2 });
  // ('committed' is emitted just after the batch's waiters are called.)
  await eventually(() => expect(committed).toEqual(['order-b:null']));
  expect(await waitingOnLock()).toBe(1);
  await lock.release();
  await Promise.all([first, second]);
  await eventually(() => expect(committed).toEqual(['order-b:null', 'order-a:{"step":1}', 'order-a:{"step":2}']));
  expect(await stored('order-a')).toEqual({ status: 'PROGRESS', meta: { step: 2 } });
  await store.close();
});

test('close() waits for every batch in flight and settles each', async () => {
  const store = await storeOnPool(3);
  await store.write(state('close-a', 'PENDING'));
  await store.write(state('close-b', 'PENDING'));
  const lock = await lockRows(['close-a', 'close-b']);
  const results: string[] = [];
  store.writeThen(state('close-a', 'SUCCESS'), (r) => results.push(`a:${r.stored}`));
  await eventually(async () => expect(await waitingOnLock()).toBe(1));
  store.writeThen(state('close-b', 'SUCCESS'), (r) => results.push(`b:${r.stored}`));
  await eventually(async () => expect(await waitingOnLock()).toBe(2));
  let closed: number | undefined;
  const closing = store.close(20_000).then((n) => (closed = n));
  expect(store.health().backlog).toBe(2);
  await lock.release();
  await closing;
  expect(closed).toBe(0);
  expect(results.sort()).toEqual(['a:as-is', 'b:as-is']);
});

test('close() past its deadline counts every batch still in flight as dropped; each settles once when it returns', async () => {
  const store = await storeOnPool(2);
  await store.write(state('late-a', 'PENDING'));
  await store.write(state('late-b', 'PENDING'));
  const lock = await lockRows(['late-a', 'late-b']);
  const results: string[] = [];
  store.writeThen(state('late-a', 'SUCCESS'), (r) => results.push(`a:${r.stored}`));
  await eventually(async () => expect(await waitingOnLock()).toBe(1));
  store.writeThen(state('late-b', 'SUCCESS'), (r) => results.push(`b:${r.stored}`));
  await eventually(async () => expect(await waitingOnLock()).toBe(2));
  expect(await store.close(50)).toBe(2);
  expect(results).toEqual([]);
  await lock.release();
  // Both batches landed (every settle of a batch comes before it lands): each waiter exactly once.
  await eventually(() => expect(store.health().backlog).toBe(0));
  expect(results.sort()).toEqual(['a:as-is', 'b:as-is']);
});

test('batchesInFlight is validated at construction, and resultBatchesInFlight in the config', () => {
  for (const bad of [0, 9, 1.5, '2', NaN]) {
    expect(() => newStore(bad as number)).toThrow(BatchesInFlightError);
    expect(() => resolveConfig({ resultBatchesInFlight: bad as number })).toThrow(ConfigError);
  }
  expect(() => resolveConfig({ resultBatchesInFlight: 0 })).toThrow(
    "Invalid Celeriac config 'resultBatchesInFlight': expected a whole number from 1 to 8 (1 writes one result batch at a time; default 1), got 0",
  );
  expect(resolveConfig({}).resultBatchesInFlight).toBe(1);
  expect(newStore().batchesInFlight).toBe(1);
  expect(newStore(1).batchesInFlight).toBe(1);
});

test('a refused batch found row by row while another batch is held up: its good rows commit, the bad row is replaced', async () => {
  const store = await storeOnPool(2);
  await store.write(state('iso-held', 'PENDING'));
  const lock = await lockRows(['iso-held']);
  const held: string[] = [];
  store.writeThen(state('iso-held', 'SUCCESS'), (r) => held.push(r.stored));
  await eventually(async () => expect(await waitingOnLock()).toBe(1));
  // One turn: one batch on the second connection, holding a value Postgres refuses (NUL in jsonb).
  const results = await Promise.all([
    store.write(state('iso-good-1', 'SUCCESS')),
    store.write({ ...state('iso-bad', 'SUCCESS'), result: { a: ['x\u0000y'] } }),
    store.write(state('iso-good-2', 'SUCCESS')),
  ]);
  expect(results.map((r) => r.stored)).toEqual(['as-is', 'replaced', 'as-is']);
  expect(await stored('iso-good-1')).toMatchObject({ status: 'SUCCESS' });
  expect(await stored('iso-good-2')).toMatchObject({ status: 'SUCCESS' });
  expect((await stored('iso-bad'))?.status).toBeDefined();
  // The held-up batch is untouched by the other's isolation: still in flight, unsettled.
  expect(held).toEqual([]);
  expect(await waitingOnLock()).toBe(1);
  await lock.release();
  await eventually(() => expect(held).toEqual(['as-is']));
  expect(await store.close()).toBe(0);
});

/**
 * Over interleavings: writes of a few tasks' PROGRESS states (all the same rank, so the SQL guard
 * would accept them in any order), spread over turns, with batches of different sizes (filler
 * rows) so that a later batch can commit before an earlier one. Each task must end with its last
 * state stored, and its states must commit in the order written.
 */
test('property: over interleavings, every task ends with its last state and commits its states in order', async () => {
  const store = await storeOnPool(3);
  const op = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), task: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ kind: fc.constant('fill' as const), rows: fc.integer({ min: 1, max: 400 }) }),
    fc.record({ kind: fc.constant('turn' as const) }),
  );
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
      run++;
      const last = new Map<string, number>();
      const commits = new Map<string, number[]>();
      const onCommitted = (updates: StateUpdate[]) => {
        for (const u of updates) {
          const step = (u.meta as { step?: number } | undefined)?.step;
          if (step !== undefined) commits.set(u.taskId, [...(commits.get(u.taskId) ?? []), step]);
        }
      };
      store.on('committed', onCommitted);
      const waits: Promise<WriteResult>[] = [];
      let step = 0;
      let fill = 0;
      for (const o of ops) {
        if (o.kind === 'write') {
          const id = `p${run}-t${o.task}`;
          last.set(id, ++step);
          waits.push(store.write(state(id, 'PROGRESS', { step })));
        } else if (o.kind === 'fill') {
          for (let i = 0; i < o.rows; i++) store.writeLater(state(`p${run}-f${fill++}`, 'SUCCESS'));
          await store.flush(0).catch(() => false); // releases the deferred rows now
        } else await new Promise((r) => setImmediate(r));
      }
      await Promise.all(waits);
      expect(await store.flush()).toBe(true);
      store.off('committed', onCommitted);
      for (const [id, lastStep] of last) {
        expect((await stored(id))?.meta).toEqual({ step: lastStep });
        const seen = commits.get(id) ?? [];
        expect(seen).toEqual([...seen].sort((a, b) => a - b));
      }
    }),
    { seed: 20261207, numRuns: 40 },
  );
  await store.close();
}, 60_000);
