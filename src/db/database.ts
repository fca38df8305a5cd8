import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { ConfigError } from '../errors';
import { redactUrl, type ResolvedConfig } from '../config';
import { pg } from './pg';
import type { Sql } from './sql';

/** Runs one statement inside a transaction; answers its rows. */
export type TxQuery = (text: string, values?: unknown[]) => Promise<any[]>;

/**
 * What the worker, the sender and the admin's reads need of Postgres: statements (named ones are
 * prepared), the count a DELETE changed, and short transactions. A pg pool serves it directly, so
 * a worker never loads TypeORM (295 modules, ~2.8 MB of JavaScript, measured in bench/ANALYSIS.md);
 * TypeORM loads only for what needs it: migrations, beat, the admin's schedule CRUD, or a host
 * app's own DataSource.
 */
export interface Database extends Sql {
  /** Rows and the number of rows the statement changed (DELETE, UPDATE). */
  execute<T = any>(text: string, values?: unknown[]): Promise<{ rows: T[]; rowCount: number }>;
  /** Runs `fn` in one transaction on one session: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (q: TxQuery) => Promise<T>): Promise<T>;
  /**
   * Ends the connections this process opened for Celeriac (never a host app's DataSource), giving
   * statements still running `ms` to finish; false when some were cut.
   */
  close(ms: number): Promise<boolean>;
  /**
   * Connections the pool may open (its max), or undefined when there is no pool (PGlite's one
   * session): the result store keeps one free beside its batches in flight (batches-in-flight.ts).
   */
  readonly poolSize?: number;
}

/** The pool a worker uses on DATABASE_URL: one connection is made first, so a wrong URL fails start-up. */
export async function openPool(config: ResolvedConfig): Promise<Database> {
  if (!config.databaseUrl) {
    throw new ConfigError(
      'databaseUrl',
      'results and schedules live in Postgres: set DATABASE_URL (postgres://user:pass@host:5432/db), pass databaseUrl, or pass a TypeORM dataSource',
    );
  }
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: 10,
    // A query waits at most this long for a free connection or a new one (pg's default is forever),
    // so a Postgres that is away or a pool that is exhausted fails the call instead of hanging it.
    connectionTimeoutMillis: 10_000,
    application_name: `celeriac:${config.schema}`,
  });
  // An idle connection lost (a Postgres restart) must not crash the process: the next statement
  // gets a new one, and the store reports the outage from its own failed writes.
  pool.on('error', () => {});
  try {
    (await pool.connect()).release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw new ConfigError(
      'databaseUrl',
      `cannot connect to Postgres at ${redactUrl(config.databaseUrl)}: ${(err as Error).message}`,
    );
  }
  return poolDatabase(pool, true);
}

/**
 * A host app's (or the embedded) DataSource, initialised: its pg pool when it has one, else
 * (PGlite, one in-process session) its own query runners.
 */
export function databaseOf(ds: DataSource): Database {
  const master = (ds.driver as { master?: unknown }).master;
  if (isPgPool(master)) return poolDatabase(master, false);
  return {
    query: (_name, text, values) => ds.query(text, values),
    async execute(text, values) {
      // Structured results: DataSource.query hands back [rows, count] for DELETE and UPDATE.
      const runner = ds.createQueryRunner();
      try {
        const res = await runner.query(text, values, true);
        return { rows: res.records ?? [], rowCount: res.affected ?? 0 };
      } finally {
        await runner.release();
      }
    },
    transaction: (fn) =>
      ds.transaction((m) => fn(async (text, values) => (await m.queryRunner!.query(text, values, true)).records)),
    close: async () => true,
  };
}

function isPgPool(p: unknown): p is Pool {
  return !!p && typeof (p as Pool).query === 'function' && typeof (p as Pool).totalCount === 'number';
}

function poolDatabase(pool: Pool, owned: boolean): Database {
  return {
    async query(name, text, values, timeoutMs) {
      // query_timeout is pg's per-query option; its typings leave it out of QueryConfig.
      const res = await pool.query({ name, text, values, query_timeout: timeoutMs } as { text: string });
      return res.rows;
    },
    async execute(text, values) {
      const res = await pool.query(text, values);
      return { rows: res.rows, rowCount: res.rowCount ?? 0 };
    },
    transaction: (fn) => poolTransaction(pool, fn),
    close: (ms) => (owned ? endWithin(pool, pool.end(), ms) : Promise.resolve(true)),
    // pg-pool's own default when max is not given (10).
    poolSize: (pool as { options?: { max?: number } }).options?.max ?? 10,
  };
}

/** Runs `fn` in one transaction on one of the pool's sessions (beat's pool uses it too). */
export async function poolTransaction<T>(pool: Pool, fn: (q: TxQuery) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A session lost while checked out (Postgres restarted, the backend killed) is emitted as an
  // 'error' event on the client, and pg-pool listens only to idle ones: unheard, it is an
  // uncaught exception that ends the process. The statement in flight fails with it anyway.
  let lost: Error | undefined;
  const onLost = (err: Error) => void (lost = err);
  client.on('error', onLost);
  try {
    await client.query('BEGIN');
    const result = await fn(async (text, values) => (await client.query(text, values)).rows);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // FATAL: Postgres ends the session after this reply, before the socket's end is seen.
    if (!lost && isFatal(err)) lost = err as Error;
    if (!lost) await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.off('error', onLost);
    // A lost session is dropped from the pool, not handed to the next caller.
    client.release(lost);
  }
}

function isFatal(err: unknown): boolean {
  const severity = (err as { severity?: unknown })?.severity;
  return severity === 'FATAL' || severity === 'PANIC';
}

/**
 * Waits `ms` for a pool's end(): a Postgres that is up but wedged (a lock on the result table)
 * would otherwise hold close() until each statement's query_timeout. Past `ms` the sockets are
 * cut (Postgres rolls their transactions back), and the answer is false.
 */
export async function endWithin(pool: unknown, ended: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    ended.then(() => true),
    new Promise<false>((r) => (timer = setTimeout(() => r(false), ms))),
  ]);
  clearTimeout(timer);
  if (inTime) return true;
  // pg-pool keeps its clients in _clients; a client's socket is connection.stream.
  const clients = (pool as { _clients?: { connection?: { stream?: { destroy(): void } } }[] })?._clients;
  for (const client of clients ?? []) client.connection?.stream?.destroy();
  await ended.catch(() => {});
  return false;
}
