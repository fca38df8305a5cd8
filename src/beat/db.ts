import type { Client, Pool, ClientConfig, PoolConfig } from 'pg';
import type { DataSource } from 'typeorm';
import type { Statement } from './sql/statement';
import { poolTransaction, type TxQuery } from '../db/database';
import { pg } from '../db/pg';

export type { TxQuery } from '../db/database';

/**
 * Beat's own connections, apart from the app's pool:
 * - a small pool whose sessions carry `celeriac.beat=on`, which the periodic_task trigger
 *   reads to tell a beat's bookkeeping (moving next_run_at) from a person moving a run by hand,
 *   and which keeps web requests and beat ticks from queueing behind each other;
 * - connection settings for the dedicated LISTEN session (src/beat/listener.ts).
 * With a driver that has no pg pool (PGlite, one in-process session) beat runs its statements
 * through the DataSource and polls instead of listening.
 */
export class BeatDb {
  private constructor(
    private readonly pool: Pool | null,
    private readonly ds: DataSource,
    /** Settings for a LISTEN session, or null when the driver cannot have one. */
    readonly listenConfig: ClientConfig | null,
  ) {}

  static open(ds: DataSource, name: string): BeatDb {
    const master = (ds.driver as { master?: { options?: PoolConfig; query?: unknown; totalCount?: unknown } }).master;
    const isPgPool =
      !!master && typeof master.query === 'function' && typeof master.totalCount === 'number' && !!master.options;
    if (!isPgPool) return new BeatDb(null, ds, null);
    const base: PoolConfig = { ...master!.options };
    const applicationName = `celeriac-beat:${name}`.slice(0, 63);
    // plan_cache_mode: the hot statements take arrays (unnest), and after five executions
    // Postgres switches a prepared statement to a generic plan that cannot see their length;
    // measured here, a 1,000-run claim went from ~100 ms to ~700 ms. Planning each time is cheap.
    const options = [base.options, '-c celeriac.beat=on', '-c plan_cache_mode=force_custom_plan']
      .filter(Boolean)
      .join(' ');
    const pool = new pg.Pool({
      ...base,
      // A tick's read and two claims or two re-planning writes (./tick.ts, ./planner.ts), an
      // outbox delete and the heartbeat.
      max: 5,
      min: 0,
      idleTimeoutMillis: 30_000,
      application_name: applicationName,
      options,
    });
    // An idle client losing its connection (a Postgres restart) must not crash the process;
    // the next query gets a fresh one and reports any error to the tick that made it.
    pool.on('error', () => {});
    const {
      max: _max,
      min: _min,
      idleTimeoutMillis: _idle,
      maxUses: _uses,
      allowExitOnIdle: _exit,
      maxLifetimeSeconds: _life,
      ...client
    } = base as PoolConfig & {
      maxLifetimeSeconds?: number;
    };
    return new BeatDb(pool, ds, {
      ...client,
      application_name: `${applicationName}:listen`.slice(0, 63),
    } as ClientConfig);
  }

  /** Runs a statement; `name` prepares it once per connection when on a pg pool. */
  async query<T = any>(name: string, text: string, values: unknown[]): Promise<T[]> {
    if (!this.pool) {
      // Structured results: DataSource.query hands back [rows, count] for UPDATE … RETURNING.
      const runner = this.ds.createQueryRunner();
      try {
        return (await runner.query(text, values, true)).records as T[];
      } finally {
        await runner.release();
      }
    }
    const res = await this.pool.query({ name, text, values });
    return res.rows as T[];
  }

  /** Runs one of beat's named statements (./sql/) with its typed input. */
  run<Row>(statement: Statement<void, Row>): Promise<Row[]>;
  run<In, Row>(statement: Statement<In, Row>, input: In): Promise<Row[]>;
  run<In, Row>(statement: Statement<In, Row>, input?: In): Promise<Row[]> {
    return this.query<Row>(statement.name, statement.text, statement.params(input as In));
  }

  /** Runs `fn` in one transaction on one session. */
  async transaction<T>(fn: (q: TxQuery) => Promise<T>): Promise<T> {
    if (!this.pool)
      return this.ds.transaction(async (m) =>
        fn(async (text, values) => (await m.queryRunner!.query(text, values, true)).records),
      );
    return poolTransaction(this.pool, fn);
  }

  newListenClient(): Client | null {
    return this.listenConfig ? new pg.Client(this.listenConfig) : null;
  }

  async close(): Promise<void> {
    await this.pool?.end().catch(() => {});
  }
}
