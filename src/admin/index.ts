import express, { Router } from 'express';
import type { Runtime } from '../runtime/runtime';
import { controlRoutes } from './api/control';
import { monitorRoutes } from './api/monitor';
import { periodicRoutes } from './api/periodic';
import { queueRoutes } from './api/queues';
import { taskStatsRoutes } from './api/task-stats';
import { taskRoutes } from './api/tasks';
import { checkBody } from './body';
import { AdminContext } from './context';
import { EventHub } from './events';
import { errorHandler } from './http';
import { resolveAdminOptions, type AdminOptions } from './options';
import { pageRoutes } from './pages/routes';
import { authorization, csrfProtection, csrfToken, securityHeaders } from './security';
import { staticAssets } from './static';

/**
 * The admin: JSON API, server-rendered pages and an event stream, as one Express router.
 *
 *   app.use('/admin/celeriac', celeriac.admin({ authorize: (req) => Boolean(req.user?.isStaff) }));
 *
 * Order matters: static files (no data) → authorize → CSRF checks → body parsing (so a refused
 * request is never parsed) → routes → one error handler.
 */
export function createAdmin(app: Runtime, options: AdminOptions): Router {
  const resolved = resolveAdminOptions(options);
  const hub = new EventHub(() => app.broker(), app.logger, resolved.sseHeartbeatMs, resolved.maxSseClients);
  app.onClose(() => hub.close());
  const ctx = new AdminContext(app, resolved, hub);
  const assets = staticAssets();
  const router = Router();
  router.use(securityHeaders);
  router.use(assets.router);
  router.use(authorization(resolved, app.logger));
  router.use(csrfProtection(resolved));
  router.use(express.json({ limit: resolved.bodyLimit, type: 'application/json' }));
  router.use(checkBody);
  router.get('/api/csrf', (req, res) => {
    res.set('Cache-Control', 'no-store').json({ token: csrfToken(req, res), header: 'X-CSRF-Token' });
  });
  router.use(taskRoutes(ctx));
  router.use(monitorRoutes(ctx));
  router.use(controlRoutes(ctx));
  router.use(queueRoutes(ctx));
  router.use(taskStatsRoutes(ctx));
  router.use(periodicRoutes(ctx));
  router.use(pageRoutes(ctx, assets.version));
  router.use('/api', (req, res) => {
    const message = `No admin API route ${req.method} ${req.baseUrl}${req.path}; the README's "JSON API" section lists them.`;
    res.status(404).json({ error: 'not_found', message, errors: { path: message } });
  });
  router.use(errorHandler(app.logger));
  return router;
}

export { taskStatusJson } from './task-status';
export type { AdminOptions, RequestCheck } from './options';
export type * from './types';
