import { PERIODIC_TASK_FIELD_NAMES, PERIODIC_TASK_FIELDS, type FieldSpec, type PeriodicTaskField } from '../fields';
import { SCHEDULE_TABLES, SCHEDULE_KINDS } from '../schedule-tables';
import { statement, type Statement } from './statement';

/**
 * Writes many periodic tasks in one statement, their columns taken from the field table
 * (../fields.ts): PeriodicTaskService.createMany ('insert'), upsertMany ('upsert', by name) and
 * the beatSchedule sync at beat start ('sync'). Rows go in the order given, so ids follow it
 * and two writers lock rows in the same order.
 *
 * - insert: a name that exists fails the statement (23505); the service checks names first to
 *   name every duplicate, and this is the backstop for a concurrent insert.
 * - upsert: an existing row of that name gets every field, keeping its source and history.
 * - sync: as upsert, with source = 'code'; a field code sets only when declared (enabled,
 *   description) keeps the row's value unless the row's name is in that field's list ($2, $3, …
 *   in the order of declaredFields()), so an admin's pause survives restarts.
 * An unchanged row writes nothing the triggers see as a change, so re-syncing re-plans nothing.
 *
 * Takes rows { ord, interval_id, crontab_id, solar_id, clocked_id, <column>: value, … } and, for
 * sync, the names that declare each 'declared' field. Returns id and name of each row written, and whether it was created (a row an upsert updated
 * carries the updating transaction's id in xmax; a fresh insert has none).
 */
export type UpsertMode = 'insert' | 'upsert' | 'sync';

const FIELDS = PERIODIC_TASK_FIELD_NAMES.map((k) => PERIODIC_TASK_FIELDS[k] as FieldSpec<unknown>);
const FKS = SCHEDULE_KINDS.map((k) => SCHEDULE_TABLES[k].fk);

/** The fields sync sets only when an entry declares them, in the order of their name-list parameters. */
export function declaredFields(): PeriodicTaskField[] {
  return PERIODIC_TASK_FIELD_NAMES.filter((k) => PERIODIC_TASK_FIELDS[k].sync === 'declared');
}

export interface UpsertInput {
  rows: Record<string, unknown>[];
  /** sync: the names of the entries that declare each field declaredFields() lists. */
  declared?: (field: PeriodicTaskField) => string[];
}

export function upsertPeriodicTasks(
  schema: string,
  mode: UpsertMode,
): Statement<UpsertInput, { id: number; name: string; created: boolean }> {
  const columns = [...FKS, ...FIELDS.map((f) => f.column)];
  const types = [...FKS.map((c) => `${c} integer`), ...FIELDS.map((f) => `${f.column} ${f.sqlType}`)];
  const declared = declaredFields().map((k) => PERIODIC_TASK_FIELDS[k].column);
  const set = columns
    .filter((c) => c !== 'name')
    .map((c) => {
      const i = mode === 'sync' ? declared.indexOf(c) : -1;
      return i < 0
        ? `${c} = EXCLUDED.${c}`
        : `${c} = CASE WHEN EXCLUDED.name = ANY($${i + 2}::text[]) THEN EXCLUDED.${c} ELSE pt.${c} END`;
    });
  if (mode === 'sync') set.push(`source = 'code'`);
  const text = `
    INSERT INTO "${schema}".celeriac_periodic_task AS pt (${columns.join(', ')}, source)
    SELECT ${columns.map((c) => `r.${c}`).join(', ')}, '${mode === 'sync' ? 'code' : 'db'}'
      FROM jsonb_to_recordset($1::jsonb) AS r(ord integer, ${types.join(', ')})
     ORDER BY r.ord
    ${mode === 'insert' ? '' : `ON CONFLICT (name) DO UPDATE SET ${set.join(', ')}`}
    RETURNING id, name, (xmax = 0) AS created`;
  return statement(`upsert_${mode}`, schema, text, ({ rows, declared }) => [
    JSON.stringify(rows),
    ...(mode === 'sync' ? declaredFields().map((f) => declared?.(f) ?? []) : []),
  ]);
}
