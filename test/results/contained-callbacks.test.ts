import type { Celeriac } from '../../src';
import { MemoryBroker } from '../../src/broker/memory-broker';
import { ResultStore, type StateUpdate, type WriteResult } from '../../src/results/store';
import { Acker } from '../../src/worker/acker';
import type { Job } from '../../src/worker/pool';
import { cleanup, makeApp } from '../helpers';

/**
 * The worker's finish path settles a whole batch from one loop: the store's waiters once a batch
 * commits, the acker's once a pipeline of acks is answered. Those callbacks reach app code (a
 * logger, an 'error' or 'task-finished' listener). One that throws must neither hold back the
 * others of its batch nor be settled again.
 */
let app: Celeriac;
let store: ResultStore;
const logged: string[] = [];
beforeAll(async () => {
  app = await makeApp('contained_callbacks');
  store = new ResultStore(await app.dataSource(), app.config.schema, (level, message) =>
    logged.push(`${level}: ${message}`),
  );
});
afterAll(async () => {
  await store.close();
  await cleanup(app);
});

const row = (taskId: string, result: unknown): StateUpdate => ({
  taskId,
  status: 'SUCCESS',
  retries: 0,
  taskName: 'x.row',
  result,
  dateDone: new Date(),
});

test('a throwing waiter in a batch: every other waiter, of its task and of the rest, is called once; no outage', async () => {
  const calls = new Map<string, number>();
  const waiter =
    (name: string, throws = false) =>
    (_: WriteResult) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      if (throws) throw new Error(`${name} threw`);
    };
  const errors: Error[] = [];
  store.on('error', (err) => errors.push(err));
  // One turn, so one batch; 'b' has two waiters, the first of which throws.
  store.writeThen(row('cc-a', 1), waiter('a'));
  store.writeThen(row('cc-b', 2), waiter('b1', true));
  store.writeThen(row('cc-b', 2), waiter('b2'));
  store.writeThen(row('cc-c', 3), waiter('c'));
  expect(await store.flush()).toBe(true);
  expect(Object.fromEntries(calls)).toEqual({ a: 1, b1: 1, b2: 1, c: 1 });
  // The throw was not taken for Postgres failing: no outage, no retry.
  expect(errors).toEqual([]);
  expect(store.health().postgres).toMatchObject({ down: false, outages: 0 });
  expect(logged.filter((l) => l.startsWith('error:'))).toEqual([
    'error: a callback waiting on the result store threw; ignored (its state is stored as reported)',
  ]);
});

test('a row Postgres refuses, stored as its replacement: a waiter that throws is settled once, not again as the next replacement', async () => {
  const results: WriteResult[] = [];
  store.writeThen(row('cc-nul', { text: 'x\u0000y' }), (r) => {
    results.push(r);
    throw new Error('waiter threw');
  });
  store.writeThen(row('cc-good', 1), (r) => results.push(r));
  expect(await store.flush()).toBe(true);
  expect(results.map((r) => r.stored).sort()).toEqual(['as-is', 'replaced']);
});

test('a throwing done() in an ack batch: every job of the batch is let go of and every other done() called', async () => {
  const released: string[] = [];
  const done: string[] = [];
  const errors: string[] = [];
  const acker = new Acker(
    new MemoryBroker(),
    'consumer-1',
    (j) => released.push(j.msg.raw),
    (message) => errors.push(message),
  );
  const jobs = [1, 2, 3].map((i) => ({ acked: false, msg: { raw: `m${i}` }, redeliveries: 0 }) as unknown as Job);
  for (const j of jobs)
    acker.ackThen(j, () => {
      done.push(j.msg.raw);
      if (j.msg.raw === 'm1') throw new Error('done threw');
    });
  expect(await acker.drain(5_000)).toBe(true);
  expect(released).toEqual(['m1', 'm2', 'm3']);
  expect(done).toEqual(['m1', 'm2', 'm3']);
  expect(errors).toEqual(['a callback waiting on an ack threw; ignored (the ack was sent)']);
});
