import { randomUUID } from 'node:crypto';
import { Router, type Request } from 'express';
import { textProblem } from '../../db/limits';
import { EncodeError, PayloadTooLargeError, TaskNotRegisteredError } from '../../errors';
import type { AdminContext } from '../context';
import { conflict, notFound, validationFailed, fieldErrors } from '../http';
import { toDetail, toListItem, toStatus, type RawRow } from '../serialize';
import {
  countResults,
  COUNT_CAP,
  listResults,
  resultChildren,
  resultDetail,
  sortsWithoutNulls,
  type ListQuery,
} from '../sql';
import type { RegisteredTaskJson, TaskListJson } from '../types';
import { encodeCursor, isPlainObject, parseJob, parseListQuery, requireObjectBody, unknownKeys } from '../validate';

const CHILD_LIMIT = 100;
const RETRYABLE = new Set(['FAILURE', 'REVOKED', 'REJECTED']);
const FINISHED = new Set(['SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED']);

/**
 * The status poll reads one row through the task_id unique index as a prepared statement and
 * leaves args/kwargs behind: it is what every open app page calls once a second.
 */
function statusSql(results: string): string {
  return `SELECT task_id, task_name, status, result, traceback, meta, retries, date_created, date_started, date_done, date_changed
            FROM ${results} WHERE task_id = $1`;
}

/**
 * One page of the task list with its capped count: the JSON API and the HTML Tasks page both read
 * it here, so they page alike. A cursor is offered only where keyset paging is exact (no NULLs in
 * the sort column, see sortsWithoutNulls); elsewhere the offset.
 */
export async function loadTaskList(ctx: AdminContext, q: ListQuery): Promise<TaskListJson> {
  await ctx.store();
  const list = listResults(ctx.results, q);
  const count = countResults(ctx.results, q);
  const [rows, [{ n }]] = await Promise.all([
    ctx.query(undefined, list.text, list.params),
    ctx.query<{ n: number }>(undefined, count.text, count.params),
  ]);
  const more = rows.length > q.limit;
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toListItem),
    limit: q.limit,
    offset: q.after ? 0 : q.offset,
    nextCursor: more && sortsWithoutNulls(q) ? encodeCursor(last.sort_key, String(last.id)) : null,
    nextOffset: more && !q.after && q.offset + q.limit <= 10_000 ? q.offset + q.limit : null,
    total: Math.min(n, COUNT_CAP),
    totalCapped: n > COUNT_CAP,
  };
}

export function taskRoutes(ctx: AdminContext): Router {
  const router = Router();
  const { app } = ctx;

  router.get('/api/registered', (_req, res) => {
    const tasks: RegisteredTaskJson[] = app.registry.all().map((t) => {
      const o = t.options;
      return {
        name: t.name,
        queue: o.queue ?? app.route(t.name)?.queue ?? app.config.defaultQueue,
        priority: o.priority ?? app.route(t.name)?.priority ?? null,
        maxRetries: o.maxRetries,
        defaultRetryDelay: o.defaultRetryDelay,
        retryBackoff: o.retryBackoff,
        retryBackoffMax: o.retryBackoffMax,
        retryJitter: o.retryJitter,
        rateLimit: o.rateLimit?.text ?? null,
        timeLimit: o.timeLimit ?? null,
        softTimeLimit: o.softTimeLimit ?? null,
        acksLate: o.acksLate,
        ignoreResult: o.ignoreResult,
        trackStarted: o.trackStarted,
        expires: o.expires instanceof Date ? o.expires.toISOString() : (o.expires ?? null),
        autoretryFor: o.autoretryFor.map((c) => c.name),
      };
    });
    tasks.sort((a, b) => a.name.localeCompare(b.name));
    const routes = Object.entries(app.config.routes).map(([pattern, r]) => ({
      pattern,
      queue: r.queue ?? null,
      priority: r.priority ?? null,
    }));
    res.json({ tasks, routes });
  });

  router.post('/api/tasks', async (req, res) => {
    const job = parseJob(app, requireObjectBody(req));
    const id = await send(ctx, job.task, job.args, job.kwargs, job.options);
    res
      .status(202)
      .location(`${req.baseUrl}/api/tasks/${encodeURIComponent(id)}`)
      .json({
        id,
        task: job.task,
        state: 'PENDING',
        statusUrl: `${req.baseUrl}/api/tasks/${encodeURIComponent(id)}`,
        pageUrl: `${req.baseUrl}/tasks/${encodeURIComponent(id)}`,
      });
  });

  router.get('/api/tasks', async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await loadTaskList(ctx, parseListQuery(req)));
  });

  router.get('/api/tasks/:id', async (req, res) => {
    const id = taskId(req);
    await ctx.store();
    const [row] = await ctx.query('status', statusSql(ctx.results), [id]);
    res.set('Cache-Control', 'no-store');
    if (!row)
      return void res
        .status(404)
        .json({ id, state: 'UNKNOWN', error: 'not_found', message: `No task with id ${id} has been recorded.` });
    const withStack = await ctx.canSeeStack(req);
    const etag = `W/"${new Date(row.date_changed).getTime()}-${row.status}-${row.retries}${withStack ? '-s' : ''}"`;
    res.set('ETag', etag);
    if (req.get('if-none-match') === etag) return void res.status(304).end();
    res.json(toStatus(row, withStack));
  });

  router.get('/api/tasks/:id/detail', async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await loadDetail(ctx, req, taskId(req)));
  });

  router.post('/api/tasks/:id/revoke', async (req, res) => {
    const id = taskId(req);
    const body = requireObjectBody(req);
    const errors = fieldErrors();
    unknownKeys(body, ['terminate'], errors);
    if (body.terminate !== undefined && typeof body.terminate !== 'boolean')
      errors.terminate = 'expected true or false';
    if (Object.keys(errors).length) throw validationFailed(errors);
    const row = await findRow(ctx, id);
    if (FINISHED.has(row.status))
      throw conflict('already_finished', `Task ${id} already finished (${row.status}); there is nothing to revoke.`);
    await app.control.revoke(id, { terminate: body.terminate === true });
    res.json({ ...(await loadDetail(ctx, req, id)), revoked: true, terminate: body.terminate === true });
  });

  router.post('/api/tasks/:id/retry', async (req, res) => {
    const id = taskId(req);
    const body = requireObjectBody(req);
    const errors = fieldErrors();
    unknownKeys(body, [], errors);
    if (Object.keys(errors).length) throw validationFailed(errors);
    const row = await findRow(ctx, id);
    if (!RETRYABLE.has(row.status)) {
      throw conflict(
        'not_retryable',
        `Task ${id} is ${row.status}; only FAILURE, REVOKED or REJECTED tasks can be retried.`,
      );
    }
    if (!row.task_name || !(app.registry.has(row.task_name) || app.route(row.task_name))) {
      throw conflict(
        'not_retryable',
        `Task ${id} (${row.task_name ?? 'no name'}) is not registered or routed in this process, so it cannot be sent again from here.`,
      );
    }
    if (!Array.isArray(row.args) || !isPlainObject(row.kwargs ?? {})) {
      throw conflict(
        'not_retryable',
        `Task ${id} has no recorded arguments, so it cannot be sent again with the same ones.`,
      );
    }
    // The link back is committed before the send, so no worker state can overtake it; meta keeps
    // it until the new task reports progress. Should the send fail, the row goes again.
    const newId = randomUUID();
    const store = await app.results();
    await ctx.bounded(
      'the result store',
      store.write({
        taskId: newId,
        status: 'PENDING',
        retries: 0,
        taskName: row.task_name,
        meta: { retried_from: id },
      }),
    );
    try {
      await send(ctx, row.task_name, row.args, row.kwargs ?? {}, {
        taskId: newId,
        queue: row.queue ?? undefined,
        periodicTaskName: row.periodic_task_name ?? undefined,
        headers: { retried_from: id },
      });
    } catch (err) {
      await store.forget(newId).catch(() => {});
      throw err;
    }
    const statusUrl = `${req.baseUrl}/api/tasks/${encodeURIComponent(newId)}`;
    res
      .status(202)
      .location(statusUrl)
      .set('Link', `<${req.baseUrl}/api/tasks/${encodeURIComponent(id)}>; rel="retried-from"`)
      .json({
        id: newId,
        task: row.task_name,
        state: 'PENDING',
        retriedFrom: id,
        statusUrl,
        pageUrl: `${req.baseUrl}/tasks/${encodeURIComponent(newId)}`,
      });
  });

  return router;
}

/** The task id from the URL: 1-255 characters Postgres can compare (no NUL). */
export function taskId(req: Request): string {
  const id = String(req.params.id);
  const errors = fieldErrors();
  if (id.length === 0 || id.length > 255) errors.id = 'a task id is 1-255 characters';
  else if (textProblem(id)) errors.id = `the task id ${textProblem(id)}`;
  if (Object.keys(errors).length) throw validationFailed(errors);
  return id;
}

async function findRow(ctx: AdminContext, id: string): Promise<RawRow> {
  await ctx.store();
  const [row] = await ctx.query(undefined, resultDetail(ctx.results), [id]);
  if (!row) throw notFound(`Task ${id}`);
  return row;
}

export async function loadDetail(ctx: AdminContext, req: Request, id: string) {
  const row = await findRow(ctx, id);
  const children = await ctx.query(undefined, resultChildren(ctx.results), [id, CHILD_LIMIT + 1]);
  return toDetail(row, children, CHILD_LIMIT, await ctx.canSeeStack(req));
}

/** sendTask with its errors turned into field errors: nothing was sent when one is thrown. */
async function send(
  ctx: AdminContext,
  name: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
  options: Parameters<AdminContext['app']['sendTask']>[3],
) {
  try {
    return (await ctx.app.sendTask(name, args, kwargs, options)).id;
  } catch (err) {
    if (err instanceof TaskNotRegisteredError) throw validationFailed({ task: err.message });
    if (err instanceof PayloadTooLargeError) throw validationFailed({ args: err.message });
    if (err instanceof EncodeError)
      throw validationFailed({ [/kwargs/.test(err.message) ? 'kwargs' : 'args']: err.message });
    throw err;
  }
}
