import { Router, type Request, type Response } from 'express';
import { INT32_MAX, instantProblem } from '../../db/limits';
import {
  PeriodicTaskNotFoundError,
  PeriodicTaskService,
  PeriodicTaskValidationError,
  type PeriodicTaskInput,
  type PeriodicTaskView,
} from '../../beat';
import { describeSchedule, type ScheduleSpec } from '../../beat/schedule';
import { normalizeSchedule } from '../../beat/schedule-input';
import type { AdminContext } from '../context';
import { isoDates } from '../serialize';
import { HttpError, queryInt, queryString, validationFailed, fieldErrors, type FieldErrors } from '../http';
import type {
  BeatInstanceJson,
  PeriodicBulkSaveJson,
  PeriodicTaskJson,
  PeriodicTaskListJson,
  SchedulePreviewJson,
} from '../types';
import { noBody, requireObjectBody, unknownKeys } from '../validate';
import { scheduleJson, scheduleRoutes } from './schedules';

const BULK_ACTIONS = ['enable', 'disable', 'run', 'delete', 'create', 'upsert'] as const;
/** Tasks in one bulk create/upsert: 10,000 take about a second (BENCHMARKS.md); the body limit usually binds first. */
const MAX_BULK_TASKS = 10_000;
const MAX_PREVIEW = 50;

/** The service's view as JSON: instants as ISO text (the fields come from src/beat/fields.ts). */
export function toPeriodicJson(v: PeriodicTaskView): PeriodicTaskJson {
  return { ...isoDates(v), schedule: v.schedule ? scheduleJson(v.schedule) : null };
}

/** The service's errors as HTTP: every field problem in one 400, a missing row as 404. */
export async function serviceCall<T>(fn: () => Promise<T>, fieldName = (field: string) => field): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof PeriodicTaskValidationError) {
      const errors = fieldErrors();
      for (const e of err.errors) {
        const f = fieldName(e.field);
        errors[f] = errors[f] ? `${errors[f]}; ${e.message}` : e.message;
      }
      throw validationFailed(errors);
    }
    if (err instanceof PeriodicTaskNotFoundError) {
      const field = Array.isArray(err.ref) ? 'ids' : 'id';
      throw new HttpError(404, 'not_found', err.message, Object.assign(fieldErrors(), { [field]: err.message }));
    }
    throw err;
  }
}

export function periodicId(req: Request): number {
  const raw = String(req.params.id);
  if (!/^\d{1,9}$/.test(raw)) throw validationFailed({ id: `'${raw}' is not a periodic task id (a whole number)` });
  return Number(raw);
}

export function periodicService(ctx: AdminContext): PeriodicTaskService {
  return new PeriodicTaskService(ctx.app);
}

export function periodicRoutes(ctx: AdminContext): Router {
  const router = Router();
  const service = periodicService(ctx);
  const read = <T>(work: Promise<T>) => ctx.bounded('Postgres', work);

  router.get('/api/periodic-tasks', async (req, res) => {
    const errors = fieldErrors();
    const enabledRaw = queryString(req, 'enabled', errors);
    if (enabledRaw !== undefined && enabledRaw !== 'true' && enabledRaw !== 'false')
      errors.enabled = "use 'true' or 'false'";
    const source = queryString(req, 'source', errors);
    if (source !== undefined && source !== 'db' && source !== 'code') errors.source = "use 'db' or 'code'";
    const sort = queryString(req, 'sort', errors) ?? 'name';
    if (!['name', 'nextRunAt', 'lastRunAt'].includes(sort)) errors.sort = "use 'name', 'nextRunAt' or 'lastRunAt'";
    const limit = queryInt(req, 'limit', errors, 1, 200, 50);
    const offset = queryInt(req, 'offset', errors, 0, 100_000, 0);
    const task = queryString(req, 'task', errors);
    const search = queryString(req, 'q', errors);
    if (Object.keys(errors).length) throw validationFailed(errors);
    const { items, total } = await read(
      service.list({
        enabled: enabledRaw === undefined ? undefined : enabledRaw === 'true',
        source: source as 'db' | 'code' | undefined,
        task,
        search,
        orderBy: sort as 'name' | 'nextRunAt' | 'lastRunAt',
        limit,
        offset,
      }),
    );
    const body: PeriodicTaskListJson = { items: items.map(toPeriodicJson), total, limit, offset };
    res.set('Cache-Control', 'no-store').json(body);
  });

  router.post('/api/periodic-tasks', async (req, res) => {
    const body = requireObjectBody(req);
    const created = await serviceCall(() => service.create(body as unknown as PeriodicTaskInput));
    res.status(201).location(`${req.baseUrl}/api/periodic-tasks/${created.id}`).json(toPeriodicJson(created));
  });

  router.post('/api/periodic-tasks/bulk', async (req, res) => {
    const body = requireObjectBody(req);
    const errors = fieldErrors();
    const action = body.action as (typeof BULK_ACTIONS)[number];
    if (!BULK_ACTIONS.includes(action)) errors.action = `use one of ${BULK_ACTIONS.join(', ')}`;
    if (action === 'create' || action === 'upsert') return void (await bulkSave(res, action, body, errors));
    unknownKeys(body, ['action', 'ids'], errors);
    const ids = body.ids;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 500) {
      errors.ids = 'expected 1-500 periodic task ids (whole numbers)';
    } else {
      const bad = ids.flatMap((v, i) => (Number.isInteger(v) && v > 0 && v <= INT32_MAX ? [] : [`ids[${i}]`]));
      if (bad.length)
        errors.ids = `${bad.slice(0, 10).join(', ')}${bad.length > 10 ? ' …' : ''}: a periodic task id is a whole number from 1 to ${INT32_MAX}`;
    }
    if (Object.keys(errors).length) throw validationFailed(errors);
    const unique = [...new Set(ids as number[])];
    if (action === 'run') {
      // Checked first, so an unknown id sends nothing rather than some of them.
      for (const id of unique) await serviceCall(() => service.get(id));
      const taskIds: Record<string, string> = {};
      for (const id of unique) taskIds[id] = await serviceCall(() => service.runNow(id));
      return void res.status(202).json({ action, ids: unique, count: unique.length, taskIds });
    }
    // One statement in one transaction: all the rows or none; the triggers re-plan and notify beats.
    const count = await serviceCall(() =>
      action === 'delete' ? service.deleteMany(unique) : service.setEnabledMany(unique, action === 'enable'),
    );
    res.json({ action, ids: unique, count });
  });

  /**
   * `create` / `upsert` many tasks: PeriodicTaskService.createMany / upsertMany, one transaction,
   * validated as one; each problem is named `tasks[3].schedule.minute`, and nothing is written.
   */
  async function bulkSave(
    res: Response,
    action: 'create' | 'upsert',
    body: Record<string, unknown>,
    errors: FieldErrors,
  ) {
    unknownKeys(body, ['action', 'tasks'], errors);
    const tasks = body.tasks;
    if (!Array.isArray(tasks) || tasks.length === 0 || tasks.length > MAX_BULK_TASKS)
      errors.tasks = `expected 1-${MAX_BULK_TASKS} periodic tasks, each as POST api/periodic-tasks takes one`;
    if (Object.keys(errors).length) throw validationFailed(errors);
    const input = tasks as PeriodicTaskInput[];
    const written = await serviceCall(
      () => (action === 'create' ? service.createMany(input) : service.upsertMany(input)),
      (field) => `tasks${field}`,
    );
    const out: PeriodicBulkSaveJson = { action, count: written.length, tasks: written };
    res.status(action === 'create' ? 201 : 200).json(out);
  }

  router.get('/api/periodic-tasks/:id', async (req, res) => {
    const view = await serviceCall(() => read(service.get(periodicId(req))));
    res.set('Cache-Control', 'no-store').json(toPeriodicJson(view));
  });

  router.put('/api/periodic-tasks/:id', async (req, res) => {
    const id = periodicId(req);
    const body = requireObjectBody(req);
    // PUT is a full replace (unlike PATCH): a field the body leaves out goes back to its default,
    // and the body is validated alone, so a missing name is named with every other problem.
    const updated = await serviceCall(() => service.replace(id, body as unknown as PeriodicTaskInput));
    res.json(toPeriodicJson(updated));
  });

  router.patch('/api/periodic-tasks/:id', async (req, res) => {
    const id = periodicId(req);
    const body = requireObjectBody(req);
    const updated = await serviceCall(() => service.update(id, body as Partial<PeriodicTaskInput>));
    res.json(toPeriodicJson(updated));
  });

  router.delete('/api/periodic-tasks/:id', async (req, res) => {
    const id = periodicId(req);
    noBody(req);
    await serviceCall(() => service.delete(id));
    res.status(204).end();
  });

  router.post('/api/periodic-tasks/:id/enable', async (req, res) => {
    noBody(req);
    res.json(toPeriodicJson(await serviceCall(() => service.enable(periodicId(req)))));
  });

  router.post('/api/periodic-tasks/:id/disable', async (req, res) => {
    noBody(req);
    res.json(toPeriodicJson(await serviceCall(() => service.disable(periodicId(req)))));
  });

  router.post('/api/periodic-tasks/:id/run', async (req, res) => {
    noBody(req);
    const id = periodicId(req);
    const view = await serviceCall(() => service.get(id));
    const taskId = await serviceCall(() => service.runNow(id));
    const statusUrl = `${req.baseUrl}/api/tasks/${encodeURIComponent(taskId)}`;
    res
      .status(202)
      .location(statusUrl)
      .json({
        id: taskId,
        task: view.task,
        periodicTask: view.name,
        state: 'PENDING',
        statusUrl,
        pageUrl: `${req.baseUrl}/tasks/${encodeURIComponent(taskId)}`,
      });
  });

  router.get('/api/periodic-tasks/:id/preview', async (req, res) => {
    const id = periodicId(req);
    const errors = fieldErrors();
    const n = queryInt(req, 'n', errors, 1, MAX_PREVIEW, 5);
    if (Object.keys(errors).length) throw validationFailed(errors);
    const view = await serviceCall(() => read(service.get(id)));
    const runs = await serviceCall(() => read(service.preview(id, n)));
    res.set('Cache-Control', 'no-store').json({
      schedule: view.schedule ? scheduleJson(view.schedule) : null,
      text: view.scheduleText,
      runs: runs.map((d) => d.toISOString()),
    });
  });

  router.post('/api/schedules/preview', async (req, res) => {
    const body = requireObjectBody(req);
    const errors = fieldErrors();
    unknownKeys(body, ['schedule', 'startTime', 'n', 'id'], errors);
    // The stored task a form edits: the preview then starts where the saved row will.
    const id = body.id ?? undefined;
    if (id !== undefined && (!Number.isInteger(id) || (id as number) < 1 || (id as number) > INT32_MAX))
      errors.id = `expected the id of the periodic task being edited (a whole number from 1 to ${INT32_MAX}), or no id`;
    const n = body.n ?? 5;
    if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > MAX_PREVIEW)
      errors.n = `expected a whole number from 1 to ${MAX_PREVIEW}`;
    let startTime: Date | null = null;
    if (body.startTime !== undefined && body.startTime !== null && body.startTime !== '') {
      startTime = typeof body.startTime === 'string' ? new Date(body.startTime) : new Date(NaN);
      const problem = instantProblem(startTime);
      if (problem) errors.startTime = Number.isNaN(startTime.getTime()) ? 'expected an ISO 8601 instant' : problem;
    }
    if (body.schedule === undefined || body.schedule === null)
      errors.schedule = "required: e.g. { kind: 'crontab', minute: '30', hour: '2' } or '30 2 * * *'";
    if (Object.keys(errors).length) throw validationFailed(errors);
    const runs = await serviceCall(() =>
      read(
        service.preview({ schedule: body.schedule as never, startTime, task: id as number | undefined }, n as number),
      ),
    );
    // The same normalisation the service applied, for the text and the stored form.
    const spec = normalized(body.schedule, ctx.app.config.timezone);
    const out: SchedulePreviewJson = {
      schedule: scheduleJson(spec),
      text: describeSchedule(spec),
      runs: runs.map((d) => d.toISOString()),
    };
    res.set('Cache-Control', 'no-store').json(out);
  });

  router.get('/api/beats', async (_req, res) => {
    const beats: BeatInstanceJson[] = (await read(service.beats())).map(isoDates);
    res.set('Cache-Control', 'no-store').json({ beats });
  });

  router.use(scheduleRoutes(ctx));
  return router;
}

function normalized(input: unknown, timezone: string): ScheduleSpec {
  const s = normalizeSchedule(input, timezone);
  if (!s.spec) throw validationFailed(Object.fromEntries(s.errors.map((e) => [`schedule.${e.field}`, e.message])));
  return s.spec;
}
