import { EventEmitter } from 'node:events';
import type { DataSource } from 'typeorm';
import { databaseOf, type Database } from '../db/database';
import { joinChordCounter, registerChordCounter, type CounterJoin } from './chord-counter';
import { celeriacResultTables, type ResultTables } from './tables';
import { STALL_WARN_MS, watchStall } from './stall-watch';
import { abandoned, CALLBACK_THREW, explain } from './store-messages';
import type { ResultStoreEvents, ResultStoreOptions, StoreHealth } from './store-types';
import { checkBatchesInFlight, checkPoolFits, DEFAULT_BATCHES_IN_FLIGHT } from './batches-in-flight';
import type { LogLevel } from '../log';
import { Outage } from '../outage';
import { callContained, thrownField } from '../contain';
import { BatchWriter, STATEMENT_TIMEOUT_MS, StoreWriteError, type WriteResult } from './batch-write';
import { callWaiters, enqueue, restore, take, type Pending } from './pending';
import type { StateUpdate, TaskResultRow } from './rows';

export type { WriteResult } from './batch-write';
export type { ResultStoreEvents, ResultStoreOptions, StoreHealth } from './store-types';
export type { StateUpdate, TaskResultRow } from './rows';

/**
 * How long PENDING rows wait to be batched (writeLater). Per batch the sender pays a statement, a
 * socket round and its bookkeeping; measured on W1's one-by-one sender (10,000 sends, 5 runs
 * alternating, loaded machine), its CPU per send went from 99 µs at 25 ms to 84 at 100 and 81 at
 * 250, against 74 with no PENDING at all. Other processes see a PENDING row this much later; this
 * process's own reads flush it first.
 */
const DEFER_MS = 100;
/** How long flush() waits by default: a caller never hangs on a Postgres that is away. */
export const FLUSH_TIMEOUT_MS = 5_000;
/** Reads give up after this long (the caller retries or reports it). */
const READ_TIMEOUT_MS = 10_000;
/** While Postgres stays away, the outage is logged again this often, with the backlog. */
const OUTAGE_REMINDER_MS = 30_000;
export { STALL_WARN_MS } from './stall-watch';
/** Backoff between attempts at a batch that failed transiently: 100 ms, doubling, at most this. */
export const RETRY_MAX_MS = 5_000;
/** A batch whose statement is in flight, and when it was sent (its stall is measured from there). */
interface InFlightBatch {
  rows: Pending[];
  since: number;
}

/**
 * Writes task states in batches ("group commit"): a write made while `batchesInFlight` batches
 * are in flight (default 1; each on its own pooled connection) waits for the next one, so an idle
 * system writes each state at once (low latency) and a busy one writes hundreds per statement
 * (high throughput). Writes for the same task in one batch collapse into its latest state, and a
 * task with a row in flight waits for a later batch, so its states commit in the order written.
 * A write's promise resolves only once committed; while Postgres is away the batch is kept and
 * retried, which is why workers ack only after it resolves. A row Postgres refuses for its data
 * is found and replaced (batch-write.ts), never retried forever.
 */
export class ResultStore extends EventEmitter<ResultStoreEvents> {
  private pending = new Map<string, Pending>();
  private deferred: StateUpdate[] = [];
  private deferTimer: NodeJS.Timeout | undefined;
  /** Settles when no batch is in flight nor about to be (every lane has ended). */
  private flushing: Promise<void> | undefined;
  private endFlushing: (() => void) | undefined;
  /** Lanes running (each writes one batch at a time), and whether one is about to start. */
  private lanes = 0;
  private laneStarting = false;
  /**
   * The batches in flight. A task with a row in one stays out of every other batch until that row
   * is settled (take(), pending.ts): the SQL guard (`t.seq <= EXCLUDED.seq`, state-rules.ts) admits
   * an equal seq, so two PROGRESS updates, or PROGRESS and a custom state, committed out of order
   * would leave the older one stored. Held back, a task's states commit in the order written.
   */
  private readonly inFlight = new Set<InFlightBatch>();
  private inFlightCount = 0;
  readonly batchesInFlight: number;
  private retryDelayMs = 100;
  private closed = false;
  readonly maxBatch = 2000;
  private readonly db: Database;
  private readonly writer: BatchWriter;
  private readonly postgres: Outage;
  private unstorableCount = 0;
  private lastReminder = 0;
  /** Cut short the backoffs between attempts (close()), one per lane waiting. */
  private readonly wakeRetry = new Set<() => void>();
  /** States of the batch in flight at close() that failed after it: dropped, and counted. */
  private droppedAtClose = 0;

  constructor(
    /** The app's database (Celeriac.database()), or an initialised DataSource (tests, tools). */
    db: Database | DataSource,
    private readonly schema: string,
    private readonly log: (level: LogLevel, message: string, fields?: Record<string, unknown>) => void = () => {},
    /** Celeriac's own result tables, or a Django project's (django-tables.ts). */
    private readonly tables: ResultTables = celeriacResultTables(schema),
    options: ResultStoreOptions = {},
  ) {
    super();
    this.batchesInFlight = checkBatchesInFlight(
      'batchesInFlight',
      options.batchesInFlight ?? DEFAULT_BATCHES_IN_FLIGHT,
    );
    this.db = isDataSource(db) ? databaseOf(db) : db;
    checkPoolFits(this.batchesInFlight, this.db.poolSize);
    this.writer = new BatchWriter(this.db, tables);
    this.postgres = new Outage(
      'Postgres (result store)',
      log,
      'task states are kept in memory and written when it is back; their messages are acked only then',
    );
  }

  /**
   * Resolves when the state (or a later one of the same task) is committed, saying whether it
   * was stored as it is or replaced, or that it was abandoned because the store closed first.
   */
  write(update: StateUpdate): Promise<WriteResult> {
    return new Promise((resolve) => this.writeThen(update, resolve));
  }

  /**
   * write() with a callback: `done` is called once, as write() would resolve. The worker writes
   * every task's final state this way, sparing a promise and a microtask per task (issue 21).
   */
  writeThen(update: StateUpdate, done: (result: WriteResult) => void): void {
    if (this.closed) return done(abandoned(update));
    enqueue(this.pending, update, done);
    this.schedule();
  }

  /**
   * For writes nobody waits on (PENDING at send): held back DEFER_MS, then batched. A worker
   * that finishes the task first commits its final state without waiting on our uncommitted
   * insert of the same row (measured: that wait was most of a round trip's p50), and the late
   * PENDING then changes nothing (`seq`). `get()`/`flush()` in this process still see it at once.
   */
  writeLater(update: StateUpdate): void {
    if (this.closed) return;
    this.deferred.push(update);
    this.deferTimer ??= setTimeout(() => this.releaseDeferred(), DEFER_MS);
  }

  private releaseDeferred(): void {
    clearTimeout(this.deferTimer);
    this.deferTimer = undefined;
    if (this.closed) return;
    const batch = this.deferred;
    this.deferred = [];
    // Nobody waits on these: no promise per row (a send's PENDING is most of a sender's writes).
    for (const u of batch) enqueue(this.pending, u, undefined);
    if (batch.length > 0) this.schedule();
  }

  /**
   * Starts a lane (after this turn, so the writes of one turn share a batch) unless every lane
   * allowed is running; a lane loops while there is a batch to take. While a lane backs off,
   * Postgres is failing: that lane retries alone (it takes everything pending when it wakes), as
   * one batch did, instead of every lane trying Postgres at once and holding a pool slot each.
   */
  private schedule(): void {
    if (this.laneStarting || this.lanes >= this.batchesInFlight || this.closed || this.wakeRetry.size > 0) return;
    this.laneStarting = true;
    if (this.lanes === 0) this.flushing = new Promise<void>((resolve) => (this.endFlushing = resolve));
    this.lanes++;
    setImmediate(() => {
      this.laneStarting = false;
      void this.lane();
    });
  }

  /** One batch in flight at a time, taken as the last one settles; ends when nothing is left to take. */
  private async lane(): Promise<void> {
    try {
      while (!this.closed) {
        const batch = take(this.pending, this.inFlight, this.maxBatch);
        if (batch.length === 0) break;
        // Another lane may start on what came in meanwhile.
        if (this.pending.size > 0) this.schedule();
        await this.writeBatch(batch);
      }
    } finally {
      this.lanes--;
      if (this.lanes === 0) {
        const end = this.endFlushing;
        this.flushing = undefined;
        this.endFlushing = undefined;
        // With no batch in flight nothing is held back: anything left is takeable.
        if (this.pending.size > 0 && !this.closed) this.schedule();
        end?.();
      }
    }
  }

  /** Writes one batch; on a transient failure keeps what did not commit and backs off. */
  private async writeBatch(batch: Pending[]): Promise<void> {
    const flight: InFlightBatch = { rows: batch, since: Date.now() };
    this.inFlight.add(flight);
    this.inFlightCount += batch.length;
    const stall = watchStall(batch.length, this.log);
    const done: StateUpdate[] = [];
    const land = () => {
      this.inFlight.delete(flight);
      this.inFlightCount -= batch.length;
    };
    try {
      // Calls out are contained (contain.ts): a throw skipped the batch's other waiters and
      // reached writer.write, which took it for a failed write.
      await this.writer.write(batch, (p, result) => {
        p.settled = true;
        done.push(result.stored === 'replaced' ? result.update : p.update);
        if (result.stored === 'replaced' || result.stored === 'dropped')
          callContained((r) => this.noteUnstorable(p.update, r), result, this.reportCallbackError);
        callWaiters(p, result, this.reportCallbackError);
      });
      land();
      stall.end(true);
      this.retryDelayMs = 100;
      this.postgres.ok();
      callContained((d) => this.emit('committed', d), done, this.reportCallbackError);
    } catch (err) {
      // Keep what did not commit: merge it back under anything written meanwhile (held back from
      // other lanes while this was in flight), then back off.
      const kept = batch.filter((p) => !p.settled);
      if (!this.closed) for (const p of kept) restore(this.pending, p);
      land();
      stall.end(false);
      if (done.length > 0) callContained((d) => this.emit('committed', d), done, this.reportCallbackError);
      if (this.closed) {
        this.droppedAtClose += kept.length;
        this.abandon(kept);
        return;
      }
      this.failed(err instanceof StoreWriteError ? err.cause : err);
      await new Promise<void>((r) => {
        const wake = () => (clearTimeout(timer), this.wakeRetry.delete(wake), r());
        const timer = setTimeout(wake, this.retryDelayMs);
        this.wakeRetry.add(wake);
      });
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, RETRY_MAX_MS);
    }
  }

  private failed(err: unknown): void {
    const error = explain(err instanceof Error ? err : new Error(String(err)), this.schema, this.tables.createdBy);
    if (this.postgres.failed(error)) this.lastReminder = Date.now();
    else if (Date.now() - this.lastReminder >= OUTAGE_REMINDER_MS) {
      this.lastReminder = Date.now();
      this.log(
        'warn',
        `Postgres (result store) still unavailable after ${(this.postgres.downForMs / 1000).toFixed(0)} s: ${this.backlog} task states waiting`,
        { error: error.message },
      );
    }
    if (this.listenerCount('error') > 0) callContained((e) => this.emit('error', e), error, this.reportCallbackError);
  }

  private readonly reportCallbackError = (e: unknown) => this.log('error', CALLBACK_THREW, thrownField(e));

  private noteUnstorable(
    original: StateUpdate,
    result: Extract<WriteResult, { stored: 'replaced' | 'dropped' }>,
  ): void {
    this.unstorableCount++;
    this.log(
      'warn',
      result.stored === 'replaced'
        ? `task ${original.taskId}: Postgres refused its ${original.status} state; stored ${result.update.status} instead: ${result.reason}`
        : `task ${original.taskId}: Postgres refused its ${original.status} state and no replacement fits; nothing stored: ${result.reason}`,
    );
    if (this.listenerCount('unstorable') > 0) this.emit('unstorable', original, result);
  }

  private abandon(list: Pending[]): void {
    for (const p of list) {
      callWaiters(p, abandoned(p.update), this.reportCallbackError);
    }
  }

  /**
   * Resolves true when everything written so far is committed, or false if that has not
   * happened within `timeoutMs` (Postgres away): the writes stay queued and keep being retried.
   */
  async flush(timeoutMs = FLUSH_TIMEOUT_MS): Promise<boolean> {
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
    return this.pending.size + this.deferred.length + this.inFlightCount;
  }

  /** This process's latest unwritten state of a task, if any: what a read should answer while Postgres is away. */
  unwritten(taskId: string): StateUpdate | undefined {
    const queued = this.pending.get(taskId)?.update ?? this.inFlightRow(taskId)?.update;
    if (queued) return queued;
    for (let i = this.deferred.length - 1; i >= 0; i--) if (this.deferred[i].taskId === taskId) return this.deferred[i];
    return undefined;
  }

  /**
   * The row of `taskId` in a batch in flight, looked for in the batches: only reads of this
   * process's own unwritten states and forget() ask, and a map of the ids in flight cost every
   * row a set and a delete (issue 21).
   */
  private inFlightRow(taskId: string): Pending | undefined {
    for (const b of this.inFlight) for (const p of b.rows) if (p.update.taskId === taskId) return p;
    return undefined;
  }

  health(): StoreHealth {
    // The longest any batch in flight has waited.
    let since = Infinity;
    for (const b of this.inFlight) since = Math.min(since, b.since);
    const waited = since === Infinity ? 0 : Date.now() - since;
    return {
      backlog: this.backlog,
      unstorable: this.unstorableCount,
      postgres: this.postgres.info(),
      stalledMs: waited >= STALL_WARN_MS ? waited : 0,
    };
  }

  async get(taskId: string): Promise<TaskResultRow | null> {
    const [row] = await this.getMany([taskId]);
    return row ?? null;
  }

  async getMany(taskIds: string[]): Promise<TaskResultRow[]> {
    const rows: any[] = await this.db.query(
      `${this.tables.key}_select`,
      this.tables.select,
      [taskIds],
      READ_TIMEOUT_MS,
    );
    return rows.map(this.tables.toRow);
  }

  /**
   * A statement a caller waits on (sending a group, revoke, forget), bounded as the result batches
   * are: a wedged Postgres fails it after STATEMENT_TIMEOUT_MS instead of holding the caller.
   */
  private statement(name: string, text: string, values: unknown[]): Promise<unknown[]> {
    return this.db.query(`${this.tables.key}_${name}`, text, values, STATEMENT_TIMEOUT_MS);
  }

  /**
   * A group's member ids in order (django-celery-results' GroupResult), written before its members
   * are sent; for a chord's header (`chordSize` given) in django mode, its chord counter too.
   */
  async saveGroup(groupId: string, taskIds: string[], chordSize?: number): Promise<void> {
    await this.statement('group_save', this.tables.insertGroup, [groupId, JSON.stringify(taskIds)]);
    if (chordSize !== undefined) await registerChordCounter(this.db, this.tables, groupId, taskIds, chordSize);
  }

  /** A chord member joined through Django's chord counter; null when there is none to join (chord-counter.ts). */
  chordCounterJoin(groupId: string, memberId: string, failed: boolean): Promise<CounterJoin | null> {
    return joinChordCounter(this.db, this.schema, this.tables, groupId, memberId, failed);
  }

  async groupTaskIds(groupId: string): Promise<string[] | null> {
    const rows: { task_ids: string[] }[] = await this.db.query(
      `${this.tables.key}_group`,
      this.tables.selectGroup,
      [groupId],
      READ_TIMEOUT_MS,
    );
    return rows[0]?.task_ids ?? null;
  }

  async forgetGroup(groupId: string): Promise<void> {
    await this.statement('group_forget', this.tables.deleteGroup, [groupId]);
  }

  /** Ids of the tasks whose parent is `taskId`, oldest first, at most `limit`. */
  async childIds(taskId: string, limit = 10_000): Promise<string[]> {
    const rows: { task_id: string }[] = await this.db.query(
      `${this.tables.key}_children`,
      this.tables.selectChildren,
      [taskId, limit],
      READ_TIMEOUT_MS,
    );
    return rows.map((r) => r.task_id);
  }

  /**
   * Deletes results finished before `before`, then rows never finished and unchanged since then,
   * `batchSize` rows per statement. A task that still runs later writes its whole row again (the
   * message carries its name and arguments); until then its id reads UNKNOWN instead of PENDING.
   */
  async deleteExpired(before: Date, batchSize = 10_000): Promise<{ finished: number; unfinished: number }> {
    const finished = await this.deleteInBatches(this.tables.deleteExpiredBatch, before, batchSize);
    const unfinished = await this.deleteInBatches(this.tables.deleteStaleBatch, before, batchSize);
    await this.db.execute(this.tables.deleteExpiredGroups, [before.toISOString()]);
    return { finished, unfinished };
  }

  private async deleteInBatches(statement: string, before: Date, batchSize: number): Promise<number> {
    let total = 0;
    for (;;) {
      const { rowCount: count } = await this.db.execute(statement, [before.toISOString(), batchSize]);
      total += count;
      if (count < batchSize) return total;
    }
  }

  async markRevoked(taskIds: string[]): Promise<void> {
    await this.flush();
    await this.statement('revoke', this.tables.markRevoked, [taskIds]);
  }

  async forget(taskId: string): Promise<void> {
    // A PENDING held back for its batch (writeLater), or in the statement in flight, would
    // otherwise land after the delete and bring the forgotten task back as PENDING for good.
    this.pending.delete(taskId);
    this.deferred = this.deferred.filter((u) => u.taskId !== taskId);
    if (this.flushing && this.inFlightRow(taskId)) await this.flush();
    await this.statement('forget', this.tables.deleteResult, [taskId]);
  }

  /**
   * Waits up to `timeoutMs` for queued writes, then stops retrying. Returns how many states were
   * not written, counting those of a batch whose statement was still in flight and failed (or had
   * not returned by the deadline). A worker never acks a task whose state was not written (its
   * write resolves `abandoned`), so its message is run again later.
   */
  async close(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    await this.flush(timeoutMs);
    this.closed = true;
    clearTimeout(this.deferTimer);
    let dropped = this.pending.size + this.deferred.length;
    this.abandon([...this.pending.values()]);
    this.pending.clear();
    this.deferred = [];
    for (const wake of [...this.wakeRetry]) wake();
    const flushing = this.flushing;
    if (flushing) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([flushing, new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))))]);
      clearTimeout(timer);
    }
    // Still in flight past the deadline: counted as dropped (their waiters settle when they return).
    dropped += this.droppedAtClose + this.inFlightCount;
    return dropped;
  }
}

function isDataSource(db: Database | DataSource): db is DataSource {
  return 'driver' in db && 'isInitialized' in db;
}
