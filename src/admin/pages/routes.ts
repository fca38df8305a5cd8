import { Router, type Request, type Response } from 'express';
import { loadDetail, loadTaskList, taskId } from '../api/tasks';
import { listQueues, listWorkers, loadStats } from '../api/monitor';
import type { AdminContext } from '../context';
import { fieldErrors, HttpError, queryString, validationFailed } from '../http';
import { csrfToken } from '../security';
import { isoDates, toListItem } from '../serialize';
import { listResults, recentNames } from '../sql';
import { parseListQuery } from '../validate';
import { dashboardPage } from './dashboard';
import { layout, pageBase, type NavKey, type PageContext } from './layout';
import { newTaskPage, taskDetailPage, tasksPage, WINDOWS, type TaskFilterForm } from './tasks';
import { workersPage } from './workers';
import { periodicFormPage, periodicListPage, type PeriodicFilterForm } from './periodic';
import { periodicId, periodicService, serviceCall, toPeriodicJson } from '../api/periodic';
import type { SafeHtml } from '../html';

export function pageContext(ctx: AdminContext, req: Request, res: Response, assetVersion: string): PageContext {
  return {
    base: pageBase(req),
    csrf: csrfToken(req, res),
    title: ctx.options.title,
    assetVersion,
    readOnly: ctx.options.readOnly,
  };
}

export function sendPage(
  res: Response,
  p: PageContext,
  key: string,
  nav: NavKey,
  title: string,
  body: SafeHtml,
  data?: Record<string, string>,
) {
  res.set('Cache-Control', 'no-store').type('html').send(layout(p, { key, nav, title, body, data }));
}

const FORM_KEYS = ['state', 'task', 'periodicTask', 'worker', 'q', 'window', 'parent'] as const;

export function pageRoutes(ctx: AdminContext, assetVersion: string): Router {
  const router = Router();
  const { app } = ctx;

  router.get('/', async (req, res) => {
    const p = pageContext(ctx, req, res, assetVersion);
    const stats = await loadStats(ctx, 60);
    const failed = listResults(ctx.schema, {
      states: ['FAILURE'],
      dateField: 'date_changed',
      sort: 'date_changed',
      descending: true,
      limit: 5,
      offset: 0,
    });
    const failures = (await ctx.query(undefined, failed.text, failed.params)).slice(0, 5).map(toListItem);
    const workers = (await listWorkers(ctx)).slice(0, 8);
    sendPage(res, p, 'dashboard', 'dashboard', 'Dashboard', dashboardPage(p, stats, failures, workers));
  });

  router.get('/tasks', async (req, res) => {
    const p = pageContext(ctx, req, res, assetVersion);
    const form: TaskFilterForm & { parent?: string } = {};
    for (const k of FORM_KEYS)
      if (typeof req.query[k] === 'string' && req.query[k] !== '') form[k] = req.query[k] as string;
    const apiParams = new URLSearchParams();
    if (form.state) apiParams.set('state', form.state);
    if (form.task) apiParams.set('task', form.task);
    if (form.periodicTask) apiParams.set('periodicTask', form.periodicTask);
    if (form.worker) apiParams.set('worker', form.worker);
    if (form.q) apiParams.set('q', form.q);
    if (form.parent) apiParams.set('parent', form.parent);
    if (form.window && Object.hasOwn(WINDOWS, form.window))
      apiParams.set('since', new Date(Date.now() - WINDOWS[form.window][1] * 60_000).toISOString());
    const cursor = typeof req.query.cursor === 'string' ? req.query.cursor : undefined;
    const query = parseListQuery({ query: { ...Object.fromEntries(apiParams), ...(cursor ? { cursor } : {}) } });
    const [body, names] = await Promise.all([
      loadTaskList(ctx, query),
      ctx.query<{ task_name: string }>(undefined, recentNames(ctx.schema)),
    ]);
    const formParams = new URLSearchParams(Object.entries(form) as [string, string][]);
    const here = `${p.base}/tasks`;
    const links = {
      newer: cursor ? `${here}?${formParams}` : undefined,
      older: body.nextCursor
        ? `${here}?${new URLSearchParams([...formParams, ['cursor', body.nextCursor]])}`
        : undefined,
    };
    const taskNames = [...new Set([...app.registry.names(), ...names.map((r) => r.task_name)])].sort();
    // Only the first page follows new tasks live; an older page stays put while you read it.
    const live = cursor ? '' : apiParams.toString();
    sendPage(res, p, 'tasks', 'tasks', 'Tasks', tasksPage(p, body, form, taskNames, live, links), {
      live: cursor ? '0' : '1',
    });
  });

  router.get('/tasks/new', (req, res) => {
    if (ctx.options.readOnly) throw new HttpError(403, 'read_only', 'This admin is read-only.');
    const p = pageContext(ctx, req, res, assetVersion);
    const selected = typeof req.query.task === 'string' ? req.query.task : undefined;
    sendPage(
      res,
      p,
      'new-task',
      'tasks',
      'Start a task',
      newTaskPage(p, app.registry.names(), ctx.knownQueues(), selected),
    );
  });

  router.get('/tasks/:id', async (req, res) => {
    const p = pageContext(ctx, req, res, assetVersion);
    const detail = await loadDetail(ctx, req, taskId(req));
    sendPage(res, p, 'task', 'tasks', detail.name ?? detail.id, taskDetailPage(p, detail), { 'task-id': detail.id });
  });

  const periodic = periodicService(ctx);
  const zones = timeZones();

  router.get('/periodic-tasks', async (req, res) => {
    const p = pageContext(ctx, req, res, assetVersion);
    const form: PeriodicFilterForm = {};
    if (req.query.enabled === 'true' || req.query.enabled === 'false') form.enabled = req.query.enabled;
    const errors = fieldErrors();
    const q = queryString(req, 'q', errors);
    if (Object.keys(errors).length) throw validationFailed(errors);
    if (q) form.q = q.slice(0, 200);
    const [{ items, total }, beats] = await ctx.bounded(
      'Postgres',
      Promise.all([
        periodic.list({
          enabled: form.enabled === undefined ? undefined : form.enabled === 'true',
          search: form.q,
          limit: 200,
        }),
        periodic.beats(),
      ]),
    );
    const list = { items: items.map(toPeriodicJson), total, limit: 200, offset: 0 };
    const savedId =
      typeof req.query.saved === 'string' && /^\d{1,9}$/.test(req.query.saved) ? Number(req.query.saved) : undefined;
    const saved = savedId === undefined ? undefined : list.items.find((t) => t.id === savedId);
    const beatsJson = beats.map(isoDates);
    sendPage(res, p, 'periodic', 'periodic', 'Periodic tasks', periodicListPage(p, list, beatsJson, form, saved));
  });

  router.get('/periodic-tasks/new', (req, res) => {
    if (ctx.options.readOnly) throw new HttpError(403, 'read_only', 'This admin is read-only.');
    const p = pageContext(ctx, req, res, assetVersion);
    const body = periodicFormPage(p, {
      task: null,
      taskNames: app.registry.names(),
      queues: ctx.knownQueues(),
      zones,
      defaultTimezone: app.config.timezone,
    });
    sendPage(res, p, 'periodic-form', 'periodic', 'Add periodic task', body);
  });

  router.get('/periodic-tasks/:id', async (req, res) => {
    const p = pageContext(ctx, req, res, assetVersion);
    const task = toPeriodicJson(await serviceCall(() => ctx.bounded('Postgres', periodic.get(periodicId(req)))));
    const body = periodicFormPage(p, {
      task,
      taskNames: app.registry.names(),
      queues: ctx.knownQueues(),
      zones,
      defaultTimezone: app.config.timezone,
    });
    sendPage(res, p, 'periodic-form', 'periodic', task.name, body);
  });

  router.get('/workers', async (req, res) => {
    const p = pageContext(ctx, req, res, assetVersion);
    const workers = await listWorkers(ctx);
    const { queues, delayed } = await listQueues(ctx, workers);
    sendPage(res, p, 'workers', 'workers', 'Workers', workersPage(p, workers, queues, delayed));
  });

  return router;
}

/** Every IANA zone this runtime knows, for the crontab form's suggestions. */
function timeZones(): string[] {
  const intl = Intl as { supportedValuesOf?: (key: string) => string[] };
  try {
    return [...new Set(['UTC', ...(intl.supportedValuesOf?.('timeZone') ?? [])])];
  } catch {
    return ['UTC'];
  }
}
