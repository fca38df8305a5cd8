import type { Sql } from '../db/sql';
import type { ResultTables } from './tables';
import { classifyDbError, describeDbError } from '../db/db-errors';
import { minimalReplacement, replacementFor } from './replacement';
import { stateSeq } from './state-rules';
import type { StateUpdate } from './rows';

/** A state to write and its rank (state-rules.ts); the store's queued rows carry more (pending.ts). */
export interface Row {
  update: StateUpdate;
  seq: number;
}

/** How a state ended up in the table. */
export type WriteResult =
  | { stored: 'as-is' }
  /** Postgres refused the row; `update` was written instead (see replacement.ts). */
  | { stored: 'replaced'; update: StateUpdate; reason: string }
  /** Not even a replacement can be stored (the task id itself does not fit): nothing was written. */
  | { stored: 'dropped'; reason: string }
  /** The store closed before Postgres took it: nothing was written, and a worker must not ack. */
  | { stored: 'abandoned'; reason: string };

/**
 * A write that must be tried again as it is: Postgres is away or lost a race (`transient`), or
 * the store itself refuses even a row stripped to its id (`broken`: a missing table, no
 * permission). Either way the rows not yet settled are kept.
 */
export class StoreWriteError extends Error {
  constructor(
    readonly kind: 'transient' | 'broken',
    readonly cause: unknown,
  ) {
    super(describeDbError(cause));
  }
}

/** Every row committed as it is gets this one result (callers only read it): not an object a row. */
const AS_IS: WriteResult = Object.freeze({ stored: 'as-is' });

/** After a batch of hinted rows that were mostly missing, this many batches go straight to the upsert. */
const HINT_BACKOFF_BATCHES = 20;
/** A result batch statement gives up after this long (pg's query_timeout; the write is retried). */
export const STATEMENT_TIMEOUT_MS = 30_000;

/**
 * Writes one batch of states. A batch Postgres refuses for its data is split in halves until the
 * row at fault is found; that row is written again as its replacement (replacement.ts) and every
 * other row commits, so one value Postgres cannot hold never holds back the states around it
 * (before, the whole batch was retried forever and every later task stayed PENDING). Each
 * statement takes its row locks in task-id order (sql.ts), so two writers cannot deadlock.
 */
export class BatchWriter {
  /** Batches left before hinted rows are tried with the narrow update again (see HINT_BACKOFF_BATCHES). */
  private hintsIgnored = 0;

  constructor(
    private readonly sql: Sql,
    private readonly statements: Pick<ResultTables, 'key' | 'upsert' | 'updateKnown'>,
  ) {}

  /**
   * Settles every row of `batch` (calling `settle` as each commits), or throws StoreWriteError
   * with the rows not settled yet left for the caller to keep.
   */
  async write<P extends Row>(batch: P[], settle: (p: P, result: WriteResult) => void): Promise<void> {
    let rest: P[];
    try {
      rest = await this.writeHinted(batch);
      if (rest.length > 0) await this.upsert(rest.map(toRecord));
    } catch (err) {
      if (classifyDbError(err) === 'transient') throw new StoreWriteError('transient', err);
      return this.isolate(batch, settle);
    }
    for (const p of batch) settle(p, AS_IS);
  }

  /**
   * Rows hinted to exist go through the narrow update first; if any of them was not there, the
   * whole batch goes through the upsert (rows the update already wrote are written again to the
   * same values: the seq guard admits an equal seq), so a wrong hint never loses a state. Senders
   * that record no PENDING would miss every time, so after a mostly-missing batch the hints are
   * ignored for a while. Returns the rows still to upsert.
   */
  private async writeHinted<P extends Row>(batch: P[]): Promise<P[]> {
    if (this.hintsIgnored > 0) {
      this.hintsIgnored--;
      return batch;
    }
    const known = batch.filter((p) => p.update.rowExists);
    if (known.length === 0) return batch;
    const [{ n }] = await this.sql.query(
      `${this.statements.key}_update_known`,
      this.statements.updateKnown,
      [JSON.stringify(known.map(toFinishRecord))],
      STATEMENT_TIMEOUT_MS,
    );
    if (n < known.length / 2) this.hintsIgnored = HINT_BACKOFF_BATCHES;
    if (n === batch.length) return [];
    if (n === known.length) return batch.filter((p) => !p.update.rowExists);
    return batch;
  }

  private async upsert(records: Record<string, unknown>[]): Promise<void> {
    await this.sql.query(
      `${this.statements.key}_upsert`,
      this.statements.upsert,
      [JSON.stringify(records)],
      STATEMENT_TIMEOUT_MS,
    );
  }

  /** The batch failed on its data: halves until single rows, each half committed on its own. */
  private async isolate<P extends Row>(rows: P[], settle: (p: P, result: WriteResult) => void): Promise<void> {
    if (rows.length === 1) return this.writeAlone(rows[0], settle);
    const mid = rows.length >> 1;
    for (const half of [rows.slice(0, mid), rows.slice(mid)]) {
      try {
        await this.upsert(half.map(toRecord));
      } catch (err) {
        if (classifyDbError(err) === 'transient') throw new StoreWriteError('transient', err);
        await this.isolate(half, settle);
        continue;
      }
      for (const p of half) settle(p, AS_IS);
    }
  }

  private async writeAlone<P extends Row>(p: P, settle: (p: P, result: WriteResult) => void): Promise<void> {
    // settle() is called outside each try: a throw from it is not Postgres refusing the row, and
    // taking it for one settled the row again as its replacement.
    let failure: unknown;
    try {
      await this.upsert([toRecord(p)]);
      failure = undefined;
    } catch (err) {
      if (classifyDbError(err) === 'transient') throw new StoreWriteError('transient', err);
      failure = err ?? new Error('the upsert failed with no error');
    }
    if (failure === undefined) return settle(p, AS_IS);
    const replacement = replacementFor(p.update, failure);
    if (!replacement) {
      return settle(p, {
        stored: 'dropped',
        reason: `NotStorableError: the task id is not something Postgres can store (${describeDbError(failure)})`,
      });
    }
    const minimal = minimalReplacement(p.update, failure);
    for (const r of replacement.reason === minimal.reason ? [minimal] : [replacement, minimal]) {
      try {
        await this.upsert([toRecord({ update: r.update, seq: stateSeq(r.update.status, r.update.retries) })]);
      } catch (err) {
        if (classifyDbError(err) === 'transient') throw new StoreWriteError('transient', err);
        failure = err;
        continue;
      }
      return settle(p, { stored: 'replaced', update: r.update, reason: r.reason });
    }
    // Not even the id and the state went in: the fault is the store's (a missing table, no
    // permission), not this row's.
    throw new StoreWriteError('broken', failure);
  }
}

/**
 * One row of the upsert's JSON parameter, keyed as sql.ts RECORD_KEY says. Keys left undefined
 * are dropped by JSON.stringify and read as SQL NULL; a task's null result is stored as NULL too.
 * Dates go in as epoch milliseconds: a Date made JSON.stringify call its toJSON, which took the
 * whole record off V8's fast path (6.2 µs per record with Date objects, 1.8 µs with ISO strings),
 * and ISO text cost the worker a toISOString per date and Postgres a timestamptz_in.
 */
export function toRecord({ update: u, seq }: Row): Record<string, unknown> {
  return {
    id: u.taskId,
    st: u.status,
    sq: seq,
    tn: u.taskName,
    pt: u.periodicTaskName,
    a: u.args,
    kw: u.kwargs,
    r: u.result,
    tb: u.traceback,
    m: u.meta,
    w: u.worker,
    qu: u.queue,
    re: u.retries,
    pa: u.parentId,
    ro: u.rootId,
    gr: u.groupId,
    dc: u.dateCreated ? epochMs(u.dateCreated) : Date.now(),
    ds: u.dateStarted ? epochMs(u.dateStarted) : undefined,
    dd: u.dateDone ? epochMs(u.dateDone) : undefined,
  };
}

/** One row of updateKnownResults' parameter: only the columns a state changes. */
function toFinishRecord({ update: u, seq }: Row): Record<string, unknown> {
  return {
    id: u.taskId,
    st: u.status,
    sq: seq,
    r: u.result,
    tb: u.traceback,
    m: u.meta,
    w: u.worker,
    re: u.retries,
    ds: u.dateStarted ? epochMs(u.dateStarted) : undefined,
    dd: u.dateDone ? epochMs(u.dateDone) : undefined,
  };
}

/** A date's instant; an invalid date is refused as toISOString refused it (JSON would make it NULL). */
function epochMs(date: Date): number {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new RangeError('Invalid time value');
  return ms;
}
