/**
 * One pass of a beat, each step a few statements whatever the table size: re-plan the rows
 * edits invalidated (./planner.ts), claim what is due and send it (./sql/claimDueRuns.ts, then
 * ./outbox.ts), settle outbox batches nobody confirmed, and ask when to look next
 * (./sql/nextWake.ts).
 */
import { performance } from 'node:perf_hooks';
import { emptyTickResult, type TickResult } from './events';
import { isSimulatedCrash } from './fault-hooks';
import type { Outbox } from './outbox';
import type { PlannedBatch, Planner, SendGroup } from './planner';
import type { ScheduledRow } from './row';
import type { BeatRuntime } from './runtime';

/** Claims of one tick running at once (see run()); beat's pool has room for them (./db.ts). */
const CLAIMS_IN_FLIGHT = 2;
/**
 * The running loop starts no new claim after this long in one tick. A beat behind a backlog
 * (more runs due than it can send) would otherwise claim for as long as the backlog lasts, and
 * an edit, which the next tick re-plans, would wait that long: with the budget it waits at most
 * about this, as when the beat keeps up. The next tick starts at once and claims on.
 */
const CLAIM_BUDGET_MS = 1000;

/** A read of due rows, planned as of `nowMs`: `full` when the read was a full batch (more may be due). */
type ReadBatch = PlannedBatch & { full: boolean; nowMs: number };

export class Ticker {
  /** The last tick left rows to plan (an edit, or more new rows than its replan budget). */
  rowsToPlan = false;

  constructor(
    private readonly rt: BeatRuntime,
    private readonly planner: Planner,
    private readonly outbox: Outbox,
  ) {}

  /**
   * `aheadMs` > 0 (the running loop): also claim runs due up to that long after `now`; timers
   * send them at their slots. `replanBudgetMs`: see Planner.replanStale.
   */
  async run(nowMs: number, aheadMs: number, replanBudgetMs: number): Promise<TickResult> {
    const { db, sql, opts } = this.rt;
    const result = emptyTickResult();
    await this.planner.replanStale(nowMs, result, replanBudgetMs);
    // Read, claim, repeat while there is more due. Rows another beat claimed meanwhile drop out
    // of the next read by themselves; stop only when a read brings nothing this tick has not
    // tried (rows locked by a long transaction, or a batch whose send failed), so two beats
    // splitting a burst both keep going, and neither spins on a row it cannot have.
    //
    // A burst is claimed in a pipeline: while one batch's claim runs in Postgres, the next batch
    // (the due rows other than those being claimed) is read and its messages encoded, which
    // takes about a third off each batch of a 10,000-run minute. Then that batch's claim starts
    // while the first is still running (CLAIMS_IN_FLIGHT): a claim spends most of its time in
    // Postgres (about 0.1 ms a run, mostly the UPDATE's new row version and index entries), and
    // one claim after another left both the beat and a second Postgres core idle, so a million
    // runs a minute (16,700 a second) fell behind at ~6,000 a second. Claims in flight cover
    // disjoint rows (each read excludes the rows of every claim still running), and each is the
    // same single statement, exactly once as before.
    //
    // The running loop plans and claims each batch as of the clock's time when it is read, not
    // the tick's start: a beat behind a backlog ticks for seconds, and a group planned "ahead" of
    // a stale now would find its instant long past when claimed, and be left to the outbox sweep
    // (20 batches a tick) instead of sent at once. tick(now) (tests) keeps its one instant.
    const current = () => (aheadMs > 0 ? Math.max(nowMs, this.rt.clock.now()) : nowMs);
    const tried = new Set<string>();
    const readDue = (excluding: number[]) =>
      db.run(sql.selectDue, { dueByMs: nowMs + aheadMs, limit: opts.batchSize, excluding });
    const take = (read: ScheduledRow[]): ReadBatch | null => {
      const rows = read.filter((r) => !tried.has(`${r.id}@${r.revision}@${new Date(r.next_run_at!).getTime()}`));
      if (rows.length === 0) return null;
      for (const r of rows) tried.add(`${r.id}@${r.revision}@${new Date(r.next_run_at!).getTime()}`);
      const at = current();
      return { ...this.planner.planDue(rows, at), full: read.length === opts.batchSize, nowMs: at };
    };
    const claimUntil = aheadMs > 0 ? performance.now() + CLAIM_BUDGET_MS : Infinity;
    const inBudget = () => performance.now() < claimUntil;
    const inFlight: { claiming: Promise<boolean | 'send-failed'>; ids: number[] }[] = [];
    try {
      let batch = take(await readDue([]));
      while (batch) {
        const claiming = this.claimAndSend(batch, batch.nowMs, result);
        // Observed at once: it may fail while an earlier claim or a read is awaited.
        claiming.catch(() => {});
        inFlight.push({ claiming, ids: batch.rows.map((r) => r.id) });
        let next: ReadBatch | null | undefined;
        if (batch.full) next = inBudget() ? take(await readDue(inFlight.flatMap((c) => c.ids))) : null;
        // With a next batch to claim, keep CLAIMS_IN_FLIGHT running; without, wait for them all.
        let progressed = false;
        let sendFailed = false;
        while (inFlight.length > (next ? CLAIMS_IN_FLIGHT - 1 : 0)) {
          const outcome = await inFlight.shift()!.claiming;
          if (outcome === 'send-failed') sendFailed = true;
          else if (outcome) progressed = true;
        }
        if (sendFailed) break;
        if (next === undefined) next = progressed && inBudget() ? take(await readDue([])) : null;
        batch = next;
      }
    } finally {
      // A claim still running when another step failed (or a send did) finishes before the tick
      // returns or throws: ticks never overlap, and its runs are in the outbox either way.
      await Promise.allSettled(inFlight.map((c) => c.claiming));
    }
    await this.outbox.recover(current(), result);
    result.nextWakeAt = await this.nextWakeAt(nowMs, aheadMs);
    return result;
  }

  /**
   * Claims a planned batch and sends it: the group due now before returning, the others by
   * timers at their instants. False when it claimed nothing, 'send-failed' when Redis refused.
   */
  private async claimAndSend(
    { planned, groups, bad }: PlannedBatch,
    nowMs: number,
    result: TickResult,
  ): Promise<boolean | 'send-failed'> {
    const { rt } = this;
    if (bad.length) await this.planner.markBad(bad, result);
    if (planned.length === 0) return bad.length > 0;

    const claimStarted = performance.now();
    const claimedRows = await rt.db.run(rt.sql.claim, { nowMs, beat: rt.name, runs: planned, groups });
    const claimed = new Set(claimedRows.map((r) => r.id));
    const mine = planned.filter((p) => claimed.has(p.id));
    const skips = mine.filter((p) => p.send === null);
    if (skips.length) {
      result.skipped += skips.length;
      const skipped = skips.map((p) => ({
        periodicTaskId: p.id,
        name: p.row.name,
        scheduledAt: new Date(p.slotMs),
        reason: p.note ?? 'missed',
      }));
      rt.log('info', 'beat skipped missed runs (catch_up = skip)', {
        runs: skipped.map((s) => `${s.name}@${s.scheduledAt.toISOString()}`),
      });
      rt.events.emit('skipped', skipped);
    }
    for (const p of mine) {
      if (p.send === null) continue;
      groups[p.send.group].runs.push(p.send.run);
      groups[p.send.group].prepared.push(p.prepared!);
    }
    const toSend = groups.filter((g) => g.runs.length > 0);
    if (toSend.length === 0) return claimed.size > 0 || bad.length > 0;

    for (const g of toSend) await rt.faultPoint('afterClaim', g.batchId);
    let now: SendGroup | undefined;
    for (const g of toSend) {
      if (g.sendAtMs <= nowMs) now = g;
      else {
        result.scheduled += g.runs.length;
        this.outbox.sendAt(g);
      }
    }
    if (!now) return true;
    // A claim that took longer than half the lease may already be someone else's to re-send:
    // leave it to takeOverBatches (ours at the next tick, theirs after the lease) rather than race.
    if (performance.now() - claimStarted > rt.opts.outboxLeaseMs / 2) {
      rt.log('warn', 'beat left a slow batch to the outbox sweep', { batch: now.batchId, runs: now.runs.length });
      return true;
    }
    try {
      await this.outbox.sendNow(now, result);
    } catch (err) {
      if (isSimulatedCrash(err)) throw err;
      // The runs are safe in the outbox; the sweep re-sends them, under the same marker.
      rt.fail(`could not send ${now.runs.length} due runs; they stay in the outbox and are retried`, err);
      return 'send-failed';
    }
    return true;
  }

  /** The earliest of: the next slot less `aheadMs` (when to claim it), the next outbox lease to lapse; now if rows wait to be planned. */
  private async nextWakeAt(nowMs: number, aheadMs: number): Promise<Date | null> {
    const [w] = await this.rt.db.run(this.rt.sql.nextWake);
    this.rowsToPlan = w.stale;
    if (w.stale) return new Date(nowMs);
    const candidates = [
      w.next_run_at ? new Date(w.next_run_at).getTime() - aheadMs : Infinity,
      w.oldest_claim ? new Date(w.oldest_claim).getTime() + this.rt.opts.outboxLeaseMs : Infinity,
    ];
    const at = Math.min(...candidates);
    return at === Infinity ? null : new Date(at);
  }
}
