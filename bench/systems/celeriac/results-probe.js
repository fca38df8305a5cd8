'use strict';
/**
 * W6, Celeriac: reads a large result table the way an app and the admin do. Prints
 * `BENCH_RESULT {json}`.
 *
 *   node results-probe.js measure <lookups> <pages> <idLow> <idHigh>
 *     status lookups: `AsyncResult.status()` (the store's select by task_id), then the admin's
 *     `GET /api/tasks/:id`, each for random ids of rows w6.js wrote (md5('w6-' || i), idLow ≤ i ≤ idHigh);
 *     filtered first pages: the admin's `GET /api/tasks?…` (list + capped count, the route's own
 *     code) on an in-process Express app, with the filters the Tasks page sends, plus /api/stats;
 *     EXPLAIN (ANALYZE, BUFFERS) of each statement, built by the admin's own SQL functions.
 *   node results-probe.js cleanup
 *     sends `celery.backend_cleanup` (src/results/cleanup.ts) to a running worker and waits for
 *     its result: the built-in cleanup, as beat would run it.
 */
process.env.CELERIAC_FROM_SOURCE = '1';
const { runChild } = require('../../lib/child');
require('../../../bin/register-ts').register();
const { createHash } = require('node:crypto');
const express = require('express');
const { celeriac } = require('./app.ts');
const {
  listResults,
  countResults,
  countsByState,
  throughputPerMinute,
  resultDetail,
} = require('../../../src/admin/sql');
const { parseListQuery } = require('../../../src/admin/validate');
const { selectResults } = require('../../../src/results/sql');
const { resultRelation } = require('../../../src/results/table-mode');

/** The ids w6.js gives its rows: `md5('w6-' || i)::uuid::text`. */
function idOf(i) {
  const h = createHash('md5').update(`w6-${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Nearest-rank percentiles, as W2 reports them. */
function stats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  return { n: s.length, p50: at(50), p99: at(99), max: s[s.length - 1] };
}

/**
 * The filters the admin's Tasks page sends to /api/tasks (pages/routes.ts): none, a state, a
 * task name, a time window (`since`, on date_created, the API's default dateField), and a
 * combination; plus an API-only date range on date_done. `since`/`until` are fixed per run.
 */
function filters(now) {
  const ago = (h) => new Date(now - h * 3600_000).toISOString();
  return [
    { name: 'newest, no filter', query: {} },
    { name: 'state=FAILURE', query: { state: 'FAILURE' } },
    { name: 'task=reports.monthly_export (1 % of rows)', query: { task: 'reports.monthly_export' } },
    { name: 'window=1h (since, date_created)', query: { since: ago(1) } },
    {
      name: 'state=FAILURE + task=emails.send_welcome + window=24h',
      query: { state: 'FAILURE', task: 'emails.send_welcome', since: ago(24) },
    },
    {
      name: 'dateField=date_done, 1 h range 20 h ago',
      query: { dateField: 'date_done', since: ago(20), until: ago(19) },
    },
  ];
}

async function explain(ds, text, params) {
  const rows = await ds.query(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, params);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

async function measure(lookups, pages, idLow, idHigh) {
  const ds = await celeriac.dataSource();
  const schema = celeriac.config.schema;
  // The admin's statements take the relation they read (Celeriac's table or Django's), not a schema.
  const results = resultRelation('celeriac', schema);
  const rnd = () => idOf(idLow + Math.floor(Math.random() * (idHigh - idLow + 1)));
  const now = Date.now();
  const out = { explains: {} };

  // EXPLAINs first, on a cold-ish cache, so a plan that reads the table shows its buffers.
  const one = rnd();
  out.explains['status lookup (AsyncResult: store select by task_id)'] = await explain(ds, selectResults(schema), [
    [one],
  ]);
  out.explains['admin GET /api/tasks/:id (by task_id)'] = await explain(ds, resultDetail(results), [one]);
  for (const f of filters(now)) {
    const q = parseListQuery({ query: f.query });
    const list = listResults(results, q);
    const count = countResults(results, q);
    out.explains[`${f.name}: list`] = await explain(ds, list.text, list.params);
    out.explains[`${f.name}: count`] = await explain(ds, count.text, count.params);
  }
  const start = new Date(Math.floor(now / 60_000) * 60_000 + 60_000 - 60 * 60_000).toISOString();
  out.explains['dashboard: counts by state (60 min)'] = await explain(ds, countsByState(results), [start]);
  out.explains['dashboard: throughput per minute (60 min)'] = await explain(ds, throughputPerMinute(results), [
    start,
    new Date(now + 60_000).toISOString(),
  ]);

  // Status lookups through the public API (AsyncResult → ResultStore.get, a prepared select).
  const warm = 20;
  const ms = [];
  let missing = 0;
  for (let i = 0; i < lookups + warm; i++) {
    const r = celeriac.asyncResult(rnd());
    const t = performance.now();
    const st = await r.status();
    if (i >= warm) ms.push(performance.now() - t);
    if (st === 'UNKNOWN') missing++;
  }
  out.lookup = { ...stats(ms), missing };

  // The admin over HTTP, in this process, as an app mounts it.
  const web = express();
  web.use('/admin', celeriac.admin({ insecureNoAuth: true }));
  const server = await new Promise((resolve) => {
    const s = web.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${server.address().port}/admin`;
  const get = async (path) => {
    const t = performance.now();
    const res = await fetch(base + path);
    const body = await res.json();
    const elapsed = performance.now() - t;
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    return { elapsed, body };
  };
  const statusMs = [];
  for (let i = 0; i < Math.min(lookups, 500) + warm; i++) {
    const { elapsed } = await get(`/api/tasks/${rnd()}`);
    if (i >= warm) statusMs.push(elapsed);
  }
  out.adminStatus = stats(statusMs);
  out.pages = {};
  for (const f of [...filters(now), { name: 'dashboard `GET /api/stats` (60 min)', path: '/api/stats' }]) {
    const path = f.path ?? `/api/tasks?${new URLSearchParams(f.query)}`;
    const msList = [];
    let last;
    // A page that takes seconds (a missing index) gets 10 samples and a minute, not all of them.
    const until = Date.now() + 60_000;
    for (let i = 0; i < pages + 5 && (i < 15 || Date.now() < until); i++) {
      const { elapsed, body } = await get(path);
      if (i >= 5) msList.push(elapsed);
      last = body;
    }
    out.pages[f.name] = {
      ...stats(msList),
      path,
      items: last.items?.length,
      total: last.total,
      totalCapped: last.totalCapped,
    };
  }
  await new Promise((r) => server.close(r));
  return out;
}

async function cleanup() {
  const t0 = performance.now();
  const r = await celeriac.sendTask('celery.backend_cleanup');
  const result = await r.get({ timeout: 3600 });
  return { ms: performance.now() - t0, result, resultExpiresSec: celeriac.config.resultExpires };
}

async function main() {
  const [mode, ...rest] = process.argv.slice(2);
  await celeriac.results();
  let out;
  if (mode === 'measure') out = await measure(...rest.map(Number));
  else if (mode === 'cleanup') out = await cleanup();
  else throw new Error(`unknown mode ${mode}`);
  await celeriac.close();
  return out;
}

runChild(main);
