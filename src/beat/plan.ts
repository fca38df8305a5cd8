/**
 * What beat does with one row, as pure functions of (row, schedule, now): no database, no clock.
 *
 * SLOTS. A periodic task's runs are "slots": the instants its schedule produces. next_run_at
 * always holds a slot, never "last send + period", so late sends do not drift the schedule.
 * Interval schedules keep a grid anchored at their first slot (start_time when set); crontab
 * and solar slots come from src/beat/schedule, which owns the DST rule; a clocked schedule has
 * one slot.
 *
 * CATCH-UP. When a beat finds a row due at `now` with slot S:
 *   - the slots after S that have also passed by `now` were missed (no beat was running, or
 *     the database was away). They are never sent one by one.
 *   - catch_up = 'once' (the default, Celery's behaviour): one run is sent, for slot S, and
 *     next_run_at moves to the first slot after `now`.
 *   - catch_up = 'skip': the run is sent only if it is on time, i.e. no later slot has passed
 *     and it is at most misfireGraceMs late; otherwise nothing is sent and next_run_at moves to
 *     the first slot after `now`. The grace keeps ordinary jitter (a busy tick, a GC pause)
 *     from counting as downtime.
 * ONE-OFF. A clocked schedule, or any schedule with one_off, sends its first slot and then
 * disables itself. total_run_count keeps counting (django-celery-beat resets it to 0, #733).
 */
import { nextRunAfter, type ScheduleSpec } from './schedule';
import { scheduleKey, type ScheduledRow } from './row';

export interface RunPlan {
  action: 'send' | 'skip';
  /** The slot this run is for: the row's next_run_at when it was claimed. */
  slotMs: number;
  /** The row's next slot after this run, or null when there is none. */
  nextMs: number | null;
  /** Set enabled = false (one-off done). */
  disable: boolean;
  /** Why the row has no next run, or why this run was skipped; shown in last_error. */
  note: string | null;
}

type PlanRow = Pick<ScheduledRow, 'one_off' | 'catch_up' | 'next_run_at'>;

export function planDueRun(row: PlanRow, spec: ScheduleSpec, nowMs: number, misfireGraceMs: number): RunPlan {
  const slotMs = (row.next_run_at as Date).getTime();
  const lateMs = nowMs - slotMs;
  const skipLate = row.catch_up === 'skip';
  if (spec.kind === 'clocked' || row.one_off) {
    if (skipLate && lateMs > misfireGraceMs) {
      return {
        action: 'skip',
        slotMs,
        nextMs: null,
        disable: true,
        note: `skipped: its run at ${iso(slotMs)} was missed by ${seconds(lateMs)} and catch_up is 'skip'`,
      };
    }
    return { action: 'send', slotMs, nextMs: null, disable: true, note: null };
  }
  const following = slotAfter(spec, slotMs);
  const missed = following !== null && following <= nowMs;
  const nextMs = missed ? firstSlotAfter(spec, slotMs, nowMs) : following;
  const note = nextMs === null ? `no run after ${iso(slotMs)}: the schedule produces no later time` : null;
  if (skipLate && (missed || lateMs > misfireGraceMs)) return { action: 'skip', slotMs, nextMs, disable: false, note };
  return { action: 'send', slotMs, nextMs, disable: false, note };
}

type FirstRunRow = Pick<ScheduledRow, 'enabled' | 'start_time' | 'last_slot_at'>;

/**
 * The first slot of a row that is new, was edited, or was re-enabled (a "stale" row). Missed
 * slots before `now` are not run: an edit starts the schedule afresh.
 *   - interval: at start_time when that is ahead; else on start_time's grid, the first slot
 *     at or after now; else one period after the last slot's grid point; else (never run)
 *     one period from now, as django-celery-beat 2.8 does.
 *   - crontab, solar: the first slot after now, and not before start_time.
 *   - clocked: its clocked_time (even if past: it has not run yet), not before start_time;
 *     nothing if that exact time already ran.
 */
export function firstRun(
  row: FirstRunRow,
  spec: ScheduleSpec,
  nowMs: number,
): { nextMs: number | null; note: string | null } {
  if (!row.enabled) return { nextMs: null, note: null };
  const startMs = row.start_time ? row.start_time.getTime() : null;
  switch (spec.kind) {
    case 'interval': {
      const p = periodMs(spec);
      if (startMs !== null) {
        return { nextMs: startMs >= nowMs ? startMs : startMs + Math.ceil((nowMs - startMs) / p) * p, note: null };
      }
      if (row.last_slot_at) {
        const last = row.last_slot_at.getTime();
        return { nextMs: last + p > nowMs ? last + p : firstSlotAfter(spec, last, nowMs), note: null };
      }
      return { nextMs: nowMs + p, note: null };
    }
    case 'clocked': {
      const at = spec.clockedTime.getTime();
      if (row.last_slot_at && row.last_slot_at.getTime() === at) {
        return {
          nextMs: null,
          note: `already ran for its clocked time ${iso(at)}: set a new clocked time to run it again`,
        };
      }
      return { nextMs: startMs !== null && startMs > at ? startMs : at, note: null };
    }
    default: {
      const from = startMs !== null && startMs > nowMs ? startMs - 1 : nowMs;
      const next = nextAfter(spec, from);
      return next !== null
        ? { nextMs: next, note: null }
        : { nextMs: null, note: `no run after ${iso(from)}: the schedule produces no later time` };
    }
  }
}

/**
 * nextRunAfter, remembered per (schedule, instant): the tasks due together at one instant
 * mostly share their schedule and slot, so a burst of 10,000 costs a few computations.
 */
const memo = new Map<string, number | null>();
const MEMO_LIMIT = 50_000;

function nextAfter(spec: ScheduleSpec, afterMs: number): number | null {
  const key = scheduleKey(spec) + '@' + afterMs;
  let next = memo.get(key);
  if (next === undefined) {
    next = nextRunAfter(spec, new Date(afterMs))?.getTime() ?? null;
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(key, next);
  }
  return next;
}

/** The slot after `slotMs` on the schedule's own grid. */
function slotAfter(spec: ScheduleSpec, slotMs: number): number | null {
  if (spec.kind === 'clocked') return null;
  if (spec.kind === 'interval') return slotMs + periodMs(spec);
  return nextAfter(spec, slotMs);
}

/** The first slot strictly after `nowMs`, on the grid through `slotMs` for intervals. */
function firstSlotAfter(spec: ScheduleSpec, slotMs: number, nowMs: number): number | null {
  if (spec.kind === 'clocked') return null;
  if (spec.kind === 'interval') {
    const p = periodMs(spec);
    return slotMs + (Math.floor((nowMs - slotMs) / p) + 1) * p;
  }
  return nextAfter(spec, nowMs);
}

/** An interval's period in ms, asked of the schedule module so units live in one place. */
function periodMs(spec: Extract<ScheduleSpec, { kind: 'interval' }>): number {
  return (nextRunAfter(spec, new Date(0)) as Date).getTime();
}

const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
