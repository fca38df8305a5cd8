import { EventEmitter } from 'node:events';
import type { DataSource } from 'typeorm';
import { sqlFor, type Sql } from '../db/sql';
import {
  deleteExpiredBatch,
  deleteExpiredGroups,
  deleteGroup,
  deleteResult,
  deleteStaleBatch,
  insertGroup,
  markRevoked,
  selectChildren,
  selectGroup,
  selectResults,
  updateKnownResults,
  upsertResults,
} from './sql';
import { stateSeq, type TaskState } from './states';

/** One state change of one task, as the sender or a worker knows it. */
export interface StateUpdate {
  taskId: string;
  status: TaskState;
  retries: number;
  taskName?: string | null;
  periodicTaskName?: string | null;
  args?: unknown[] | null;
  kwargs?: Record<string, unknown> | null;
  result?: unknown;
  traceback?: string | null;
  meta?: Record<string, unknown> | null;
  worker?: string | null;
  queue?: string | null;
  parentId?: string | null;
  rootId?: string | null;
  groupId?: string | null;
  dateCreated?: Date | null;
  dateStarted?: Date | null;
  dateDone?: Date | null;
  /**
   * A hint that the row already exists with its descriptive columns (name, args, queue, …), so
   * only the changing ones need writing. A wrong hint costs one more statement, never a wrong row.
   */
  rowExists?: boolean;
}

export interface TaskResultRow {
  taskId: string;
  taskName: string | null;
  periodicTaskName: string | null;
  status: TaskState;
  args: unknown[] | null;
  kwargs: Record<string, unknown> | null;
  result: unknown;
  traceback: string | null;
  meta: Record<string, unknown> | null;
  worker: string | null;
  queue: string | null;
  retries: number;
  parentId: string | null;
  rootId: string | null;
  groupId: string | null;
  dateCreated: Date;
  dateStarted: Date | null;
  dateDone: Date | null;
  dateChanged: Date;
}

interface Pending {
  update: StateUpdate;
  seq: number;
  waiters: (() => void)[];
}

const DEFER_MS = 25;
/** After a batch of hinted rows that were mostly missing, this many batches go straight to the upsert. */
const HINT_BACKOFF_BATCHES = 20;

export interface ResultStoreEvents {
  committed: [updates: StateUpdate[]];
  error: [err: Error];
}

/**
 * Writes task states in batches ("group commit"): a write made while another batch is in flight
 * waits for the next one, so an idle system writes each state at once (low latency) and a busy
 * one writes hundreds per statement (high throughput). Writes for the same task in one batch
 * collapse into its latest state. A write's promise resolves only once committed; while Postgres
 * is away the batch is kept and retried, which is why workers ack only after it resolves.
 */
export class ResultStore extends EventEmitter<ResultStoreEvents> {
  private pending = new Map<string, Pending>();
  private deferred: StateUpdate[] = [];
  private deferTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private inFlight = 0;
  private retryDelayMs = 100;
  private closed = false;
  readonly maxBatch = 2000;
  private readonly sql: Sql;
  private readonly statements: { upsert: string; updateKnown: string; select: string };
  /** Batches left before hinted rows are tried with the narrow update again (see HINT_BACKOFF_BATCHES). */
  private hintsIgnored = 0;

  constructor(
    private readonly ds: DataSource,
    private readonly schema: string,
  ) {
    super();
    this.sql = sqlFor(ds);
    this.statements = {
      upsert: upsertResults(schema),
      updateKnown: updateKnownResults(schema),
      select: selectResults(schema),
    };
  }

  /** Resolves when the state (or a later one of the same task) is committed. */
  write(update: StateUpdate): Promise<void> {
    return new Promise((resolve) => {
      const seq = stateSeq(update.status, update.retries);
      const existing = this.pending.get(update.taskId);
      if (existing) {
        existing.waiters.push(resolve);
        existing.update = seq >= existing.seq ? merge(existing.update, update) : merge(update, existing.update);
        existing.seq = Math.max(seq, existing.seq);
      } else {
        this.pending.set(update.taskId, { update, seq, waiters: [resolve] });
      }
      this.schedule();
    });
  }

  /**
   * For writes nobody waits on (PENDING at send): held back DEFER_MS, then batched. A worker
   * that finishes the task first commits its final state without waiting on our uncommitted
   * insert of the same row (measured: that wait was most of a round trip's p50), and the late
   * PENDING then changes nothing (`seq`). `get()`/`flush()` in this process still see it at once.
   */
  writeLater(update: StateUpdate): void {
    this.deferred.push(update);
    this.deferTimer ??= setTimeout(() => this.releaseDeferred(), DEFER_MS);
  }

  private releaseDeferred(): void {
    clearTimeout(this.deferTimer);
    this.deferTimer = undefined;
    const batch = this.deferred;
    this.deferred = [];
    for (const u of batch) void this.write(u);
  }

  private schedule(): void {
    if (this.flushing) return;
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.size > 0 && !this.closed) {
        const batch = this.take();
        this.inFlight = batch.length;
        try {
          await this.writeBatch(batch);
          this.inFlight = 0;
          this.retryDelayMs = 100;
          for (const p of batch) for (const w of p.waiters) w();
          this.emit(
            'committed',
            batch.map((p) => p.update),
          );
        } catch (err) {
          // Keep the batch: merge it back under anything written meanwhile, then back off.
          this.inFlight = 0;
          for (const p of batch) this.restore(p);
          this.emit('error', explain(err as Error, this.schema));
          await new Promise((r) => setTimeout(r, this.retryDelayMs));
          this.retryDelayMs = Math.min(this.retryDelayMs * 2, 5000);
        }
      }
    } finally {
      this.flushing = undefined;
      if (this.pending.size > 0 && !this.closed) this.schedule();
    }
  }

  /**
   * Rows hinted to exist go through the narrow update first; if any of them was not there, the
   * whole batch goes through the upsert (rows the update already wrote are written again to the
   * same values: the seq guard admits an equal seq), so a wrong hint never loses a state. Senders
   * that record no PENDING would miss every time, so after a mostly-missing batch the hints are
   * ignored for a while.
   */
  private async writeBatch(batch: Pending[]): Promise<void> {
    if (this.hintsIgnored > 0) this.hintsIgnored--;
    else {
      const known = batch.filter((p) => p.update.rowExists);
      if (known.length > 0) {
        const [{ n }] = await this.sql.query(`celeriac_update_known_${this.schema}`, this.statements.updateKnown, [
          JSON.stringify(known.map(toFinishRecord)),
        ]);
        if (n < known.length / 2) this.hintsIgnored = HINT_BACKOFF_BATCHES;
        if (n === batch.length) return;
        if (n === known.length) batch = batch.filter((p) => !p.update.rowExists);
      }
    }
    await this.sql.query(`celeriac_upsert_${this.schema}`, this.statements.upsert, [
      JSON.stringify(batch.map(toRecord)),
    ]);
  }

  private take(): Pending[] {
    const batch: Pending[] = [];
    for (const [id, p] of this.pending) {
      batch.push(p);
      this.pending.delete(id);
      if (batch.length >= this.maxBatch) break;
    }
    return batch;
  }

  private restore(p: Pending): void {
    const newer = this.pending.get(p.update.taskId);
    if (!newer) {
      this.pending.set(p.update.taskId, p);
      return;
    }
    newer.waiters.push(...p.waiters);
    newer.update = newer.seq >= p.seq ? merge(p.update, newer.update) : merge(newer.update, p.update);
    newer.seq = Math.max(newer.seq, p.seq);
  }

  /**
   * Resolves true when everything written so far is committed, or false if that has not
   * happened within `timeoutMs` (Postgres away): the writes stay queued and keep being retried.
   */
  async flush(timeoutMs = Infinity): Promise<boolean> {
    if (this.deferred.length > 0) this.releaseDeferred();
    const deadline = Date.now() + timeoutMs;
    while (this.flushing || this.pending.size > 0) {
      if (this.closed) return this.pending.size === 0;
      if (!this.flushing) this.schedule();
      const left = deadline - Date.now();
      if (left <= 0) return false;
      if (left === Infinity) {
        await this.flushing;
        continue;
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.flushing, new Promise((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
    return true;
  }

  /** Writes not yet committed, including a batch whose statement is in flight. */
  get backlog(): number {
    return this.pending.size + this.deferred.length + this.inFlight;
  }

  async get(taskId: string): Promise<TaskResultRow | null> {
    const [row] = await this.getMany([taskId]);
    return row ?? null;
  }

  async getMany(taskIds: string[]): Promise<TaskResultRow[]> {
    const rows: any[] = await this.sql.query(`celeriac_select_${this.schema}`, this.statements.select, [taskIds]);
    return rows.map(toRow);
  }

  /** A group's member ids in order (django-celery-results' GroupResult), written before its members are sent. */
  async saveGroup(groupId: string, taskIds: string[]): Promise<void> {
    await this.ds.query(insertGroup(this.schema), [groupId, JSON.stringify(taskIds)]);
  }

  async groupTaskIds(groupId: string): Promise<string[] | null> {
    const rows: { task_ids: string[] }[] = await this.sql.query(
      `celeriac_group_${this.schema}`,
      selectGroup(this.schema),
      [groupId],
    );
    return rows[0]?.task_ids ?? null;
  }

  async forgetGroup(groupId: string): Promise<void> {
    await this.ds.query(deleteGroup(this.schema), [groupId]);
  }

  /** Ids of the tasks whose parent is `taskId`, oldest first, at most `limit`. */
  async childIds(taskId: string, limit = 10_000): Promise<string[]> {
    const rows: { task_id: string }[] = await this.ds.query(selectChildren(this.schema), [taskId, limit]);
    return rows.map((r) => r.task_id);
  }

  /**
   * Deletes results finished before `before`, then rows never finished and unchanged since then,
   * `batchSize` rows per statement. A task that still runs later writes its whole row again (the
   * message carries its name and arguments); until then its id reads UNKNOWN instead of PENDING.
   */
  async deleteExpired(before: Date, batchSize = 10_000): Promise<{ finished: number; unfinished: number }> {
    const finished = await this.deleteInBatches(deleteExpiredBatch(this.schema), before, batchSize);
    const unfinished = await this.deleteInBatches(deleteStaleBatch(this.schema), before, batchSize);
    await this.ds.query(deleteExpiredGroups(this.schema), [before.toISOString()]);
    return { finished, unfinished };
  }

  private async deleteInBatches(statement: string, before: Date, batchSize: number): Promise<number> {
    let total = 0;
    for (;;) {
      const [, count] = (await this.ds.query(statement, [before.toISOString(), batchSize])) as [unknown, number];
      total += count;
      if (count < batchSize) return total;
    }
  }

  async markRevoked(taskIds: string[]): Promise<void> {
    await this.flush();
    await this.ds.query(markRevoked(this.schema), [taskIds]);
  }

  async forget(taskId: string): Promise<void> {
    this.pending.delete(taskId);
    await this.ds.query(deleteResult(this.schema), [taskId]);
  }

  /**
   * Waits up to `timeoutMs` for queued writes, then stops retrying. Returns how many were dropped:
   * a worker never acks a task whose result was not written, so its message is run again later.
   */
  async close(timeoutMs = 10_000): Promise<number> {
    await this.flush(timeoutMs);
    this.closed = true;
    const dropped = this.pending.size + this.deferred.length;
    this.pending.clear();
    this.deferred = [];
    clearTimeout(this.deferTimer);
    return dropped;
  }
}

/** Postgres' own words, plus what to do when the cause is ours to name. */
function explain(err: Error, schema: string): Error {
  const code = (err as { code?: string }).code;
  if (code === '42P01' || code === '3F000') {
    return new Error(
      `${err.message}: the result table is missing in schema '${schema}'. Run \`celeriac migrate --app <module>\` (or celeriac.migrate()); writes are kept and retried.`,
    );
  }
  return err;
}

/** Fields of `later` win; fields it leaves undefined keep `earlier`'s. */
function merge(earlier: StateUpdate, later: StateUpdate): StateUpdate {
  const out: StateUpdate = { ...earlier };
  for (const [k, v] of Object.entries(later)) if (v !== undefined) (out as any)[k] = v;
  return out;
}

/**
 * One row of the upsert's JSON parameter (sql.ts). Keys left undefined are dropped by
 * JSON.stringify and read as SQL NULL; a task's null result is stored as NULL too. Dates go in as
 * ISO strings: a Date makes JSON.stringify call its toJSON, which took the whole record off V8's
 * fast path (measured: 6.2 µs per record with Date objects, 1.8 µs with strings).
 */
function toRecord({ update: u, seq }: Pending): Record<string, unknown> {
  return {
    task_id: u.taskId,
    status: u.status,
    seq,
    task_name: u.taskName,
    periodic_task_name: u.periodicTaskName,
    args: u.args,
    kwargs: u.kwargs,
    result: u.result,
    traceback: u.traceback,
    meta: u.meta,
    worker: u.worker,
    queue: u.queue,
    retries: u.retries,
    parent_id: u.parentId,
    root_id: u.rootId,
    group_id: u.groupId,
    date_created: (u.dateCreated ?? new Date()).toISOString(),
    date_started: u.dateStarted?.toISOString(),
    date_done: u.dateDone?.toISOString(),
  };
}

/** One row of updateKnownResults' parameter: only the columns a state changes. */
function toFinishRecord({ update: u, seq }: Pending): Record<string, unknown> {
  return {
    task_id: u.taskId,
    status: u.status,
    seq,
    result: u.result,
    traceback: u.traceback,
    meta: u.meta,
    worker: u.worker,
    retries: u.retries,
    date_started: u.dateStarted?.toISOString(),
    date_done: u.dateDone?.toISOString(),
  };
}

function toRow(r: any): TaskResultRow {
  return {
    taskId: r.task_id,
    taskName: r.task_name,
    periodicTaskName: r.periodic_task_name,
    status: r.status,
    args: r.args,
    kwargs: r.kwargs,
    result: r.result,
    traceback: r.traceback,
    meta: r.meta,
    worker: r.worker,
    queue: r.queue,
    retries: r.retries,
    parentId: r.parent_id,
    rootId: r.root_id,
    groupId: r.group_id,
    dateCreated: new Date(r.date_created),
    dateStarted: r.date_started ? new Date(r.date_started) : null,
    dateDone: r.date_done ? new Date(r.date_done) : null,
    dateChanged: new Date(r.date_changed),
  };
}
