import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Celeriac, PreparedMessage } from '../celeriac';
import { CeleriacError } from '../errors';
import type { LogLevel } from '../log';
import type { Clock } from './clock';
import { BeatDb } from './db';
import { BeatNotMigratedError } from './errors';
import { ChangeListener } from './listener';
import { resolveBeatOptions, type BeatOptions, type ResolvedBeatOptions } from './options';
import { firstRun, planDueRun, type RunPlan } from './plan';
import { formatErrors, messageErrors, specOf, type ScheduledRow } from './row';
import { brokerBatchSender, type BatchSender, type OutboxRun } from './send-once';
import { claimDueRuns } from './sql/claimDueRuns';
import { finishBatch } from './sql/finishBatch';
import { deleteHeartbeat, upsertHeartbeat } from './sql/heartbeat';
import { markRowErrors } from './sql/markRowErrors';
import { nextWake } from './sql/nextWake';
import { selectStaleRows, writePlannedRows } from './sql/replanStale';
import { selectDueRuns } from './sql/selectDueRuns';
import { takeOverBatches } from './sql/takeOverBatches';
import { builtinEntries, syncBeatSchedule } from './sync';
import { runTaskId } from './task-id';

export interface SentRun {
  periodicTaskId: number;
  name: string;
  task: string;
  taskId: string;
  scheduledAt: Date;
}

export interface SkippedRun {
  periodicTaskId: number;
  name: string;
  scheduledAt: Date;
  reason: string;
}

export interface RowError {
  periodicTaskId: number;
  name: string;
  error: string;
}

export interface RecoveredBatch {
  batchId: string;
  previousOwner: string;
  runs: number;
  /** true: the first send never reached Redis and this one delivered it; false: it had, nothing was sent again. */
  resent: boolean;
}

export interface TickResult {
  sent: number;
  /** Runs claimed ahead of their slot (a running beat's ticks only); a timer sends them at it. */
  scheduled: number;
  skipped: number;
  /** Rows whose next run was (re)computed after an edit. */
  replanned: number;
  /** Outbox batches taken over and settled. */
  recovered: number;
  rowErrors: number;
  /** When this beat next needs to look, or null when nothing is scheduled. */
  nextWakeAt: Date | null;
}

export interface BeatEvents {
  started: [];
  stopped: [];
  sent: [runs: SentRun[]];
  skipped: [runs: SkippedRun[]];
  replanned: [count: number];
  recovered: [batch: RecoveredBatch];
  rowError: [error: RowError];
  listening: [listening: boolean];
  error: [err: Error];
}

interface Planned {
  row: ScheduledRow;
  plan: RunPlan;
  prepared?: PreparedMessage;
  run?: OutboxRun;
  /** The send group (1-based) of a run to send. */
  group?: number;
}

/** Runs sent together, under one outbox row and one Redis marker, at one instant. */
interface SendGroup {
  batchId: string;
  sendAtMs: number;
  runs: OutboxRun[];
  prepared: PreparedMessage[];
}

/** Due rows planned and encoded, ready to claim. */
interface PlannedBatch {
  rows: ScheduledRow[];
  planned: Planned[];
  groups: SendGroup[];
  bad: { row: ScheduledRow; error: string }[];
  /** The read that brought these rows was a full batch: more may be due. */
  full: boolean;
}

interface Resources {
  db: BeatDb;
  sender: BatchSender;
}

const RECOVER_BATCHES_PER_TICK = 20;
/**
 * Runs claimed ahead whose slots fall in the same window of this many ms are one send group:
 * sent together at the window's last slot, so at most this late. 100,000 tasks a minute spread
 * over it make ~170 runs per 100 ms; one Redis call and one outbox row per 10 ms keeps both cheap.
 */
const SEND_WINDOW_MS = 10;
/** A running beat re-plans edited rows for at most this long per tick before it sends what is due. */
const REPLAN_BUDGET_MS = 200;
const SIMULATED_CRASH = Symbol('celeriac.beat.simulatedCrash');
const isSimulatedCrash = (err: unknown) => typeof err === 'object' && err !== null && SIMULATED_CRASH in err;
const MAX_REPLAN_ROUNDS = 100;
/** Between the run records of a claim (see ./sql/claimDueRuns.ts): JSON escapes it, so no record contains it. */
const RUN_SEPARATOR = '\x1e';

/**
 * The scheduler: sends each periodic task's runs to the broker, from the tables, once.
 *
 * A tick (run by the loop, or by a test with its own `now`) does four things, each a few
 * statements whatever the table size: re-plan the rows edits invalidated (./sql/replanStale.ts),
 * claim what is due and send it (./sql/claimDueRuns.ts, then Broker.sendOnce), settle
 * outbox batches nobody confirmed (./sql/takeOverBatches.ts), and ask when to look next
 * (./sql/nextWake.ts). Between ticks it sleeps until that moment, or until a NOTIFY says a
 * schedule changed, or at most pollIntervalMs while LISTEN is unavailable.
 *
 * Any number of beats may run against one database: see README.md in this folder for why each
 * run is sent exactly once.
 */
export class Beat extends EventEmitter<BeatEvents> {
  readonly name: string;
  private readonly opts: ResolvedBeatOptions;
  private readonly schema: string;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private resources: Promise<Resources> | undefined;
  private listener: ChangeListener | undefined;
  private loopDone: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private wakeRequested = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatWrite: Promise<void> | undefined;
  private startedAtMs = 0;
  private tickChain: Promise<unknown> = Promise.resolve();
  /** Groups claimed ahead and not yet settled (waiting for their instant, or being sent): batch id → done. */
  private readonly sending = new Map<string, Promise<void>>();
  /** Batches a fault hook "crashed" in a timer: this beat behaves as if dead for them. */
  private readonly abandoned = new Set<string>();
  private finishQueue: { batchId: string; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private finishing: Promise<void> | undefined;
  /** The last tick left rows to plan (an edit, or more new rows than its replan budget). */
  private rowsToPlan = false;
  /** This beat analyzed the table after a bulk change (see analyzeAfterBulkChange). */
  private analyzed = false;
  private readonly sql: Record<string, string>;

  constructor(
    private readonly app: Celeriac,
    options: BeatOptions = {},
  ) {
    super();
    this.opts = resolveBeatOptions(options);
    this.name = this.opts.name;
    this.schema = app.config.schema;
    const s = this.schema;
    this.sql = {
      selectDue: selectDueRuns(s),
      claim: claimDueRuns(s),
      markErrors: markRowErrors(s),
      selectStale: selectStaleRows(s),
      writePlanned: writePlannedRows(s),
      takeOver: takeOverBatches(s),
      finish: finishBatch(s),
      nextWake: nextWake(s),
      heartbeat: upsertHeartbeat(s),
    };
  }

  get clock(): Clock {
    return this.opts.clock;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** True while the LISTEN session is up; false means changes are seen by polling. */
  get listening(): boolean {
    return this.listener?.listening ?? false;
  }

  async start(): Promise<void> {
    if (this.state !== 'new')
      throw new CeleriacError(`Beat ${this.name} was already started; create a new Beat to start again.`);
    this.state = 'starting';
    try {
      const { db } = await this.ensureResources();
      this.startedAtMs = this.clock.now();
      if (this.opts.syncSchedule) {
        const synced = await syncBeatSchedule(
          (fn) => db.transaction(fn),
          this.schema,
          this.app.config.beatSchedule,
          builtinEntries(this.app),
        );
        if (synced.upserted || synced.disabled.length)
          this.log('info', 'beat schedule synced from code', { entries: synced.upserted, disabled: synced.disabled });
      }
      // Rows parked as bad by an earlier beat get another look: this deploy may have fixed them
      // (registered their task, shipped a newer zone database).
      await db.query(
        `celeriac_beat_unpark_${this.schema}`,
        `UPDATE "${this.schema}".celeriac_periodic_task SET next_run_stale = true
          WHERE enabled AND next_run_at IS NULL AND last_error IS NOT NULL AND NOT next_run_stale`,
        [],
      );
      if (this.opts.listen) {
        const listener = new ChangeListener(() => db.newListenClient(), this.schema);
        this.listener = listener;
        listener.on('change', () => this.wake());
        listener.on('state', (up) => {
          this.log(
            up ? 'info' : 'warn',
            up
              ? 'beat is listening for schedule changes'
              : `beat polls for changes every ${this.opts.pollIntervalMs} ms`,
          );
          this.emit('listening', up);
          this.wake();
        });
        listener.on('error', (err) => this.fail('LISTEN session lost', err));
        await listener.start();
      }
      await this.writeHeartbeat();
      this.heartbeatTimer = setInterval(() => {
        if (this.heartbeatWrite) return; // the previous one is still in flight
        this.heartbeatWrite = this.writeHeartbeat()
          .catch((err) => this.fail('could not write the beat heartbeat', err))
          .finally(() => (this.heartbeatWrite = undefined));
      }, this.opts.heartbeatMs);
    } catch (err) {
      this.state = 'stopped';
      await this.release();
      throw err;
    }
    this.state = 'running';
    this.loopDone = this.loop();
    this.log('info', 'beat started', { beat: this.name, listening: this.listening });
    if (this.app.signals.has('beatInit')) this.app.signals.emit('beatInit', { name: this.name });
    this.emit('started');
  }

  /** Finishes the tick in progress, then closes this beat's connections. Safe to call in any state. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    clearInterval(this.heartbeatTimer);
    this.wake();
    await this.loopDone;
    await this.tickChain;
    // Runs claimed ahead are ours to send: wait for their instants (at most claimAheadMs).
    while (this.sending.size) await Promise.all(this.sending.values());
    // A heartbeat still in flight would re-create the row deleted below.
    await this.heartbeatWrite;
    await this.listener?.stop();
    if (wasRunning && this.resources) {
      const { db } = await this.resources.catch(() => ({ db: undefined }));
      await db?.query(`celeriac_beat_bye_${this.schema}`, deleteHeartbeat(this.schema), [this.name]).catch(() => {});
    }
    await this.release();
    this.state = 'stopped';
    if (wasRunning) {
      this.log('info', 'beat stopped', { beat: this.name });
      this.emit('stopped');
    }
  }

  /** Look now instead of at the next due time (a NOTIFY does this). */
  wake(): void {
    this.wakeRequested = true;
    this.wakeUp?.();
  }

  /**
   * One pass: re-plan edited rows, send what is due at `now`, settle unconfirmed batches.
   * Ticks of one beat never overlap. Tests call this with their own `now` instead of start().
   */
  tick(now?: Date | number): Promise<TickResult> {
    return this.chainTick(() => (now === undefined ? this.clock.now() : new Date(now).getTime()), 0, Infinity);
  }

  private chainTick(now: () => number, aheadMs: number, replanBudgetMs: number): Promise<TickResult> {
    const run = this.tickChain.then(() => this.tickOnce(now(), aheadMs, replanBudgetMs));
    this.tickChain = run.catch(() => {});
    return run;
  }

  /**
   * `aheadMs` > 0 (the running loop): also claim runs due up to that long after `now`; timers
   * send them at their slots. `replanBudgetMs`: stop re-planning after that long, so that a
   * beat starting on 100,000 new rows sends the ones already planned on time; the rest are
   * planned by the next ticks (nextWake reports them stale, so those follow at once).
   */
  private async tickOnce(nowMs: number, aheadMs: number, replanBudgetMs: number): Promise<TickResult> {
    if (this.state === 'stopped') throw new CeleriacError(`Beat ${this.name} is stopped; create a new Beat.`);
    const res = await this.ensureResources();
    const result: TickResult = {
      sent: 0,
      scheduled: 0,
      skipped: 0,
      replanned: 0,
      recovered: 0,
      rowErrors: 0,
      nextWakeAt: null,
    };
    await this.replanStale(res, nowMs, result, replanBudgetMs);
    // Read, claim, repeat while there is more due. Rows another beat claimed meanwhile drop out
    // of the next read by themselves; stop only when a read brings nothing this tick has not
    // tried (rows locked by a long transaction, or a batch whose send failed), so two beats
    // splitting a burst both keep going, and neither spins on a row it cannot have.
    //
    // A burst is claimed in a pipeline: while one batch's claim runs in Postgres, the next batch
    // (the due rows other than those being claimed) is read and its messages encoded, which
    // takes about a third off each batch of a 10,000-run minute.
    const tried = new Set<string>();
    const readDue = (excluding: number[]) =>
      res.db.query<ScheduledRow>(`celeriac_beat_due_${this.schema}`, this.sql.selectDue, [
        new Date(nowMs + aheadMs),
        this.opts.batchSize,
        excluding,
      ]);
    const take = (read: ScheduledRow[]): PlannedBatch | null => {
      const rows = read.filter((r) => !tried.has(`${r.id}@${r.revision}@${new Date(r.next_run_at!).getTime()}`));
      if (rows.length === 0) return null;
      for (const r of rows) tried.add(`${r.id}@${r.revision}@${new Date(r.next_run_at!).getTime()}`);
      return { ...this.planBatch(rows, nowMs), full: read.length === this.opts.batchSize };
    };
    let batch = take(await readDue([]));
    while (batch) {
      const claiming = this.claimAndSend(res, batch, nowMs, result);
      let next: PlannedBatch | null | undefined;
      if (batch.full) {
        // Planned as soon as it is read, if the claim is still running, else right after it.
        const reading = readDue(batch.rows.map((r) => r.id)).then(take);
        // Observed at once: if the claim fails first, this read's failure must not go unhandled.
        reading.catch(() => {});
        next = await Promise.race([reading, claiming.then(() => undefined)]);
        if (next === undefined) next = await reading;
      }
      const progressed = await claiming;
      if (progressed === 'send-failed') break;
      if (next === undefined) next = progressed ? take(await readDue([])) : null;
      batch = next;
    }
    await this.recoverOutbox(res, nowMs, result);
    result.nextWakeAt = await this.nextWakeAt(res, nowMs, aheadMs);
    return result;
  }

  /** Plans the first slot of rows that are new, edited or re-enabled. */
  private async replanStale({ db }: Resources, nowMs: number, result: TickResult, budgetMs: number): Promise<void> {
    const started = performance.now();
    const select = (afterId: number) =>
      db.query<ScheduledRow>(`celeriac_beat_stale_${this.schema}`, this.sql.selectStale, [
        this.opts.batchSize,
        afterId,
      ]);
    // Rounds walk the stale rows by id, so the next round's read can run while this round is
    // planned and written (a new install's 100,000 rows plan in about half the time).
    let next: Promise<ScheduledRow[]> | null = select(0);
    for (let round = 0; next; round++) {
      const rows: ScheduledRow[] = await next;
      if (round === 0 && rows.length === this.opts.batchSize && !this.analyzed) await this.analyzeAfterBulkChange(db);
      const more =
        rows.length === this.opts.batchSize && round + 1 < MAX_REPLAN_ROUNDS && performance.now() - started < budgetMs;
      next = more ? select(rows[rows.length - 1].id) : null;
      // Settled before any await below can throw, so a failed round leaves no read unobserved.
      next?.catch(() => {});
      const bad: { row: ScheduledRow; error: string }[] = [];
      const ids: number[] = [];
      const revisions: string[] = [];
      const nexts: (Date | null)[] = [];
      const notes: (string | null)[] = [];
      for (const row of rows) {
        let planned: { nextMs: number | null; note: string | null } = { nextMs: null, note: null };
        if (row.enabled) {
          const problem = this.rowProblem(row);
          if (problem) {
            bad.push({ row, error: problem });
            continue;
          }
          try {
            planned = firstRun(row, specOf(row).spec!, nowMs);
          } catch (err) {
            bad.push({ row, error: (err as Error).message });
            continue;
          }
        }
        ids.push(row.id);
        revisions.push(row.revision);
        nexts.push(planned.nextMs === null ? null : new Date(planned.nextMs));
        notes.push(planned.note);
      }
      if (bad.length) await this.markBad(db, bad, result);
      const written = ids.length
        ? await db.query(`celeriac_beat_plan_${this.schema}`, this.sql.writePlanned, [ids, revisions, nexts, notes])
        : [];
      result.replanned += written.length;
    }
    if (result.replanned) this.emit('replanned', result.replanned);
  }

  /**
   * A bulk insert or edit (a full batch of rows to plan) usually means a table Postgres has no
   * statistics for yet: autovacuum analyzes it up to a minute later. Until then it plans the
   * per-batch UPDATEs as a hash over every stale row (100 ms a round instead of 14 ms, measured
   * on 100,000 new rows: ten seconds of start-up), so beat analyzes the table itself, once.
   * Needs the table's owner; without that the statements are only slower.
   */
  private async analyzeAfterBulkChange(db: BeatDb): Promise<void> {
    this.analyzed = true;
    const s = this.schema;
    await db
      .query(
        `celeriac_beat_analyze_${s}`,
        `ANALYZE "${s}".celeriac_periodic_task, "${s}".celeriac_interval_schedule, "${s}".celeriac_crontab_schedule`,
        [],
      )
      .catch((err) =>
        this.log('debug', 'beat could not analyze the periodic task table', { error: (err as Error).message }),
      );
  }

  /** Why beat cannot run this row, or null. */
  private rowProblem(row: ScheduledRow): string | null {
    const errors = [...specOf(row).errors, ...messageErrors(row)];
    if (!this.app.registry.get(row.task) && !this.app.route(row.task)) {
      errors.push({
        field: 'task',
        message: `no task named '${row.task}' is registered in the beat's app and no route sends it elsewhere`,
      });
    }
    return errors.length ? formatErrors(errors) : null;
  }

  /**
   * Plans due rows and encodes their messages, without touching the database. Runs whose slot
   * is after `nowMs` (claimed ahead) are grouped by SEND_WINDOW_MS, each group to be sent at its
   * instant; runs due now form one group.
   */
  private planBatch(rows: ScheduledRow[], nowMs: number): Omit<PlannedBatch, 'full'> {
    const bad: { row: ScheduledRow; error: string }[] = [];
    const planned: Planned[] = [];
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
        const plan = planDueRun(row, specOf(row).spec!, atMs, this.opts.misfireGraceMs);
        if (plan.action === 'skip') {
          planned.push({ row, plan });
          continue;
        }
        const p = this.prepareRun(row, plan, atMs);
        // Due now: one group, sent by this tick; ahead: one group per window, sent at its last slot.
        const key = slotMs <= nowMs ? -1 : Math.floor(slotMs / SEND_WINDOW_MS);
        let g = groupOf.get(key);
        if (g === undefined) {
          groups.push({ batchId: randomUUID(), sendAtMs: atMs, runs: [], prepared: [] });
          groupOf.set(key, (g = groups.length));
        }
        groups[g - 1].sendAtMs = Math.max(groups[g - 1].sendAtMs, atMs);
        p.group = g;
        planned.push(p);
      } catch (err) {
        bad.push({ row, error: (err as Error).message });
      }
    }
    return { rows, planned, groups, bad };
  }

  /**
   * Claims a planned batch and sends it: the group due now before returning, the others by
   * timers at their instants. False when it claimed nothing, 'send-failed' when Redis refused.
   */
  private async claimAndSend(
    res: Resources,
    { planned, groups, bad }: PlannedBatch,
    nowMs: number,
    result: TickResult,
  ): Promise<boolean | 'send-failed'> {
    if (bad.length) await this.markBad(res.db, bad, result);
    if (planned.length === 0) return bad.length > 0;

    const claimStarted = performance.now();
    const claimedRows = await res.db.query<{ id: number }>(`celeriac_beat_claim_${this.schema}`, this.sql.claim, [
      new Date(nowMs),
      this.name,
      planned.map((p) => p.row.id),
      planned.map((p) => new Date(p.plan.slotMs)),
      planned.map((p) => p.row.revision),
      planned.map((p) => (p.plan.nextMs === null ? null : new Date(p.plan.nextMs))),
      planned.map((p) => p.plan.action === 'send'),
      planned.map((p) => p.plan.disable),
      planned.map((p) => p.plan.note),
      planned.map((p) => p.group ?? null),
      groups.map((g) => g.batchId),
      groups.map((g) => new Date(g.sendAtMs)),
      planned.map((p) => (p.run ? JSON.stringify(p.run) : '')).join(RUN_SEPARATOR),
    ]);
    const claimed = new Set(claimedRows.map((r) => r.id));
    const mine = planned.filter((p) => claimed.has(p.row.id));
    const skips = mine.filter((p) => p.plan.action === 'skip');
    if (skips.length) {
      result.skipped += skips.length;
      const skipped = skips.map((p) => ({
        periodicTaskId: p.row.id,
        name: p.row.name,
        scheduledAt: new Date(p.plan.slotMs),
        reason: p.plan.note ?? 'missed',
      }));
      this.log('info', 'beat skipped missed runs (catch_up = skip)', {
        runs: skipped.map((s) => `${s.name}@${s.scheduledAt.toISOString()}`),
      });
      this.emit('skipped', skipped);
    }
    for (const p of mine) {
      if (p.group === undefined) continue;
      groups[p.group - 1].runs.push(p.run!);
      groups[p.group - 1].prepared.push(p.prepared!);
    }
    const toSend = groups.filter((g) => g.runs.length > 0);
    if (toSend.length === 0) return claimed.size > 0 || bad.length > 0;

    for (const g of toSend) await this.hook(this.opts.hooks.afterClaim, g.batchId);
    let now: SendGroup | undefined;
    for (const g of toSend) {
      if (g.sendAtMs <= nowMs) now = g;
      else {
        result.scheduled += g.runs.length;
        this.sendAt(res, g);
      }
    }
    if (!now) return true;
    // A claim that took longer than half the lease may already be someone else's to re-send:
    // leave it to takeOverBatches (ours at the next tick, theirs after the lease) rather than race.
    if (performance.now() - claimStarted > this.opts.outboxLeaseMs / 2) {
      this.log('warn', 'beat left a slow batch to the outbox sweep', { batch: now.batchId, runs: now.runs.length });
      return true;
    }
    try {
      await this.deliver(res, now.batchId, now.runs, now.prepared, result);
    } catch (err) {
      if (isSimulatedCrash(err)) throw err;
      // The runs are safe in the outbox; the sweep re-sends them, under the same marker.
      this.fail(`could not send ${now.runs.length} due runs; they stay in the outbox and are retried`, err);
      return 'send-failed';
    }
    return true;
  }

  /**
   * Sends a group claimed ahead at its instant. Until it is settled the group is in `sending`,
   * which this beat's sweep leaves alone; if the send fails, or the timer fires so late that the
   * lease (counted from the instant) is half gone, the outbox row stays and the sweep sends it
   * under the same marker (this beat's at its next tick, another's after the lease).
   */
  private sendAt(res: Resources, g: SendGroup): void {
    const done = (async () => {
      const waitMs = g.sendAtMs - this.clock.now();
      if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
      const lateMs = this.clock.now() - g.sendAtMs;
      if (lateMs > this.opts.outboxLeaseMs / 2) {
        this.log('warn', 'beat left a late batch to the outbox sweep', {
          batch: g.batchId,
          runs: g.runs.length,
          lateMs,
        });
        return;
      }
      try {
        await this.deliver(res, g.batchId, g.runs, g.prepared, null);
      } catch (err) {
        if (isSimulatedCrash(err)) {
          this.abandoned.add(g.batchId);
          return;
        }
        this.fail(`could not send ${g.runs.length} due runs; they stay in the outbox and are retried`, err);
      }
    })().finally(() => this.sending.delete(g.batchId));
    this.sending.set(g.batchId, done);
  }

  private prepareRun(row: ScheduledRow, plan: RunPlan, nowMs: number): Planned {
    const taskId = runTaskId(this.schema, row.id, plan.slotMs);
    const scheduledAt = new Date(plan.slotMs).toISOString();
    const prepared = this.app.prepare(row.task, row.args as unknown[], row.kwargs as Record<string, unknown>, {
      taskId,
      // A direct exchange routes by queue name, so a routing key alone names the queue.
      queue: row.queue ?? row.routing_key ?? undefined,
      priority: row.priority ?? undefined,
      headers: { ...(row.headers as Record<string, unknown>), scheduled_at: scheduledAt },
      expires: row.expires ?? (row.expire_seconds ? new Date(nowMs + row.expire_seconds * 1000) : undefined),
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
    return { row, plan, prepared, run };
  }

  /** Sends a claimed batch once, then removes it from the outbox. */
  private async deliver(
    res: Resources,
    batchId: string,
    runs: OutboxRun[],
    prepared: PreparedMessage[] | null,
    result: TickResult | null,
  ): Promise<boolean> {
    const delivered = await res.sender.sendOnce(batchId, runs, this.opts.sentMarkerTtlMs);
    await this.hook(this.opts.hooks.afterSend, batchId);
    await this.finish(res, batchId);
    if (delivered) {
      this.recordPending(runs, prepared);
      if (result) result.sent += runs.length;
      this.emit(
        'sent',
        runs.map((r) => ({
          periodicTaskId: r.periodicTaskId,
          name: r.name,
          task: r.task,
          taskId: r.taskId,
          scheduledAt: new Date(r.scheduledAt),
        })),
      );
    }
    return delivered;
  }

  /**
   * Deletes a sent batch from the outbox. Deletes requested while one is in flight go out
   * together in the next statement: at 100,000 tasks a minute a beat sends a group every few ms.
   */
  private finish(res: Resources, batchId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.finishQueue.push({ batchId, resolve, reject });
      this.finishing ??= (async () => {
        try {
          while (this.finishQueue.length) {
            const batch = this.finishQueue.splice(0);
            try {
              await res.db.query(`celeriac_beat_finish_${this.schema}`, this.sql.finish, [
                batch.map((b) => b.batchId),
                this.name,
              ]);
              for (const b of batch) b.resolve();
            } catch (err) {
              for (const b of batch) b.reject(err);
            }
          }
        } finally {
          this.finishing = undefined;
        }
      })();
    });
  }

  /**
   * PENDING rows carrying periodic_task_name, as any sender writes them, and Celery's
   * after_task_publish signal. A re-sent batch has only its outbox records, so it writes what
   * they hold (the worker fills in the rest).
   */
  private recordPending(runs: OutboxRun[], prepared: PreparedMessage[] | null): void {
    if (prepared) {
      this.app.recordPending(prepared);
      if (this.app.signals.has('afterPublish')) for (const p of prepared) this.app.signals.emit('afterPublish', p.info);
      return;
    }
    if (!this.app.config.trackPending) return;
    this.app.results().then(
      (store) => {
        for (const r of runs) {
          store.writeLater({
            taskId: r.taskId,
            status: 'PENDING',
            retries: 0,
            taskName: r.task,
            periodicTaskName: r.name,
            queue: r.queue,
            rootId: r.taskId,
          });
        }
      },
      (err) => this.log('warn', 'could not record PENDING', { error: (err as Error).message }),
    );
  }

  /**
   * Settles batches claimed but not confirmed sent: ours at once, another beat's after the
   * lease. The re-send uses the batch's marker, so runs that did reach Redis are not sent again.
   */
  private async recoverOutbox(res: Resources, nowMs: number, result: TickResult): Promise<void> {
    const taken = await res.db.query<{
      batch_id: string;
      first_claimed_at: Date;
      attempts: number;
      runs: string;
      previous_owner: string;
    }>(`celeriac_beat_takeover_${this.schema}`, this.sql.takeOver, [
      this.name,
      new Date(nowMs),
      new Date(nowMs - this.opts.outboxLeaseMs),
      RECOVER_BATCHES_PER_TICK,
      [...this.sending.keys(), ...this.abandoned],
    ]);
    for (const t of taken) {
      const b = { ...t, runs: JSON.parse(t.runs) as OutboxRun[] };
      const ageMs = nowMs - new Date(b.first_claimed_at).getTime();
      if (ageMs > this.opts.sentMarkerTtlMs - this.opts.outboxLeaseMs) {
        // Redis may have forgotten whether these went out; re-sending could run them twice.
        await this.finish(res, b.batch_id);
        this.fail(
          `gave up ${b.runs.length} runs claimed ${Math.round(ageMs / 1000)} s ago that no beat could confirm as sent ` +
            `(${b.runs
              .map((r) => `${r.name}@${r.scheduledAt}`)
              .slice(0, 10)
              .join(', ')}): re-sending after sentMarkerTtlMs could duplicate them`,
          new CeleriacError('outbox batch expired'),
        );
        continue;
      }
      let resent: boolean;
      try {
        resent = await this.deliver(res, b.batch_id, b.runs, null, result);
      } catch (err) {
        if (isSimulatedCrash(err)) throw err;
        this.fail(`could not re-send outbox batch ${b.batch_id}; retrying`, err);
        break;
      }
      result.recovered++;
      if (b.previous_owner !== this.name) {
        this.log(
          'warn',
          resent
            ? 'beat re-sent runs another beat claimed but never sent'
            : 'beat settled a batch another beat had sent',
          {
            batch: b.batch_id,
            from: b.previous_owner,
            runs: b.runs.length,
          },
        );
      }
      this.emit('recovered', { batchId: b.batch_id, previousOwner: b.previous_owner, runs: b.runs.length, resent });
    }
  }

  private async markBad(db: BeatDb, bad: { row: ScheduledRow; error: string }[], result: TickResult): Promise<void> {
    await db.query(`celeriac_beat_errors_${this.schema}`, this.sql.markErrors, [
      bad.map((b) => b.row.id),
      bad.map((b) => b.row.revision),
      bad.map((b) => b.error),
    ]);
    result.rowErrors += bad.length;
    for (const { row, error } of bad) {
      this.log('warn', 'beat skips a periodic task it cannot run; fix the row to resume it', {
        periodicTask: row.name,
        id: row.id,
        error,
      });
      if (this.listenerCount('rowError') > 0) this.emit('rowError', { periodicTaskId: row.id, name: row.name, error });
    }
  }

  /** The earliest of: the next slot less `aheadMs` (when to claim it), the next outbox lease to lapse; now if rows wait to be planned. */
  private async nextWakeAt({ db }: Resources, nowMs: number, aheadMs: number): Promise<Date | null> {
    const [w] = await db.query<{ next_run_at: Date | null; oldest_claim: Date | null; stale: boolean }>(
      `celeriac_beat_wake_${this.schema}`,
      this.sql.nextWake,
      [],
    );
    this.rowsToPlan = w.stale;
    if (w.stale) return new Date(nowMs);
    const candidates = [
      w.next_run_at ? new Date(w.next_run_at).getTime() - aheadMs : Infinity,
      w.oldest_claim ? new Date(w.oldest_claim).getTime() + this.opts.outboxLeaseMs : Infinity,
    ];
    const at = Math.min(...candidates);
    return at === Infinity ? null : new Date(at);
  }

  private async loop(): Promise<void> {
    let idleRounds = 0;
    let failures = 0;
    while (this.state === 'running') {
      this.wakeRequested = false;
      let wakeAt: number;
      try {
        const startedAt = this.clock.now();
        const aheadMs = this.opts.claimAheadMs;
        const r = await this.chainTick(() => this.clock.now(), aheadMs, REPLAN_BUDGET_MS);
        failures = 0;
        idleRounds =
          r.sent + r.scheduled + r.skipped + r.replanned + r.recovered + r.rowErrors > 0 ? 0 : idleRounds + 1;
        wakeAt = r.nextWakeAt ? r.nextWakeAt.getTime() : Infinity;
        // Having claimed ahead, claim again after half the window rather than for every next
        // slot: at 100,000 tasks a minute that is two claims a second, each run still claimed
        // at least half the window before its slot. Rows waiting to be planned do not wait.
        if (r.scheduled > 0 && !this.rowsToPlan) wakeAt = Math.max(wakeAt, startedAt + aheadMs / 2);
      } catch (err) {
        failures++;
        this.fail('beat tick failed; retrying', err);
        wakeAt = this.clock.now() + Math.min(100 * 2 ** failures, 5000);
      }
      if (this.state !== 'running') break;
      const cap = this.listening ? this.opts.maxSleepMs : this.opts.pollIntervalMs;
      let delayMs = Math.min(wakeAt - this.clock.now(), cap);
      // Due but not claimable (locked by a long transaction, or another beat mid-claim): back
      // off briefly instead of spinning on it.
      if (delayMs <= 0 && idleRounds > 0)
        delayMs = Math.min(10 * 2 ** Math.min(idleRounds, 7), this.opts.pollIntervalMs);
      if (delayMs > 0 && !this.wakeRequested) await this.sleep(delayMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private async writeHeartbeat(): Promise<void> {
    const { db } = await this.ensureResources();
    await db.query(`celeriac_beat_heartbeat_${this.schema}`, this.sql.heartbeat, [
      this.name,
      hostname(),
      process.pid,
      new Date(this.startedAtMs),
      new Date(this.clock.now()),
      this.listening,
    ]);
  }

  private ensureResources(): Promise<Resources> {
    this.resources ??= (async () => {
      const ds = await this.app.dataSource();
      const db = BeatDb.open(ds, this.name);
      try {
        await db.query(
          `celeriac_beat_probe_${this.schema}`,
          `SELECT 1 FROM "${this.schema}".celeriac_beat_outbox LIMIT 0`,
          [],
        );
      } catch (err) {
        await db.close();
        if (/does not exist/.test((err as Error).message)) throw new BeatNotMigratedError(this.schema, { cause: err });
        throw err;
      }
      return { db, sender: brokerBatchSender(() => this.app.broker()) };
    })();
    this.resources.catch(() => (this.resources = undefined));
    return this.resources;
  }

  private async release(): Promise<void> {
    const pending = this.resources;
    this.resources = undefined;
    const res = await pending?.catch(() => undefined);
    if (!res) return;
    await res.sender.close();
    await res.db.close();
  }

  private fail(message: string, err: unknown): void {
    const cause = err instanceof Error ? err : new Error(String(err));
    this.log('error', message, { error: cause.message });
    if (this.listenerCount('error') > 0)
      this.emit('error', new CeleriacError(`${message}: ${cause.message}`, { cause }));
  }

  /** Runs a fault-injection hook; what it throws stands for the process dying there, so nothing may catch it. */
  private async hook(fn: ((batchId: string) => void | Promise<void>) | undefined, batchId: string): Promise<void> {
    if (!fn) return;
    try {
      await fn(batchId);
    } catch (err) {
      throw Object.assign(err as object, { [SIMULATED_CRASH]: true });
    }
  }

  private log(level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
    this.app.logger.log(level, message, { beat: this.name, ...fields });
  }
}
