/**
 * Turns rows into plans, without sending anything: the first slot of rows that are new, edited
 * or re-enabled (re-planning), and for due rows the run to claim with its encoded message (the
 * decisions themselves are pure functions in ./plan.ts). Rows beat cannot run are parked here,
 * with the reason, so one bad row never holds back the others.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { TickResult } from './events';
import { firstRun, planDueRun, type RunPlan } from './plan';
import { formatErrors, messageErrors, specOf, type ScheduledRow } from './row';
import type { BeatRuntime, PreparedRun } from './runtime';
import type { OutboxRun } from './send-once';
import type { ClaimGroup, ClaimRun, PlannedRow } from './sql';
import { runTaskId } from './task-id';

/**
 * Runs claimed ahead whose slots fall in the same window of this many ms are one send group:
 * sent together at the window's last slot, so at most this late. 100,000 tasks a minute spread
 * over it make ~170 runs per 100 ms; one Redis call and one outbox row per 10 ms keeps both cheap.
 */
const SEND_WINDOW_MS = 10;
/** At most this many re-planning rounds (of batchSize rows) per tick. */
const MAX_REPLAN_ROUNDS = 100;
/**
 * Re-planning writes in flight at once. Each round's UPDATE costs Postgres ~25-50 µs a row (a new
 * row version and four index entries: next_run_at is indexed, so no update is HOT), and that, not
 * the read or the schedule math, is what a start on a million new rows waits for; two writes on
 * two connections let Postgres use a second core. Rounds cover disjoint id ranges.
 */
const REPLAN_WRITES_IN_FLIGHT = 2;
/**
 * Set-based planning (./sql/planIntervals.ts): ids per statement. 5,000 rows are ~100-250 ms of
 * Postgres, short enough for the tick's re-planning budget to cut between them.
 */
const SQL_ROUND_ROWS = 5000;

/** A due row, planned: what the claim does with it (ClaimRun) and the message to send. */
export interface PlannedRun extends ClaimRun {
  row: ScheduledRow;
  /** The encoded message of a run to send; null for a run skipped. */
  prepared: PreparedRun | null;
}

/** Runs sent together, under one outbox row and one Redis marker, at one instant. */
export interface SendGroup extends ClaimGroup {
  /** Filled after the claim with the runs it won. */
  runs: OutboxRun[];
  prepared: PreparedRun[];
}

export interface BadRow {
  row: ScheduledRow;
  error: string;
}

/** Due rows planned and encoded, ready to claim. */
export interface PlannedBatch {
  rows: ScheduledRow[];
  planned: PlannedRun[];
  groups: SendGroup[];
  bad: BadRow[];
}

export class Planner {
  /** This beat analyzed the tables after a bulk change (see ./sql/analyzeTables.ts). */
  private analyzed = false;

  constructor(private readonly rt: BeatRuntime) {}

  /**
   * Plans the first slot of rows that are new, edited or re-enabled: interval rows (and disabled
   * rows) in Postgres, set-based (planInSql), the rest row by row here. Stops after `budgetMs`, so
   * that a beat starting on 100,000 new rows sends the ones already planned on time; the rest are
   * planned by the next ticks (nextWake reports them stale, so those follow at once).
   */
  async replanStale(nowMs: number, result: TickResult, budgetMs: number): Promise<void> {
    const { db, sql, opts } = this.rt;
    const started = performance.now();
    const walked = await this.planInSql(nowMs, result, started, budgetMs);
    // Budget spent, or nothing left for the row-by-row planner: the next tick goes on.
    if (walked === 'budget' || walked === null) {
      if (result.replanned) this.rt.events.emit('replanned', result.replanned);
      return;
    }
    const select = (afterId: number) => db.run(sql.selectStale, { limit: opts.batchSize, afterId });
    // Rounds walk the stale rows by id, so the next round's read can run while this round is
    // planned and written (a new install's 100,000 rows plan in about half the time).
    let next: Promise<ScheduledRow[]> | null = select(walked);
    const writing: Promise<void>[] = [];
    for (let round = 0; next; round++) {
      const rows: ScheduledRow[] = await next;
      if (round === 0 && rows.length === opts.batchSize && !this.analyzed) await this.analyzeAfterBulkChange();
      const more =
        rows.length === opts.batchSize && round + 1 < MAX_REPLAN_ROUNDS && performance.now() - started < budgetMs;
      next = more ? select(rows[rows.length - 1].id) : null;
      // Settled before any await below can throw, so a failed round leaves no read unobserved.
      next?.catch(() => {});
      const bad: BadRow[] = [];
      const planned: PlannedRow[] = [];
      for (const row of rows) {
        let first: { nextMs: number | null; note: string | null } = { nextMs: null, note: null };
        if (row.enabled) {
          const problem = this.rowProblem(row);
          if (problem) {
            bad.push({ row, error: problem });
            continue;
          }
          try {
            first = firstRun(row, specOf(row).spec!, nowMs);
          } catch (err) {
            bad.push({ row, error: (err as Error).message });
            continue;
          }
        }
        planned.push({ id: row.id, revision: row.revision, nextMs: first.nextMs, note: first.note });
      }
      if (bad.length) await this.markBad(bad, result);
      if (planned.length) {
        const write = db.run(sql.writePlanned, planned).then((written) => void (result.replanned += written.length));
        // Observed at once: a write that fails while an earlier one is awaited must not go unhandled.
        write.catch(() => {});
        writing.push(write);
      }
      if (writing.length >= REPLAN_WRITES_IN_FLIGHT) await writing.shift();
    }
    await Promise.all(writing);
    if (result.replanned) this.rt.events.emit('replanned', result.replanned);
  }

  /**
   * Plans stale interval rows (and disabled rows of any kind) in Postgres, a range of ids per
   * statement, two statements in flight (REPLAN_WRITES_IN_FLIGHT, on disjoint ranges). Returns
   * 'budget' when it stopped for the budget (the next tick walks on), else where the row-by-row
   * planner should start (the id before the first row left stale), or null when this walk left
   * no row to it.
   */
  private async planInSql(
    nowMs: number,
    result: TickResult,
    started: number,
    budgetMs: number,
  ): Promise<'budget' | number | null> {
    const { db, sql, opts } = this.rt;
    // Each tick walks from the first stale id, as the row-by-row planner reads from it: an edit
    // behind a walk of a million new rows is planned by the next tick, not after the walk.
    const walk: { afterId: number; leftId: number | null } = { afterId: 0, leftId: null };
    const tasks = this.rt.host.registeredTasks();
    const plannedBefore = result.replanned;
    // The statement works in whole milliseconds, as a Date does.
    const now = Math.floor(nowMs);
    // Ranges of SQL_ROUND_ROWS ids, one after the other: new rows have consecutive ids, so two
    // statements can be in flight on disjoint ranges without a read to find where each ends.
    // A range that held no stale row sends the walk to the next stale id (one index probe).
    let probe = true;
    const writing: Promise<void>[] = [];
    let outOfBudget = false;
    while (!outOfBudget) {
      if (probe) {
        // The ranges still in flight are above the probe's start and get their statements anyway.
        await Promise.all(writing.splice(0));
        const [{ id, many }] = await db.run(sql.firstStaleAfter, { afterId: walk.afterId, limit: opts.batchSize });
        if (id === null) break;
        if (many && !this.analyzed) await this.analyzeAfterBulkChange();
        walk.afterId = id - 1;
        probe = false;
      }
      const from = walk.afterId;
      walk.afterId = from + SQL_ROUND_ROWS;
      const write = db
        .run(sql.planIntervals, { nowMs: now, afterId: from, uptoId: from + SQL_ROUND_ROWS, tasks })
        .then(([r]) => {
          result.replanned += r.planned;
          if (r.left_id !== null) walk.leftId = Math.min(walk.leftId ?? r.left_id, r.left_id);
          if (r.seen === 0) probe = true;
        });
      // Observed at once: a write that fails while an earlier one is awaited must not go unhandled.
      write.catch(() => {});
      writing.push(write);
      if (writing.length >= REPLAN_WRITES_IN_FLIGHT) await writing.shift();
      outOfBudget = performance.now() - started >= budgetMs;
    }
    await Promise.all(writing);
    // Out of budget having planned nothing (a slow probe, a loaded machine): the rows left to the
    // row-by-row planner get their turn anyway, so that they cannot wait forever.
    if (outOfBudget && result.replanned > plannedBefore) return 'budget';
    return walk.leftId === null ? (outOfBudget ? 0 : null) : walk.leftId - 1;
  }

  /**
   * Plans due rows and encodes their messages, without touching the database. Runs whose slot
   * is after `nowMs` (claimed ahead) are grouped by SEND_WINDOW_MS, each group to be sent at its
   * instant; runs due now form one group.
   */
  planDue(rows: ScheduledRow[], nowMs: number): PlannedBatch {
    const bad: BadRow[] = [];
    const planned: PlannedRun[] = [];
    const groups: SendGroup[] = [];
    const groupOf = new Map<number, number>();
    for (const row of rows) {
      const problem = this.rowProblem(row);
      if (problem) {
        bad.push({ row, error: problem });
        continue;
      }
      try {
        // A run claimed ahead is planned as of its slot: that is when it is sent.
        const slotMs = new Date(row.next_run_at!).getTime();
        const atMs = Math.max(nowMs, slotMs);
        const plan = planDueRun(row, specOf(row).spec!, atMs, this.rt.opts.misfireGraceMs);
        if (plan.action === 'skip') {
          planned.push(claimRun(row, plan, null, null));
          continue;
        }
        const { prepared, run } = this.encode(row, plan, atMs);
        // Due now: one group, sent by this tick; ahead: one group per window, sent at its last slot.
        const key = slotMs <= nowMs ? -1 : Math.floor(slotMs / SEND_WINDOW_MS);
        let g = groupOf.get(key);
        if (g === undefined) {
          g = groups.push({ batchId: randomUUID(), sendAtMs: atMs, runs: [], prepared: [] }) - 1;
          groupOf.set(key, g);
        }
        groups[g].sendAtMs = Math.max(groups[g].sendAtMs, atMs);
        planned.push(claimRun(row, plan, prepared, { group: g, run }));
      } catch (err) {
        bad.push({ row, error: (err as Error).message });
      }
    }
    return { rows, planned, groups, bad };
  }

  /** Parks rows beat cannot run, with the reason, and says so once per row. */
  async markBad(bad: BadRow[], result: TickResult): Promise<void> {
    await this.rt.db.run(
      this.rt.sql.markErrors,
      bad.map(({ row, error }) => ({ id: row.id, revision: row.revision, error })),
    );
    result.rowErrors += bad.length;
    const { events } = this.rt;
    for (const { row, error } of bad) {
      this.rt.log('warn', 'beat skips a periodic task it cannot run; fix the row to resume it', {
        periodicTask: row.name,
        id: row.id,
        error,
      });
      if (events.listenerCount('rowError') > 0)
        events.emit('rowError', { periodicTaskId: row.id, name: row.name, error });
    }
  }

  private async analyzeAfterBulkChange(): Promise<void> {
    this.analyzed = true;
    await this.rt.db
      .run(this.rt.sql.analyze)
      .catch((err) =>
        this.rt.log('debug', 'beat could not analyze the periodic task table', { error: (err as Error).message }),
      );
  }

  /** Why beat cannot run this row, or null. */
  private rowProblem(row: ScheduledRow): string | null {
    const errors = [...specOf(row).errors, ...messageErrors(row)];
    if (!this.rt.host.knowsTask(row.task)) {
      errors.push({
        field: 'task',
        message: `no task named '${row.task}' is registered in the beat's app and no route sends it elsewhere`,
      });
    }
    return errors.length ? formatErrors(errors) : null;
  }

  /** The run's message, and its outbox record (enough to send it again unchanged). */
  private encode(row: ScheduledRow, plan: RunPlan, atMs: number): { prepared: PreparedRun; run: OutboxRun } {
    const taskId = runTaskId(this.rt.schema, row.id, plan.slotMs);
    const scheduledAt = new Date(plan.slotMs).toISOString();
    const prepared = this.rt.host.prepare(row.task, row.args as unknown[], row.kwargs as Record<string, unknown>, {
      taskId,
      // A direct exchange routes by queue name, so a routing key alone names the queue. '' is
      // none, as the field table reads it and Celery's router takes it (a falsy queue).
      queue: row.queue || row.routing_key || undefined,
      priority: row.priority ?? undefined,
      headers: { ...(row.headers as Record<string, unknown>), scheduled_at: scheduledAt },
      expires: row.expires ?? (row.expire_seconds ? new Date(atMs + row.expire_seconds * 1000) : undefined),
      periodicTaskName: row.name,
    });
    const run: OutboxRun = {
      periodicTaskId: row.id,
      name: row.name,
      task: row.task,
      taskId,
      scheduledAt,
      queue: prepared.outgoing.queue,
      priority: prepared.outgoing.priority,
      raw: prepared.outgoing.raw,
    };
    return { prepared, run };
  }
}

function claimRun(
  row: ScheduledRow,
  plan: RunPlan,
  prepared: PreparedRun | null,
  send: PlannedRun['send'],
): PlannedRun {
  return {
    row,
    prepared,
    id: row.id,
    revision: row.revision,
    slotMs: plan.slotMs,
    nextMs: plan.nextMs,
    disable: plan.disable,
    note: plan.note,
    send,
  };
}
