/**
 * django-celery-beat's four schedule tables, declared once: each table, the periodic task's
 * column that points at it, and its columns as the migration types them (migrations/
 * 0002-beat.ts). From it come the column limits validation checks, the bulk find-or-create
 * (./sql/findOrCreateSchedules.ts), and the admin's schedule list.
 */
import { INT32_MAX, instantProblem } from '../db/limits';
import type { FieldError, ScheduleSpec } from './schedule';

export type ScheduleKind = ScheduleSpec['kind'];

export interface ScheduleColumn {
  /** The ScheduleSpec property. */
  key: string;
  column: string;
  sqlType: string;
}

const col = (key: string, sqlType: string): ScheduleColumn => ({
  key,
  column: key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
  sqlType,
});

export const SCHEDULE_TABLES: Record<ScheduleKind, { table: string; fk: ScheduleFk; columns: ScheduleColumn[] }> = {
  interval: {
    table: 'celeriac_interval_schedule',
    fk: 'interval_id',
    columns: [col('every', 'integer'), col('period', 'varchar(24)')],
  },
  crontab: {
    table: 'celeriac_crontab_schedule',
    fk: 'crontab_id',
    columns: [
      col('minute', 'varchar(240)'),
      col('hour', 'varchar(96)'),
      col('dayOfWeek', 'varchar(64)'),
      col('dayOfMonth', 'varchar(124)'),
      col('monthOfYear', 'varchar(64)'),
      col('timezone', 'varchar(63)'),
    ],
  },
  solar: {
    table: 'celeriac_solar_schedule',
    fk: 'solar_id',
    columns: [col('event', 'varchar(24)'), col('latitude', 'numeric(9,6)'), col('longitude', 'numeric(9,6)')],
  },
  clocked: { table: 'celeriac_clocked_schedule', fk: 'clocked_id', columns: [col('clockedTime', 'timestamptz')] },
};

export const SCHEDULE_KINDS = Object.keys(SCHEDULE_TABLES) as ScheduleKind[];

export type ScheduleFk = 'interval_id' | 'crontab_id' | 'solar_id' | 'clocked_id';
export type ScheduleFks = Record<ScheduleFk, number | null>;

/** The four references of a task whose schedule is row `id` of `kind`'s table. */
export function fksOf(kind: ScheduleKind, id: number): ScheduleFks {
  const fks: ScheduleFks = { interval_id: null, crontab_id: null, solar_id: null, clocked_id: null };
  fks[SCHEDULE_TABLES[kind].fk] = id;
  return fks;
}

/** A schedule row (columns as Postgres names them) as the spec it stores. */
export function specFromRow(kind: ScheduleKind, row: Record<string, unknown>): ScheduleSpec {
  const spec: Record<string, unknown> = { kind };
  for (const c of SCHEDULE_TABLES[kind].columns) {
    const v = row[c.column];
    spec[c.key] = c.sqlType === 'timestamptz' ? new Date(v as string) : c.sqlType.startsWith('varchar') ? v : Number(v);
  }
  return spec as ScheduleSpec;
}

/** The spec as its table's row, keyed by column. */
export function rowOfSpec(spec: ScheduleSpec): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const c of SCHEDULE_TABLES[spec.kind].columns) row[c.column] = (spec as Record<string, unknown>)[c.key];
  return row;
}

/**
 * What a schedule that means something could still not store: text longer than its varchar,
 * a whole number past int32, an instant before 4714 BC.
 */
export function columnLimitErrors(spec: ScheduleSpec): FieldError[] {
  const errors: FieldError[] = [];
  for (const c of SCHEDULE_TABLES[spec.kind].columns) {
    const value = (spec as Record<string, unknown>)[c.key];
    const length = /^varchar\((\d+)\)$/.exec(c.sqlType)?.[1];
    if (length && typeof value === 'string' && value.length > Number(length)) {
      errors.push({
        field: c.key,
        message: `is ${value.length} characters, more than the ${length} the column holds: use ranges (1-5) or steps (*/5)`,
      });
    } else if (c.sqlType === 'integer' && typeof value === 'number' && value > INT32_MAX) {
      errors.push({
        field: c.key,
        message: `${value} is more than the column holds (${INT32_MAX}): use a longer period, e.g. hours instead of seconds`,
      });
    } else if (c.sqlType === 'timestamptz' && value instanceof Date) {
      const problem = instantProblem(value);
      if (problem) errors.push({ field: c.key, message: problem });
    }
  }
  return errors;
}
