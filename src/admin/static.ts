import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Router } from 'express';
import { html, type SafeHtml } from './html';

/**
 * The admin's browser files, served from memory. They hold no data, so they are served before
 * authorisation: an app's public pages can include celeriac-status.js. They live in src/ (the
 * package ships src/), so a compiled dist/ build finds them by walking back to the sources.
 */

/**
 * The admin's scripts in the order a page loads them (all `defer`, so they run in this order):
 * the shared helpers, the chart, the page scripts that register into the helpers, and admin.js,
 * which starts the page, last. The layout writes a script tag per name; only these are served.
 */
export const ADMIN_SCRIPTS = [
  'admin-core.js',
  'admin-charts.js',
  'admin-dashboard.js',
  'admin-tasks.js',
  'admin-workers.js',
  'admin-queues.js',
  'admin-periodic.js',
  'admin.js',
] as const;

/** The admin's stylesheets, in cascade order: the base (variables, frame), the parts, the pages. */
export const ADMIN_STYLES = ['admin.css', 'admin-forms.css', 'admin-pages.css'] as const;

/** The link tags of every admin page, the bare error pages included; `version` busts browser caches. */
export function stylesheetLinks(base: string, version?: string): SafeHtml {
  const query = version ? `?v=${version}` : '';
  return html`${ADMIN_STYLES.map((name) => html`<link rel="stylesheet" href="${base}/static/${name}${query}">\n`)}`;
}

const FILES: Record<string, string> = {
  'celeriac-status.js': 'text/javascript; charset=utf-8',
  ...Object.fromEntries(ADMIN_STYLES.map((name) => [name, 'text/css; charset=utf-8'])),
  ...Object.fromEntries(ADMIN_SCRIPTS.map((name) => [name, 'text/javascript; charset=utf-8'])),
};

function staticDir(): string {
  const candidates = [join(__dirname, 'static'), join(__dirname, '..', '..', '..', 'src', 'admin', 'static')];
  const found = candidates.find((d) => existsSync(join(d, 'admin.js')));
  if (!found)
    throw new Error(`Celeriac admin: static files not found in ${candidates.join(' or ')}; reinstall the package.`);
  return found;
}

export interface StaticAssets {
  router: Router;
  /** Changes when any file changes; pages append it to asset URLs so browsers never run a stale script. */
  version: string;
}

export function staticAssets(): StaticAssets {
  const dir = staticDir();
  const files = new Map<string, { body: Buffer; type: string; etag: string }>();
  const all = createHash('sha256');
  for (const [name, type] of Object.entries(FILES)) {
    const body = readFileSync(join(dir, name));
    const digest = createHash('sha256').update(body).digest('base64url').slice(0, 16);
    all.update(digest);
    files.set(name, { body, type, etag: `"${digest}"` });
  }
  const router = Router();
  router.get('/static/:file', (req, res, next) => {
    const file = files.get(req.params.file);
    if (!file) return next();
    res.set({ 'Content-Type': file.type, ETag: file.etag, 'Cache-Control': 'public, max-age=300' });
    if (req.get('if-none-match') === file.etag) return void res.status(304).end();
    res.send(file.body);
  });
  return { router, version: all.digest('base64url').slice(0, 10) };
}
