/**
 * Beat on a Django project's django-celery-beat 2.x tables (app option `tables: 'django'`).
 * Django's tables stay the source of truth and keep their schema: this adapter mirrors them into
 * beat's own tables beside them (created by `celeriac migrate`), where the claim, outbox and
 * send-once machinery gives every guarantee it gives Celeriac's own rows (several beats, each run
 * sent once, the DST rule), and copies the run history back as Python's beat keeps it:
 *
 *   Django -> beat   when django_celery_beat_periodictasks.last_update changes (Django bumps it on
 *                    every ORM save or delete of a periodic task, and Python's beat polls it the
 *                    same way), polled every `DJANGO_POLL_MS`: rows upserted by name (args, kwargs
 *                    and headers parsed from their JSON text), rows gone from Django deleted.
 *   beat -> Django   after every tick: last_run_at, total_run_count, and enabled = false for a
 *                    one-off that ran, by name, only where they differ (no write otherwise, and
 *                    date_changed and last_update are not touched, as Python's beat leaves them).
 *
 * A Django row beat cannot run (an unknown schedule, JSON that does not parse) is skipped with a
 * warning naming the row and the field, and the others are mirrored.
 */
import type { TxQuery } from './db';
import { DJANGO_FIELD_COLUMNS } from './fields';
import { SCHEDULE_TABLES, SCHEDULE_KINDS, specFromRow, type ScheduleKind } from './schedule-tables';
import { validatePeriodicTask, type ValidPeriodicTask } from './validation';
import { findOrCreateScheduleRows, writePeriodicTasks } from './write';
import type { LogLevel } from '../log';

/** How often beat looks at Django's change marker: changes in Django's admin run within this. */
export const DJANGO_POLL_MS = 1000;

const djangoTable = (kind: ScheduleKind) => `django_celery_beat_${kind}schedule`;

/** The periodic task's columns beat reads (toTask); the schedule's come from SCHEDULE_TABLES. */
const READ_COLUMNS = [...DJANGO_FIELD_COLUMNS, ...SCHEDULE_KINDS.map((k) => SCHEDULE_TABLES[k].fk)];

type Transaction = <T>(fn: (q: TxQuery) => Promise<T>) => Promise<T>;

export class DjangoScheduleMirror {
  /** The last_update mirrored; undefined until the first sync. */
  private seen: string | null | undefined = undefined;
  /**
   * A hash of what each mirrored row held (the fields beat reads, and date_changed), by name: a re-read fetches,
   * validates and writes only the rows whose hash differs, so one edit among 100,000 rows costs
   * their hashes, not 100,000 upserts. Rows beat could not run are not kept here, so they are
   * looked at (and logged) again.
   */
  private mirrored = new Map<string, string>();

  constructor(
    private readonly transaction: Transaction,
    private readonly schema: string,
    private readonly defaultTimezone: string,
    private readonly log: (level: LogLevel, message: string, fields?: Record<string, unknown>) => void,
    /** Names beat installs itself (celery.backend_cleanup): never deleted for being absent from Django. */
    private readonly keep: string[] = [],
  ) {}

  private t(table: string): string {
    return `"${this.schema}".${table}`;
  }

  /** Mirrors Django's rows if they changed since the last call; true when it did. */
  async poll(): Promise<boolean> {
    return this.transaction(async (q) => {
      const [marker] = await q(
        `SELECT last_update::text AS v FROM ${this.t('django_celery_beat_periodictasks')} WHERE ident = 1`,
      );
      const v: string | null = marker?.v ?? null;
      if (this.seen !== undefined && v === this.seen) return false;
      await q(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`${this.schema}.celeriac_beat_sync`]);
      return { v, mirrored: await this.mirror(q) };
    }).then((done) => {
      if (!done) return false;
      // Only once committed: a failed commit leaves the next poll to mirror again.
      this.seen = done.v;
      this.mirrored = done.mirrored;
      return true;
    });
  }

  private async mirror(q: TxQuery): Promise<Map<string, string>> {
    const joins = SCHEDULE_KINDS.map(
      (k) => `LEFT JOIN ${this.t(djangoTable(k))} AS s_${k} ON s_${k}.id = pt.${SCHEDULE_TABLES[k].fk}`,
    ).join('\n');
    const scheduleCols = SCHEDULE_KINDS.flatMap((k) =>
      SCHEDULE_TABLES[k].columns.map((c) => `s_${k}.${c.column} AS ${k}__${c.column}`),
    ).join(', ');
    const from = `${this.t('django_celery_beat_periodictask')} AS pt ${joins}`;
    // Every row's fields beat reads, hashed in Postgres (not its run history, which beat writes
    // back itself), so only the rows that differ from the last mirror travel and are validated.
    // date_changed too: a write through PeriodicTaskService (django-write.ts, maybe in another
    // process) changes both tables and not this memory, and moves date_changed forward. Without
    // it, a Django edit back to what was last mirrored would match the memory and be skipped,
    // leaving Celeriac's row with the service's values while Django says otherwise.
    const read = [
      ...READ_COLUMNS.map((c) => `pt.${c}`),
      'pt.date_changed',
      ...SCHEDULE_KINDS.flatMap((k) => SCHEDULE_TABLES[k].columns.map((c) => `s_${k}.${c.column}`)),
    ];
    const hashes: { name: string; h: string }[] = await q(
      `SELECT pt.name, md5(row(${read.join(', ')})::text) AS h FROM ${from}`,
    );
    const mirrored = new Map<string, string>();
    const changed: string[] = [];
    for (const { name, h } of hashes) {
      if (this.mirrored.get(name) === h) mirrored.set(name, h);
      else changed.push(name);
    }
    const rows: any[] = changed.length
      ? await q(
          `SELECT pt.*, ${scheduleCols}, md5(row(${read.join(', ')})::text) AS h FROM ${from}
            WHERE pt.name = ANY($1::text[]) ORDER BY pt.id`,
          [changed],
        )
      : [];
    const tasks: ValidPeriodicTask[] = [];
    for (const r of rows) {
      const task = this.toTask(r);
      if (!task) continue;
      tasks.push(task);
      mirrored.set(r.name, r.h);
    }
    const fks = await findOrCreateScheduleRows(
      q,
      this.schema,
      tasks.map((t) => t.schedule),
    );
    await writePeriodicTasks(q, this.schema, tasks, fks, 'upsert');
    await q(`DELETE FROM ${this.t('celeriac_periodic_task')} WHERE source <> 'code' AND NOT (name = ANY($1::text[]))`, [
      [...mirrored.keys(), ...this.keep],
    ]);
    return mirrored;
  }

  /** A Django row as beat's validated task, or null (logged) when beat cannot run it. */
  private toTask(r: any): ValidPeriodicTask | null {
    const problems: string[] = [];
    const json = (field: string, text: string, fallback: unknown) => {
      if (text === null || text === undefined || text === '') return fallback;
      try {
        return JSON.parse(text);
      } catch {
        problems.push(`${field} is not JSON (${JSON.stringify(String(text).slice(0, 40))})`);
        return fallback;
      }
    };
    const kind = SCHEDULE_KINDS.find((k) => r[SCHEDULE_TABLES[k].fk] !== null);
    let schedule: unknown = null;
    if (kind) {
      const srow: Record<string, unknown> = {};
      for (const c of SCHEDULE_TABLES[kind].columns) srow[c.column] = r[`${kind}__${c.column}`];
      schedule = specFromRow(kind, srow);
    } else problems.push('it has no schedule (interval, crontab, solar or clocked)');
    const input = {
      name: r.name,
      task: r.task,
      schedule,
      args: json('args', r.args, []),
      kwargs: json('kwargs', r.kwargs, {}),
      headers: json('headers', r.headers, {}),
      queue: r.queue || null,
      exchange: r.exchange || null,
      routingKey: r.routing_key || null,
      priority: r.priority,
      expires: r.expires ? new Date(r.expires) : null,
      expireSeconds: r.expire_seconds,
      oneOff: r.one_off,
      startTime: r.start_time ? new Date(r.start_time) : null,
      enabled: r.enabled,
      description: r.description ?? '',
    };
    if (problems.length === 0) {
      const v = validatePeriodicTask(input, { defaultTimezone: this.defaultTimezone });
      if (v.value) return v.value;
      problems.push(...v.errors.map((e) => `${e.field}: ${e.message}`));
    }
    this.log('warn', `django periodic task '${r.name}' (id ${r.id}) is not run by beat: ${problems.join('; ')}`, {
      table: 'django_celery_beat_periodictask',
    });
    return null;
  }

  /** Copies run history to Django's rows where it differs. */
  async writeBack(): Promise<void> {
    await this.transaction((q) =>
      q(
        `UPDATE ${this.t('django_celery_beat_periodictask')} AS d
            SET last_run_at = c.last_run_at, total_run_count = c.total_run_count,
                enabled = CASE WHEN d.one_off AND c.total_run_count > d.total_run_count THEN false ELSE d.enabled END
           FROM ${this.t('celeriac_periodic_task')} AS c
          WHERE c.name = d.name
            AND (d.last_run_at IS DISTINCT FROM c.last_run_at OR d.total_run_count <> c.total_run_count)`,
      ),
    );
  }
}
