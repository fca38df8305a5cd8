/**
 * Writing validated periodic tasks in bulk, inside the caller's transaction: their schedules
 * first (found or created in one statement per kind), then the tasks (one statement). Used by
 * PeriodicTaskService (create, createMany, upsertMany) and the beatSchedule sync.
 */
import type { TxQuery } from './db';
import { PERIODIC_TASK_FIELD_NAMES, PERIODIC_TASK_FIELDS, type PeriodicTaskField } from './fields';
import { scheduleKey } from './row';
import type { ScheduleSpec } from './schedule';
import { fksOf, rowOfSpec, SCHEDULE_KINDS, type ScheduleFks, type ScheduleKind } from './schedule-tables';
import { findOrCreateSchedules } from './sql/findOrCreateSchedules';
import { upsertPeriodicTasks, type UpsertMode } from './sql/upsertPeriodicTasks';
import type { ValidPeriodicTask } from './validation';

/** The schedule row each spec is stored as, creating the missing ones; one entry per spec, in order. */
export async function findOrCreateScheduleRows(
  q: TxQuery,
  schema: string,
  specs: ScheduleSpec[],
): Promise<ScheduleFks[]> {
  const out: ScheduleFks[] = new Array(specs.length);
  for (const kind of SCHEDULE_KINDS) {
    // Identical specs share one row and one entry in the statement.
    const distinct = new Map<string, { k: number; at: number[] }>();
    specs.forEach((spec, i) => {
      if (spec.kind !== kind) return;
      const key = scheduleKey(spec);
      const entry = distinct.get(key) ?? { k: distinct.size, at: [] };
      entry.at.push(i);
      distinct.set(key, entry);
    });
    if (distinct.size === 0) continue;
    const entries = [...distinct.values()];
    const ids = await scheduleIds(
      q,
      schema,
      kind,
      entries.map((e) => ({ k: e.k, ...rowOfSpec(specs[e.at[0]]) })),
    );
    for (const e of entries) for (const i of e.at) out[i] = fksOf(kind, ids.get(e.k)!);
  }
  return out;
}

async function scheduleIds(
  q: TxQuery,
  schema: string,
  kind: ScheduleKind,
  rows: Record<string, unknown>[],
): Promise<Map<number, number>> {
  // A second pass finds what a concurrent writer inserted first (see findOrCreateSchedules).
  for (let attempt = 1; ; attempt++) {
    const statement = findOrCreateSchedules(schema, kind);
    const found: { k: number; id: number | null }[] = await q(statement.text, statement.params(rows));
    if (found.every((r) => r.id !== null) || attempt === 3)
      return new Map(found.map((r) => [Number(r.k), Number(r.id)]));
  }
}

/**
 * Inserts or upserts the tasks with the schedule rows given (one per task, in order).
 * `declared`, for sync: the names of the entries that declare each 'declared' field.
 */
export async function writePeriodicTasks(
  q: TxQuery,
  schema: string,
  tasks: ValidPeriodicTask[],
  fks: ScheduleFks[],
  mode: UpsertMode,
  declared: (field: PeriodicTaskField) => string[] = () => [],
): Promise<{ id: number; name: string; created: boolean }[]> {
  if (tasks.length === 0) return [];
  const rows = tasks.map((t, ord) => {
    const row: Record<string, unknown> = { ord, ...fks[ord] };
    for (const k of PERIODIC_TASK_FIELD_NAMES) row[PERIODIC_TASK_FIELDS[k].column] = t[k];
    return row;
  });
  const statement = upsertPeriodicTasks(schema, mode);
  const written: { id: number; name: string; created: boolean }[] = await q(
    statement.text,
    statement.params({ rows, declared }),
  );
  return written.map((r) => ({ id: Number(r.id), name: r.name, created: r.created }));
}
