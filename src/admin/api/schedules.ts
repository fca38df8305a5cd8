import { Router } from 'express';
import { describeSchedule, type ScheduleSpec } from '../../beat/schedule';
import type { AdminContext } from '../context';
import { fieldErrors, HttpError, notFound, validationFailed } from '../http';
import { noBody } from '../validate';
import type { ScheduleJson } from '../types';

/**
 * django-celery-beat's four schedule tables, read-only apart from removing unused rows.
 * Schedules are created and changed through their periodic tasks (PeriodicTaskService points a
 * task at an identical row or a new one, never editing a row another task may share), so the
 * only write here is deleting a schedule nothing uses. Unlike django-celery-beat, deleting a
 * schedule never cascades to the tasks that use it: that answers 409 and names them.
 */
const KINDS = {
  interval: { table: 'celeriac_interval_schedule', fk: 'interval_id', columns: 'id, every, period' },
  crontab: {
    table: 'celeriac_crontab_schedule',
    fk: 'crontab_id',
    columns: 'id, minute, hour, day_of_week, day_of_month, month_of_year, timezone',
  },
  solar: { table: 'celeriac_solar_schedule', fk: 'solar_id', columns: 'id, event, latitude, longitude' },
  clocked: { table: 'celeriac_clocked_schedule', fk: 'clocked_id', columns: 'id, clocked_time' },
} as const;
type Kind = keyof typeof KINDS;
const LIMIT = 500;

export function scheduleJson(spec: ScheduleSpec): ScheduleJson {
  return spec.kind === 'clocked' ? { kind: 'clocked', clockedTime: spec.clockedTime.toISOString() } : { ...spec };
}

function specOf(kind: Kind, r: Record<string, any>): ScheduleSpec {
  switch (kind) {
    case 'interval':
      return { kind, every: Number(r.every), period: r.period };
    case 'crontab':
      return {
        kind,
        minute: r.minute,
        hour: r.hour,
        dayOfWeek: r.day_of_week,
        dayOfMonth: r.day_of_month,
        monthOfYear: r.month_of_year,
        timezone: r.timezone,
      };
    case 'solar':
      return { kind, event: r.event, latitude: Number(r.latitude), longitude: Number(r.longitude) };
    case 'clocked':
      return { kind, clockedTime: new Date(r.clocked_time) };
  }
}

function text(spec: ScheduleSpec): string {
  try {
    return describeSchedule(spec);
  } catch (err) {
    return `invalid schedule: ${(err as Error).message}`;
  }
}

export function scheduleRoutes(ctx: AdminContext): Router {
  const router = Router();
  const s = () => ctx.schema;

  router.get('/api/schedules', async (_req, res) => {
    const out: Record<string, unknown[]> = {};
    for (const [kind, k] of Object.entries(KINDS) as [Kind, (typeof KINDS)[Kind]][]) {
      // Bounded: django-celery-beat's admin drop-downs loaded every row and timed out at 1M clocked rows (dcb#407).
      const rows = await ctx.query(
        undefined,
        `SELECT ${k.columns
          .split(', ')
          .map((c) => `sc.${c}`)
          .join(', ')},
                (SELECT count(*)::int FROM "${s()}".celeriac_periodic_task pt WHERE pt.${k.fk} = sc.id) AS used_by
           FROM "${s()}".${k.table} sc ORDER BY sc.id DESC LIMIT ${LIMIT}`,
      );
      out[kind] = rows.map((r) => {
        const spec = specOf(kind, r);
        return { id: Number(r.id), ...scheduleJson(spec), text: text(spec), usedBy: Number(r.used_by) };
      });
    }
    res.set('Cache-Control', 'no-store').json(out);
  });

  router.delete('/api/schedules/:kind/:id', async (req, res) => {
    const kind = String(req.params.kind) as Kind;
    const errors = fieldErrors();
    if (!Object.hasOwn(KINDS, kind)) errors.kind = `use one of ${Object.keys(KINDS).join(', ')}`;
    if (!/^\d{1,9}$/.test(String(req.params.id))) errors.id = 'expected a whole number';
    if (Object.keys(errors).length) throw validationFailed(errors);
    noBody(req);
    const k = KINDS[kind];
    const id = Number(req.params.id);
    const ds = await ctx.app.dataSource();
    await ds.transaction(async (m) => {
      const [row] = await m.query(`SELECT id FROM "${s()}".${k.table} WHERE id = $1 FOR UPDATE`, [id]);
      if (!row) throw notFound(`The ${kind} schedule ${id}`);
      const users: { name: string }[] = await m.query(
        `SELECT name FROM "${s()}".celeriac_periodic_task WHERE ${k.fk} = $1 ORDER BY name LIMIT 10`,
        [id],
      );
      if (users.length) {
        throw new HttpError(
          409,
          'schedule_in_use',
          `The ${kind} schedule ${id} is used by ${users.map((u) => `'${u.name}'`).join(', ')}: change or delete those periodic tasks first.`,
        );
      }
      await m.query(`DELETE FROM "${s()}".${k.table} WHERE id = $1`, [id]);
    });
    res.status(204).end();
  });

  return router;
}
