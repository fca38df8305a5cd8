/**
 * A periodic task as people see it (the service's answer, the admin's JSON with Dates as ISO
 * text): the table's fields and beat's record of the row, its schedule in words, and the next
 * run, either the one a beat planned or the one it will plan.
 */
import type { PeriodicTaskEntity } from './entities';
import { fieldValues, stateValues, type PeriodicTaskState, type PeriodicTaskValues } from './fields';
import { firstRun } from './plan';
import { specOf, type ScheduledRow } from './row';
import { describeSchedule, type ScheduleSpec } from './schedule';
import { MAX_DATE_MS } from '../db/limits';
import { SCHEDULE_KINDS, SCHEDULE_TABLES, type ScheduleFk } from './schedule-tables';

export interface PeriodicTaskView extends PeriodicTaskValues, PeriodicTaskState {
  id: number;
  /** null when the stored schedule is invalid (see lastError). */
  schedule: ScheduleSpec | null;
  /** "every 5 minutes", "at 02:30 every day (Europe/Berlin)", … */
  scheduleText: string;
  /**
   * nextRunAt, or, before a beat has planned the row (new, edited, re-enabled), the run it will
   * plan: the same rule (src/beat/plan.ts firstRun) with the row's own last run and start time.
   */
  nextRunExpectedAt: Date | null;
}

/** What decides a row's next run, as an entity or a view holds it. */
export interface RunInputs {
  enabled: boolean;
  startTime: Date | null;
  lastSlotAt: Date | null;
  nextRunAt: Date | null;
}

/**
 * The next run of a row with this schedule: the run a beat planned, or, while it has none (a
 * new or edited row is re-planned at the next tick), the one it will plan at `nowMs`.
 */
export function expectedNextRun(row: RunInputs, spec: ScheduleSpec, nowMs: number): Date | null {
  if (row.nextRunAt) return row.nextRunAt;
  if (!row.enabled) return null;
  const { nextMs } = firstRun({ enabled: true, start_time: row.startTime, last_slot_at: row.lastSlotAt }, spec, nowMs);
  return nextMs === null || nextMs > MAX_DATE_MS ? null : new Date(nextMs);
}

export function toView(e: PeriodicTaskEntity, nowMs: number): PeriodicTaskView {
  const { spec, errors } = specOf(entityRow(e));
  let scheduleText: string;
  let nextRunExpectedAt: Date | null = null;
  try {
    scheduleText = spec
      ? describeSchedule(spec)
      : `invalid schedule: ${errors.map((x) => `${x.field}: ${x.message}`).join('; ')}`;
    // A row beat parked (lastError) has no next run until someone fixes it.
    if (spec && !e.lastError) nextRunExpectedAt = expectedNextRun(e, spec, nowMs);
  } catch (err) {
    scheduleText = `invalid schedule: ${(err as Error).message}`;
  }
  return {
    id: e.id,
    ...fieldValues(e),
    ...stateValues(e),
    schedule: spec,
    scheduleText,
    nextRunExpectedAt,
  };
}

/** The entity's schedule relation in the row shape specOf checks (and caches verdicts for). */
function entityRow(e: PeriodicTaskEntity): ScheduledRow {
  const row: Record<string, unknown> = {};
  for (const kind of SCHEDULE_KINDS) {
    const { fk, columns } = SCHEDULE_TABLES[kind];
    const related = e[kind] as Record<string, unknown> | null | undefined;
    row[fk] = e[FK_PROPERTY[fk]];
    for (const c of columns) row[c.column] = related?.[c.key] ?? null;
  }
  return row as unknown as ScheduledRow;
}

const FK_PROPERTY = {
  interval_id: 'intervalId',
  crontab_id: 'crontabId',
  solar_id: 'solarId',
  clocked_id: 'clockedId',
} as const satisfies Record<ScheduleFk, keyof PeriodicTaskEntity>;
