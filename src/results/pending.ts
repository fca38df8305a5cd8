/**
 * The result store's states not yet committed, one per task (a later state merged in), with the
 * callers waiting on them. Every task a worker runs passes through here, and what a row holds
 * until its batch commits survives the worker's scavenges (1 MiB semi-spaces, heap-flags.ts), so
 * a row is kept to one object and its caller, and the queue is emptied without shrinking its
 * table entry by entry (issue 21).
 */
import { callContained } from '../contain';
import type { WriteResult } from './batch-write';
import { mergeStates as merge, type StateUpdate } from './rows';
import { stateSeq } from './state-rules';

export type Waiter = (result: WriteResult) => void;

/** A state queued for writing, with the callers waiting on it. */
export interface Pending {
  update: StateUpdate;
  seq: number;
  /** The caller waiting (a worker's write has one; a send's PENDING none), then any merged in. */
  waiter: Waiter | undefined;
  more: Waiter[] | undefined;
  /** Committed, replaced or dropped: a batch that fails part-way keeps only the rows not settled. */
  settled: boolean;
}

/** Queues `update`, merged with a queued state of the same task (the later one wins). */
export function enqueue(pending: Map<string, Pending>, update: StateUpdate, waiter: Waiter | undefined): void {
  const seq = stateSeq(update.status, update.retries);
  const existing = pending.get(update.taskId);
  if (!existing) {
    pending.set(update.taskId, { update, seq, waiter, more: undefined, settled: false });
    return;
  }
  if (waiter) addWaiter(existing, waiter);
  existing.update = seq >= existing.seq ? merge(existing.update, update) : merge(update, existing.update);
  existing.seq = Math.max(seq, existing.seq);
}

/** Puts back a row whose batch failed, under anything written for its task meanwhile. */
export function restore(pending: Map<string, Pending>, p: Pending): void {
  const newer = pending.get(p.update.taskId);
  if (!newer) {
    pending.set(p.update.taskId, p);
    return;
  }
  if (p.waiter) addWaiter(newer, p.waiter);
  for (const w of p.more ?? []) addWaiter(newer, w);
  newer.update = newer.seq >= p.seq ? merge(p.update, newer.update) : merge(newer.update, p.update);
  newer.seq = Math.max(newer.seq, p.seq);
}

/**
 * Up to `max` queued rows, leaving those of tasks with a row in a batch in flight for a later
 * batch (several lanes: ResultStore.inFlight). Not sorted: each statement orders its rows by task
 * id itself (sql.ts, COLLATE "C"), which is what keeps two writers' row locks in one order; a
 * sort here cost ~1 µs a row (W1 profile).
 */
export function take(
  pending: Map<string, Pending>,
  inFlight: ReadonlySet<{ rows: readonly Pending[] }>,
  max: number,
): Pending[] {
  if (inFlight.size === 0 && pending.size <= max) {
    const all = [...pending.values()];
    pending.clear();
    return all;
  }
  const held = new Set<string>();
  for (const b of inFlight) for (const p of b.rows) held.add(p.update.taskId);
  const batch: Pending[] = [];
  for (const [id, p] of pending) {
    if (held.has(id)) continue;
    batch.push(p);
    pending.delete(id);
    if (batch.length >= max) break;
  }
  return batch;
}

/** Calls each of `p`'s waiters with `result`; a throw is reported and the others still called. */
export function callWaiters(p: Pending, result: WriteResult, report: (err: unknown) => void): void {
  if (p.waiter) callContained(p.waiter, result, report);
  if (p.more) for (const w of p.more) callContained(w, result, report);
}

function addWaiter(p: Pending, w: Waiter): void {
  if (!p.waiter) p.waiter = w;
  else (p.more ??= []).push(w);
}
