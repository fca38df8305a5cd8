import { Router, type Request, type Response } from 'express';
import { loadDetail, loadTaskList, taskId } from '../api/tasks';
import { askedQueues, listQueues, listWorkers, loadStats } from '../api/monitor';
import type { AdminContext } from '../context';
import { fieldErrors, HttpError, notFound, queryString, validationFailed, wantsHtml } from '../http';
import { html } from '../html';
import { parameterNames } from '../params';
import { describeQueued } from '../../broker/queued';
import { workerName } from '../api/control';
import { queuesPage } from './queues';
import { workerPage } from './worker';
import { csrfToken } from '../security';
import { isoDates, toListItem } from '../serialize';
import { listResults, recentNames } from '../sql';
import { parseListQuery } from '../validate';
import { dashboardPage } from './dashboard';
import { layout, pageBase, type NavKey, type PageContext } from './layout';
import { newTaskPage, SORTS, taskDetailPage, tasksPage, WINDOWS, type TaskFilterForm } from './tasks';
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
    signOutUrl: ctx.options.signOutUrl,
    appUrl: ctx.options.appUrl,
    appName: ctx.options.appName,
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

const FORM_KEYS = [
  'state',
  'task',
  'periodicTask',
  'worker',
  'q',
  'window',
  'parent',
  'since',
  'until',
  'minRuntime',
  'maxRuntime',
  'sort',
] as const;

export function pageRoutes(ctx: AdminContext, assetVersion: string): Router {
  const router = Router();
  const { app } = ctx;

  router.get('/', async (req, res) => {
    const p = pageContext(ctx, req, res, assetVersion);
    const stats = await loadStats(ctx, 60);
    const failed = listResults(ctx.results, {
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
    if (form.since || form.until) apiParams.set('dateField', 'date_changed');
    if (form.since) apiParams.set('since', form.since);
    if (form.until) apiParams.set('until', form.until);
    const ms = (v: string | undefined) => (v === undefined || !/^\d+(\.\d+)?$/.test(v) ? v : String(Number(v) * 1000));
    if (form.minRuntime) apiParams.set('minRuntimeMs', ms(form.minRuntime)!);
    if (form.maxRuntime) apiParams.set('maxRuntimeMs', ms(form.maxRuntime)!);
    if (form.sort && Object.hasOwn(SORTS, form.sort)) apiParams.set('sort', SORTS[form.sort][1]);
    const cursor = typeof req.query.cursor === 'string' ? req.query.cursor : undefined;
    const query = parseListQuery({ query: { ...Object.fromEntries(apiParams), ...(cursor ? { cursor } : {}) } });
    const [body, names, workers] = await Promise.all([
      loadTaskList(ctx, query),
      ctx.query<{ task_name: string }>(undefined, recentNames(ctx.results)),
      listWorkers(ctx),
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
    sendPage(
      res,
      p,
      'tasks',
      'tasks',
      'Tasks',
      tasksPage(
        p,
        body,
        form,
        taskNames,
        live,
        links,
        workers.map((w) => w.name),
      ),
      {
        live: cursor ? '0' : '1',
      },
    );
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
      newTaskPage(
        p,
        app.registry.names(),
        ctx.knownQueues(),
        selected,
        Object.fromEntries(app.registry.all().map((t) => [t.name, taskParams(t)])),
      ),
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
    sendPage(res, p, 'workers', 'workers', 'Workers', workersPage(p, workers));
  });

  router.get('/workers/:name', async (req, res) => {
    const p = pageContext(ctx, req, res, assetVersion);
    const name = workerName(req);
    const worker = (await listWorkers(ctx)).find((w) => w.name === name);
    if (!worker) throw notFound(`A worker named '${name}'`, 'name');
    const body = workerPage(p, worker, app.registry.names(), ctx.knownQueues());
    sendPage(res, p, 'worker', 'workers', worker.name, body, { worker: worker.name });
  });

  router.get('/queues', async (req, res) => {
    const p = pageContext(ctx, req, res, assetVersion);
    const broker = await ctx.bounded('the broker', app.broker());
    const asked = askedQueues(req);
    const [{ queues, delayed, deadLettered }, dead] = await Promise.all([
      listQueues(ctx, await listWorkers(ctx), asked),
      ctx.bounded('the broker', broker.listDeadLetters(100)),
    ]);
    const deadJson = dead.map((d) => {
      const m = describeQueued(d.raw, 'ready');
      return { id: m.id, task: m.task, queue: m.queue, reason: d.reason, consumer: d.consumer, at: d.at };
    });
    const transport = `${broker.kind} (${broker.description})`;
    sendPage(
      res,
      p,
      'queues',
      'queues',
      'Queues',
      queuesPage(p, transport, queues, { delayed, deadLettered }, deadJson, asked),
    );
  });

  // Anything else a browser asks for gets a 404 in the admin's own layout; /api answers JSON (index.ts).
  router.get(/^(?!\/api(\/|$)).*/, (req, res) => {
    const p = pageContext(ctx, req, res, assetVersion);
    res.status(404);
    sendPage(res, p, 'error', 'dashboard', 'Not found', errorPage(p, 404, `No admin page at ${req.path}.`));
  });

  // Errors on pages (an unknown task or periodic id, a bad filter) answered in the layout too.
  router.use((err: unknown, req: Request, res: Response, next: (err: unknown) => void) => {
    if (!(err instanceof HttpError) || !wantsHtml(req) || err.status >= 500) return next(err);
    const p = pageContext(ctx, req, res, assetVersion);
    res.status(err.status);
    // The API's hints name service methods; a person on a page needs the page's way instead.
    const message = err.message.replace(/\s*List them with [^.]*\.?/, '');
    sendPage(
      res,
      p,
      'error',
      'dashboard',
      err.status === 404 ? 'Not found' : 'Error',
      errorPage(p, err.status, message),
    );
  });

  return router;
}

/** Parameter names of a task defined by a function (task() or @task()); null for any other kind. */
function taskParams(t: object): string[] | null {
  const fn = (t as { fn?: unknown }).fn;
  return typeof fn === 'function' ? parameterNames(fn as (...a: never[]) => unknown) : null;
}

function errorPage(p: PageContext, status: number, message: string) {
  return html`<h1>${status === 404 ? 'Not found' : `Error ${status}`}</h1>
<p>${message}</p>
<p><a href="${p.base}/">Dashboard</a> · <a href="${p.base}/tasks">Tasks</a> · <a href="${p.base}/periodic-tasks">Periodic tasks</a> · <a href="${p.base}/workers">Workers</a> · <a href="${p.base}/queues">Queues</a></p>`;
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
