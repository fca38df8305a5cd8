/**
 * The outbox side of exactly-once (README.md in this folder, steps 2-4): sending a claimed group
 * once (Broker.sendOnce, through ./send-once.ts), deleting its outbox row after, sending
 * groups claimed ahead at their instants, and settling batches nobody confirmed (a failed send,
 * a dead or stuck beat).
 */
import { CeleriacError } from '../errors';
import type { TickResult } from './events';
import { isSimulatedCrash } from './fault-hooks';
import type { SendGroup } from './planner';
import type { BeatRuntime, PreparedRun } from './runtime';
import type { OutboxRun } from './send-once';

/** Batches taken over per tick: a backlog is worked off over a few ticks, never in one long one. */
const RECOVER_BATCHES_PER_TICK = 20;

export class Outbox {
  /** Groups claimed ahead and not yet settled (waiting for their instant, or being sent): batch id → done. */
  private readonly sending = new Map<string, Promise<void>>();
  /** Batches a fault hook "crashed" in a timer: this beat behaves as if dead for them. */
  private readonly abandoned = new Set<string>();
  private readonly deletes: DeleteBatcher;

  constructor(private readonly rt: BeatRuntime) {
    this.deletes = new DeleteBatcher(rt);
  }

  /**
   * Sends a claimed group now, once, then removes it from the outbox. Throws when Redis refuses:
   * the runs stay in the outbox and the sweep (recover) sends them, under the same marker.
   */
  async sendNow(group: SendGroup, result: TickResult): Promise<void> {
    await this.deliver(group.batchId, group.runs, group.prepared, result);
  }

  /**
   * Sends a group claimed ahead at its instant. Until it is settled the group is in `sending`,
   * which this beat's sweep leaves alone; if the send fails, or the timer fires so late that the
   * lease (counted from the instant) is half gone, the outbox row stays and the sweep sends it
   * under the same marker (this beat's at its next tick, another's after the lease).
   * Never rejects: a timer has nobody to throw to, so failures are reported.
   */
  sendAt(g: SendGroup): void {
    const { clock, opts } = this.rt;
    const done = (async () => {
      const waitMs = g.sendAtMs - clock.now();
      if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
      const lateMs = clock.now() - g.sendAtMs;
      if (lateMs > opts.outboxLeaseMs / 2) {
        this.rt.log('warn', 'beat left a late batch to the outbox sweep', {
          batch: g.batchId,
          runs: g.runs.length,
          lateMs,
        });
        return;
      }
      try {
        await this.deliver(g.batchId, g.runs, g.prepared, null);
      } catch (err) {
        if (isSimulatedCrash(err)) {
          this.abandoned.add(g.batchId);
          return;
        }
        this.rt.fail(`could not send ${g.runs.length} due runs; they stay in the outbox and are retried`, err);
      }
    })()
      .catch((err) => this.rt.fail('beat could not send a batch claimed ahead', err))
      .finally(() => this.sending.delete(g.batchId));
    this.sending.set(g.batchId, done);
  }

  /**
   * Settles batches claimed but not confirmed sent: ours at once, another beat's after the
   * lease. The re-send uses the batch's marker, so runs that did reach Redis are not sent again.
   */
  async recover(nowMs: number, result: TickResult): Promise<void> {
    const { db, sql, opts, name } = this.rt;
    const taken = await db.run(sql.takeOver, {
      beat: name,
      nowMs,
      leaseCutoffMs: nowMs - opts.outboxLeaseMs,
      limit: RECOVER_BATCHES_PER_TICK,
      sending: [...this.sending.keys(), ...this.abandoned],
    });
    for (const t of taken) {
      const runs = JSON.parse(t.runs) as OutboxRun[];
      const ageMs = nowMs - new Date(t.first_claimed_at).getTime();
      if (ageMs > opts.sentMarkerTtlMs - opts.outboxLeaseMs) {
        // Redis may have forgotten whether these went out; re-sending could run them twice.
        await this.deletes.delete(t.batch_id);
        this.rt.fail(
          `gave up ${runs.length} runs claimed ${Math.round(ageMs / 1000)} s ago that no beat could confirm as sent ` +
            `(${runs
              .map((r) => `${r.name}@${r.scheduledAt}`)
              .slice(0, 10)
              .join(', ')}): re-sending after sentMarkerTtlMs could duplicate them`,
          new CeleriacError('outbox batch expired'),
        );
        continue;
      }
      let resent: boolean;
      try {
        resent = await this.deliver(t.batch_id, runs, null, result);
      } catch (err) {
        if (isSimulatedCrash(err)) throw err;
        this.rt.fail(`could not re-send outbox batch ${t.batch_id}; retrying`, err);
        break;
      }
      result.recovered++;
      if (t.previous_owner !== name) {
        this.rt.log(
          'warn',
          resent
            ? 'beat re-sent runs another beat claimed but never sent'
            : 'beat settled a batch another beat had sent',
          { batch: t.batch_id, from: t.previous_owner, runs: runs.length },
        );
      }
      this.rt.events.emit('recovered', {
        batchId: t.batch_id,
        previousOwner: t.previous_owner,
        runs: runs.length,
        resent,
      });
    }
  }

  /** Waits until every group claimed ahead is settled: they are ours to send, at their instants (at most claimAheadMs). */
  async stop(): Promise<void> {
    while (this.sending.size) await Promise.all(this.sending.values());
  }

  /**
   * Sends a claimed batch once, then removes it from the outbox. `prepared` is null for a
   * re-send, which has only the outbox records. True when this call delivered it, false when an
   * earlier one had.
   */
  private async deliver(
    batchId: string,
    runs: OutboxRun[],
    prepared: PreparedRun[] | null,
    result: TickResult | null,
  ): Promise<boolean> {
    const { rt } = this;
    const delivered = await rt.sender.sendOnce(batchId, runs, rt.opts.sentMarkerTtlMs);
    await rt.faultPoint('afterSend', batchId);
    // Celery's after_task_publish and the PENDING rows as soon as Redis has the messages: the
    // outbox row's delete below is beat's own bookkeeping, a Postgres round trip that came
    // 10-400 ms after the send in a loaded burst of 1,000 (bench/ANALYSIS.md, seventh round,
    // "burst"), and a delete that fails left a delivered batch with neither (its re-send finds
    // the marker and records nothing).
    if (delivered) {
      if (prepared) rt.host.recordSent(prepared);
      else
        rt.host
          .recordResent(runs)
          .catch((err) => rt.log('warn', 'could not record PENDING', { error: (err as Error).message }));
    }
    await this.deletes.delete(batchId);
    if (delivered) {
      if (result) result.sent += runs.length;
      rt.events.emit(
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
}

/**
 * Deletes sent batches from the outbox. Deletes requested while one is in flight go out
 * together in the next statement: at 100,000 tasks a minute a beat sends a group every few ms.
 */
class DeleteBatcher {
  private queue: { batchId: string; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly rt: BeatRuntime) {}

  delete(batchId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ batchId, resolve, reject });
      this.running ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0);
        try {
          await this.rt.db.run(this.rt.sql.finish, { batchIds: batch.map((b) => b.batchId), beat: this.rt.name });
          for (const b of batch) b.resolve();
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}
