import { Router, type Request, type Response } from 'express';
import { loadDetail } from '../api/tasks';
import { listQueues, listWorkers, loadStats } from '../api/monitor';
import type { AdminContext } from '../context';
import { HttpError } from '../http';
import { csrfToken } from '../security';
import { toListItem } from '../serialize';
import { countResults, COUNT_CAP, listResults, recentNames } from '../sql';
import type { TaskListJson } from '../types';
import { encodeCursor, parseListQuery } from '../validate';
import { dashboardPage } from './dashboard';
import { layout, pageBase, type NavKey, type PageContext } from './layout';
import { newTaskPage, taskDetailPage, tasksPage, WINDOWS, type TaskFilterForm } from './tasks';
import { workersPage } from './workers';
import type { SafeHtml } from '../html';

export function pageContext(ctx: AdminContext, req: Request, res: Response, assetVersion: string): PageContext {
  return { base: pageBase(req), csrf: csrfToken(req, res), title: ctx.options.title, assetVersion, readOnly: ctx.options.readOnly };
}

export function sendPage(res: Response, p: PageContext, key: string, nav: NavKey, title: string, body: SafeHtml, data?: Record<string, string>) {
  res.set('Cache-Control', 'no-store').type('html').send(layout(p, { key, nav, title, body, data }));
}

const FORM_KEYS = ['state', 'task', 'periodicTask', 'worker', 'q', 'window', 'parent'] as const;

export function pageRoutes(ctx: AdminContext, assetVersion: string): Router {
  const router = Router();
  const { app } = ctx;

  router.get('/', async (req, res) => {
    const p = pageContext(ctx, req, res, assetVersion);
    const stats = await loadStats(ctx, 60);
    const failed = listResults(ctx.schema, { states: ['FAILURE'], dateField: 'date_changed', sort: 'date_changed', descending: true, limit: 5, offset: 0 });
    const failures = (await ctx.query(undefined, failed.text, failed.params)).slice(0, 5).map(toListItem);
    sendPage(res, p, 'dashboard', 'dashboard', 'Dashboard', dashboardPage(p, stats, failures));
  });

  router.get('/tasks', async (req, res) => {
    const p = pageContext(ctx, req, res, assetVersion);
    const form: TaskFilterForm & { parent?: string } = {};
    for (const k of FORM_KEYS) if (typeof req.query[k] === 'string' && req.query[k] !== '') form[k] = req.query[k] as string;
    const apiParams = new URLSearchParams();
    if (form.state) apiParams.set('state', form.state);
    if (form.task) apiParams.set('task', form.task);
    if (form.periodicTask) apiParams.set('periodicTask', form.periodicTask);
    if (form.worker) apiParams.set('worker', form.worker);
    if (form.q) apiParams.set('q', form.q);
    if (form.parent) apiParams.set('parent', form.parent);
    if (form.window && WINDOWS[form.window]) apiParams.set('since', new Date(Date.now() - WINDOWS[form.window][1] * 60_000).toISOString());
    const cursor = typeof req.query.cursor === 'string' ? req.query.cursor : undefined;
    const query = parseListQuery({ query: { ...Object.fromEntries(apiParams), ...(cursor ? { cursor } : {}) } });
    await ctx.store();
    const list = listResults(ctx.schema, query);
    const count = countResults(ctx.schema, query);
    const [rows, [{ n }], names] = await Promise.all([
      ctx.query(undefined, list.text, list.params),
      ctx.query<{ n: number }>(undefined, count.text, count.params),
      ctx.query<{ task_name: string }>(undefined, recentNames(ctx.schema)),
    ]);
    const more = rows.length > query.limit;
    const page = rows.slice(0, query.limit);
    const body: TaskListJson = {
      items: page.map(toListItem),
      limit: query.limit,
      offset: 0,
      nextCursor: more ? encodeCursor(page[page.length - 1].sort_key, String(page[page.length - 1].id)) : null,
      nextOffset: null,
      total: Math.min(n, COUNT_CAP),
      totalCapped: n > COUNT_CAP,
    };
    const formParams = new URLSearchParams(Object.entries(form) as [string, string][]);
    const here = `${p.base}/tasks`;
    const links = {
      newer: cursor ? `${here}?${formParams}` : undefined,
      older: body.nextCursor ? `${here}?${new URLSearchParams([...formParams, ['cursor', body.nextCursor]])}` : undefined,
    };
    const taskNames = [...new Set([...app.registry.names(), ...names.map((r) => r.task_name)])].sort();
    // Only the first page follows new tasks live; an older page stays put while you read it.
    const live = cursor ? '' : apiParams.toString();
    sendPage(res, p, 'tasks', 'tasks', 'Tasks', tasksPage(p, body, form, taskNames, live, links), { live: cursor ? '0' : '1' });
  });

  router.get('/tasks/new', (req, res) => {
    if (ctx.options.readOnly) throw new HttpError(403, 'read_only', 'This admin is read-only.');
    const p = pageContext(ctx, req, res, assetVersion);
    const selected = typeof req.query.task === 'string' ? req.query.task : undefined;
    sendPage(res, p, 'new-task', 'tasks', 'Start a task', newTaskPage(p, app.registry.names(), ctx.knownQueues(), selected));
  });

  router.get('/tasks/:id', async (req, res) => {
    const p = pageContext(ctx, req, res, assetVersion);
    const detail = await loadDetail(ctx, req, String(req.params.id));
    sendPage(res, p, 'task', 'tasks', detail.name ?? detail.id, taskDetailPage(p, detail), { 'task-id': detail.id });
  });

  router.get('/workers', async (req, res) => {
    const p = pageContext(ctx, req, res, assetVersion);
    const workers = await listWorkers(ctx);
    const { queues, delayed } = await listQueues(ctx, workers);
    sendPage(res, p, 'workers', 'workers', 'Workers', workersPage(p, workers, queues, delayed));
  });

  return router;
}
