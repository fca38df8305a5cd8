/**
 * What a failed statement means (a result write; a beat's tick, whose transient failures are one
 * outage rather than one error line each), by its SQLSTATE (Postgres appendix A) or, for errors
 * raised before Postgres answered, by node-postgres' message:
 *
 * - `transient`: the write may succeed as it is if tried again: the connection is gone or not
 *   there yet (class 08, 57P01–57P03 server shutting down or starting, 53300 too many
 *   connections, a pool or read timeout), or it lost a race (40001 serialization, 40P01 deadlock,
 *   55P03 lock not available). Retried whole, with backoff.
 * - `data`: this batch holds a value Postgres refuses (class 22 data exception, 23 constraint,
 *   54 program limit such as nesting too deep). It fails the same way every time, so the batch is
 *   split until the row is found.
 * - `other`: anything else (a missing table, no permission, a bug of ours). Treated as data: if
 *   one row fails alone and its stripped-down replacement fails too, the store itself is broken
 *   and the batch is kept and retried like a transient failure.
 */
export type DbErrorKind = 'transient' | 'data' | 'other';

const TRANSIENT_CODES = new Set(['40001', '40P01', '55P03', '57P01', '57P02', '57P03', '53300', '57014']);
const TRANSIENT_MESSAGE =
  /timeout exceeded when trying to connect|Query read timeout|Connection terminated|connection error|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|not queryable|Client was closed|terminating connection|the database system is (starting up|shutting down)|Connection is not established|Cannot use a pool after calling end/i;

export function classifyDbError(err: unknown): DbErrorKind {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    if (code.startsWith('08') || TRANSIENT_CODES.has(code)) return 'transient';
    if (code.startsWith('22') || code.startsWith('23') || code.startsWith('54')) return 'data';
    return 'other';
  }
  const message = err instanceof Error ? err.message : String(err);
  if (TRANSIENT_MESSAGE.test(message) || (typeof code === 'string' && /^E[A-Z]+$/.test(code))) return 'transient';
  return 'other';
}

/** The error as one line for a log or a stored reason: SQLSTATE first when there is one. */
export function describeDbError(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? `${code} ${message}` : message;
}
