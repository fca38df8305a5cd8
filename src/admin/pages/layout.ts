import type { Request } from 'express';
import { html, type SafeHtml } from '../html';
import { ADMIN_SCRIPTS, stylesheetLinks } from '../static';

export interface PageContext {
  /** Where the admin is mounted, e.g. /admin/celeriac; every link is built from it. */
  base: string;
  csrf: string;
  title: string;
  assetVersion: string;
  readOnly: boolean;
  /** Navigation links the app configured (admin options signOutUrl, appUrl, appName). */
  signOutUrl?: string;
  appUrl?: string;
  appName?: string;
}

const NAV = [
  ['dashboard', '', 'Dashboard'],
  ['tasks', '/tasks', 'Tasks'],
  ['periodic', '/periodic-tasks', 'Periodic tasks'],
  ['workers', '/workers', 'Workers'],
  ['queues', '/queues', 'Queues'],
] as const;

export type NavKey = (typeof NAV)[number][0];

export function layout(
  p: PageContext,
  page: { key: string; nav: NavKey; title: string; body: SafeHtml; data?: Record<string, string> },
): string {
  const data = Object.entries(page.data ?? {}).map(([k, v]) => html` data-${k.replace(/[^a-z0-9-]/g, '')}="${v}"`);
  return `<!doctype html>\n${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="celeriac-csrf" content="${p.csrf}">
<title>${page.title} · ${p.title}</title>
<link rel="icon" href="data:,">
${stylesheetLinks(p.base, p.assetVersion)}<script src="${p.base}/static/celeriac-status.js?v=${p.assetVersion}" defer></script>
${ADMIN_SCRIPTS.filter((name) => name !== 'admin-periodic.js' || page.nav === 'periodic').map(
  (name) => html`<script src="${p.base}/static/${name}?v=${p.assetVersion}" defer></script>\n`,
)}
</head>
<body data-page="${page.key}" data-base="${p.base}" data-read-only="${p.readOnly ? '1' : '0'}"${data}>
<header class="top">
  <a class="brand" href="${p.base}/"><span class="logo" aria-hidden="true"></span>${p.title}</a>
  <nav aria-label="Admin">
    ${NAV.map(([key, path, label]) => html`<a href="${p.base}${path || '/'}"${key === page.nav ? html` aria-current="page"` : ''}>${label}</a>`)}
  </nav>
  <span class="live" id="live" title="Live updates">offline</span>
  <label class="zone-pick"><span class="visually-hidden">Show times in</span>
    <select id="zone-pick" aria-label="Show times in"><option value="local">Browser time</option><option value="utc">UTC</option></select>
  </label>
  ${p.appUrl ? html`<a class="nav-extra" href="${p.appUrl}">${p.appName ?? 'Back to the app'}</a>` : ''}
  ${p.signOutUrl ? html`<a class="nav-extra" href="${p.signOutUrl}">Sign out</a>` : ''}
</header>
<main>
${page.body}
</main>
</body>
</html>`}`;
}

export function stateBadge(state: string): SafeHtml {
  return html`<span class="badge state-${state.toLowerCase()}" data-state="${state}">${state}</span>`;
}

/**
 * A UTC timestamp the browser rewrites into the page's zone (admin-core.js), or into `zone` (a
 * schedule's own IANA zone) when given; readable without JS too.
 */
export function time(value: string | Date | null | undefined, zone?: string): SafeHtml {
  if (!value) return html`<span class="muted">—</span>`;
  const d = new Date(value);
  const text = d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  return html`<time datetime="${d.toISOString()}"${zone ? html` data-zone="${zone}"` : ''}>${text}</time>`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  return m < 60 ? `${m} min ${Math.round((ms % 60_000) / 1000)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function shortId(id: string): string {
  return id.length > 13 ? id.slice(0, 8) + '…' : id;
}

export function pageBase(req: Request): string {
  return req.baseUrl.replace(/\/+$/, '');
}
