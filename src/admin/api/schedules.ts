import { Router } from 'express';
import { describeSchedule, type ScheduleSpec } from '../../beat/schedule';
import { SCHEDULE_KINDS, SCHEDULE_TABLES, specFromRow, type ScheduleKind } from '../../beat/schedule-tables';
import { isoDates } from '../serialize';
import type { AdminContext } from '../context';
import { conflict, fieldErrors, notFound, validationFailed } from '../http';
import { noBody } from '../validate';
import type { ScheduleJson } from '../types';

/**
 * django-celery-beat's four schedule tables, read-only apart from removing unused rows.
 * Schedules are created and changed through their periodic tasks (PeriodicTaskService points a
 * task at an identical row or a new one, never editing a row another task may share), so the
 * only write here is deleting a schedule nothing uses. Unlike django-celery-beat, deleting a
 * schedule never cascades to the tasks that use it: that answers 409 and names them.
 */
const LIMIT = 500;

export function scheduleJson(spec: ScheduleSpec): ScheduleJson {
  return isoDates(spec) as ScheduleJson;
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
    for (const kind of SCHEDULE_KINDS) {
      const { table, fk, columns } = SCHEDULE_TABLES[kind];
      // Bounded: django-celery-beat's admin drop-downs loaded every row and timed out at 1M clocked rows (dcb#407).
      const rows = await ctx.query(
        undefined,
        `SELECT sc.id, ${columns.map((c) => `sc.${c.column}`).join(', ')},
                (SELECT count(*)::int FROM "${s()}".celeriac_periodic_task pt WHERE pt.${fk} = sc.id) AS used_by
           FROM "${s()}".${table} sc ORDER BY sc.id DESC LIMIT ${LIMIT}`,
      );
      out[kind] = rows.map((r) => {
        const spec = specFromRow(kind, r);
        return { id: Number(r.id), ...scheduleJson(spec), text: text(spec), usedBy: Number(r.used_by) };
      });
    }
    res.set('Cache-Control', 'no-store').json(out);
  });

  router.delete('/api/schedules/:kind/:id', async (req, res) => {
    const kind = String(req.params.kind) as ScheduleKind;
    const errors = fieldErrors();
    if (!Object.hasOwn(SCHEDULE_TABLES, kind)) errors.kind = `use one of ${SCHEDULE_KINDS.join(', ')}`;
    if (!/^\d{1,9}$/.test(String(req.params.id))) errors.id = 'expected a whole number';
    if (Object.keys(errors).length) throw validationFailed(errors);
    noBody(req);
    const k = SCHEDULE_TABLES[kind];
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
        throw conflict(
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
