import type { Celeriac } from '../../src';
import type { Database } from '../../src/db/database';
import { cleanup, makeApp } from '../helpers';

/**
 * A session lost inside a transaction (Postgres restarted, the backend killed) fails that
 * transaction and nothing more. pg emits the loss as an 'error' event on the client checked out
 * for it, and pg-pool listens only to idle clients: with no listener of ours, that event was an
 * uncaught exception that ended the worker (RabbitMQ chord joins, Django's chord counter, beat).
 */
let app: Celeriac;
let db: Database;
const uncaught: unknown[] = [];
const note = (err: unknown) => void uncaught.push(err);
beforeAll(async () => {
  app = await makeApp('pg_session_lost');
  db = await app.database();
  process.on('uncaughtException', note);
});
afterAll(async () => {
  process.off('uncaughtException', note);
  await cleanup(app);
});

test('a transaction whose session is killed rejects, the process goes on, and the pool serves the next one', async () => {
  for (let i = 0; i < 3; i++) {
    const lost = db.transaction(async (q) => {
      await q('SELECT 1');
      await q('SELECT pg_terminate_backend(pg_backend_pid())');
      return 'committed';
    });
    await expect(lost).rejects.toThrow(/terminat/i);
  }
  expect(await db.transaction(async (q) => (await q('SELECT 41 + 1 AS n'))[0].n)).toBe(42);
  expect(await db.query(undefined, 'SELECT 1 AS one', [])).toEqual([{ one: 1 }]);
  // The 'end' that follows the error is handled on the next turns: let them run before looking.
  await db.transaction(async (q) => q('SELECT 1'));
  expect(uncaught).toEqual([]);
});
