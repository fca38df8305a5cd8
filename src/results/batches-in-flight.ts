import { shown } from '../errors';

/**
 * How many result batches the store writes at once, each on its own pooled connection. With one,
 * the worker waits on Postgres whenever Postgres waits for a core: a minimal drain went from
 * 10,718 to 14,072 tasks/s with two (bench/ANALYSIS.md, sixth round, "floor-2"), but Celeriac's
 * W1 drain did not measurably gain (+4 % at 50,000, within noise; slower at 10,000: "inflight"),
 * so one stays the default and two is opt-in until measured better.
 */
export const DEFAULT_BATCHES_IN_FLIGHT = 1;
/** More would take most of the default pool (10 connections) from reads and the app's own queries. */
export const MAX_BATCHES_IN_FLIGHT = 8;

/** A batches-in-flight setting that is not a whole number from 1 to MAX_BATCHES_IN_FLIGHT. */
export class BatchesInFlightError extends RangeError {
  constructor(
    readonly key: string,
    value: unknown,
  ) {
    super(
      `${key}: expected a whole number from 1 to ${MAX_BATCHES_IN_FLIGHT} (1 writes one result batch at a time; default ${DEFAULT_BATCHES_IN_FLIGHT}), got ${shown(value)}`,
    );
    this.name = 'BatchesInFlightError';
  }
}

/** `n` itself when valid; throws BatchesInFlightError naming `key` otherwise. */
export function checkBatchesInFlight(key: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_BATCHES_IN_FLIGHT)
    throw new BatchesInFlightError(key, n);
  return n;
}

/**
 * Each batch in flight holds a pooled connection until Postgres answers (up to the statement
 * timeout when a lock holds it), so a pool no larger than the batches in flight could leave none
 * for reads, chord joins or, on a host app's DataSource, the app's own queries.
 */
export class PoolTooSmallError extends RangeError {
  constructor(
    readonly batchesInFlight: number,
    readonly poolSize: number,
  ) {
    super(
      `result batches in flight (${batchesInFlight}) need a pool of at least ${batchesInFlight + 1} connections, and this pool has ${poolSize}: raise the DataSource's poolSize (or the pool's max) to ${batchesInFlight + 1} or more, or lower resultBatchesInFlight`,
    );
    this.name = 'PoolTooSmallError';
  }
}

/**
 * Throws PoolTooSmallError unless the pool keeps a connection free beside `n` batches. One batch
 * (the default) is accepted on any pool, as before; `poolSize` undefined (one session, no pool)
 * is not checked.
 */
export function checkPoolFits(n: number, poolSize: number | undefined): void {
  if (n > 1 && poolSize !== undefined && poolSize <= n) throw new PoolTooSmallError(n, poolSize);
}
