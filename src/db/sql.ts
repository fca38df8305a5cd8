/**
 * Runs a hot statement by name (undefined: unnamed, planned each time). Hot statements (result
 * writes, status reads, beat claims) run as named prepared statements on the pg pool, never
 * through TypeORM: measured here, a one-row result upsert took 1.5 ms through `DataSource.query`
 * and 0.72 ms prepared on the pool, which is most of a task's round trip. Drivers without a pg
 * pool (PGlite) run them through `DataSource.query` (./database.ts).
 */
export interface Sql {
  /** `timeoutMs`: give up on the answer after this long; the connection is then replaced. */
  query<T = any>(name: string | undefined, text: string, values: unknown[], timeoutMs?: number): Promise<T[]>;
}
