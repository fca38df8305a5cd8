'use strict';
/**
 * W6 results at scale (issue 9: "indexes that keep the status lookup and the admin's filtered
 * lists fast with 10 million rows"). Celeriac only: BullMQ keeps results in Redis job hashes,
 * graphile-worker deletes a finished job and stores no result, and Celery's celery_taskmeta has
 * no admin with filtered lists; none has a table and queries to compare like for like.
 *
 * One run: fill Celeriac's own celeriac_task_result (its bench schema, after its migration) with
 * N rows from one INSERT … SELECT generate_series: a mix of states and task names, dates spread
 * over 36 hours so a third is older than resultExpires (1 day) and cleanup has work, small but
 * realistic args/kwargs/results/tracebacks. The table's indexes (whatever the migrations made)
 * are dropped for the load and rebuilt from their own definitions, as a bulk load is done; then
 * VACUUM ANALYZE, as autovacuum would leave a table at rest. Then: sizes; the probe
 * (systems/celeriac/results-probe.js) measures status lookups and the admin's filtered first
 * pages and EXPLAINs every statement; a worker runs the built-in `celery.backend_cleanup`; sizes,
 * probe again (dead tuples not yet vacuumed, as right after a real cleanup).
 */
const { join } = require('node:path');
const { Client } = require('pg');
const { Child } = require('../lib/proc');
const { ROOT } = require('../systems');
const { NS, DATABASE_URL } = require('../systems/ns');
const { tagFor } = require('./common');

/** Hours the rows' dates spread over (newest now): beyond 24 h, cleanup deletes them. */
const SPAN_HOURS = 36;
/** Lookups only pick rows newer than this, so both phases read the same population. */
const LOOKUP_MAX_AGE_HOURS = 22;

const TASK_NAMES = `CASE WHEN x.m < 40 THEN 'emails.send_welcome' WHEN x.m < 60 THEN 'emails.send_digest'
  WHEN x.m < 75 THEN 'billing.charge_card' WHEN x.m < 85 THEN 'images.make_thumbnail'
  WHEN x.m < 92 THEN 'search.reindex_document' WHEN x.m < 96 THEN 'webhooks.deliver'
  WHEN x.m < 99 THEN 'reports.daily_summary' ELSE 'reports.monthly_export' END`;

/**
 * States: 90 % SUCCESS, 5 % FAILURE, 0.8 % RETRY, 0.5 % REVOKED, 0.1 % PENDING that never ran
 * (lost: cleanup never deletes them, as they have no date_done), and the newest 0.2 % still
 * PENDING or STARTED (a backlog). hashint8 spreads them independently of the task name.
 */
function fillSql(table) {
  return `
  INSERT INTO ${table} (task_id, task_name, periodic_task_name, status, seq, args, kwargs, result, traceback, meta, worker, queue,
                        retries, parent_id, root_id, group_id, date_created, date_started, date_done, date_changed)
  SELECT md5('w6-' || g.i)::uuid::text,
         n.name,
         CASE WHEN n.name LIKE 'reports.%' THEN n.name || '-schedule' END,
         s.status,
         s.retries * 10 + CASE s.status WHEN 'PENDING' THEN 0 WHEN 'STARTED' THEN 2 WHEN 'RETRY' THEN 4 ELSE 5 END,
         jsonb_build_array(g.i % 100000, 'user-' || (g.i % 5000) || '@example.com'),
         jsonb_build_object('locale', 'en', 'source', 'web'),
         CASE s.status
           WHEN 'SUCCESS' THEN jsonb_build_object('ok', true, 'id', g.i, 'elapsed_ms', g.i % 900)
           WHEN 'FAILURE' THEN jsonb_build_object('exc_type', 'ValueError', 'exc_message', jsonb_build_array('invalid payload for record ' || g.i), 'exc_module', 'builtins')
           WHEN 'RETRY' THEN jsonb_build_object('exc_type', 'ConnectionError', 'exc_message', jsonb_build_array('upstream timed out'), 'exc_module', 'builtins')
         END,
         CASE WHEN s.status IN ('FAILURE', 'RETRY')
           THEN E'Traceback (most recent call last):\\n  File "/app/tasks.py", line 42, in run\\n    raise ValueError(msg)\\nValueError: invalid payload for record ' || g.i END,
         NULL,
         CASE WHEN s.status <> 'PENDING' THEN 'celeriac@web-' || (g.i % 4) END,
         CASE WHEN n.name LIKE 'emails.%' THEN 'emails' ELSE 'celery' END,
         s.retries,
         CASE WHEN g.i % 10 = 0 THEN md5('w6-' || (g.i - 1))::uuid::text END,
         md5('w6-' || (g.i - CASE WHEN g.i % 10 = 0 THEN 1 ELSE 0 END))::uuid::text,
         CASE WHEN g.i % 50 < 5 THEN 'group-' || (g.i / 50) END,
         x.created,
         CASE WHEN s.status <> 'PENDING' THEN x.created + interval '3 ms' END,
         CASE WHEN s.status IN ('SUCCESS', 'FAILURE', 'REVOKED') THEN x.created + interval '40 ms' END,
         x.created + CASE WHEN s.status IN ('SUCCESS', 'FAILURE', 'REVOKED') THEN interval '40 ms' WHEN s.status = 'PENDING' THEN interval '0' ELSE interval '3 ms' END
    FROM generate_series(1, $1::int) AS g(i)
   CROSS JOIN LATERAL (SELECT abs(hashint8(g.i::bigint) % 1000) AS k, abs(hashint8(-g.i::bigint) % 100) AS m,
                              $2::timestamptz - make_interval(secs => $3::float8 * (1 - g.i::float8 / $1::int)) AS created) AS x
   CROSS JOIN LATERAL (SELECT ${TASK_NAMES} AS name) AS n
   CROSS JOIN LATERAL (SELECT CASE WHEN g.i > $1::int * 0.998 AND x.k < 500 THEN 'PENDING'
                                   WHEN g.i > $1::int * 0.998 THEN 'STARTED'
                                   WHEN x.k < 900 THEN 'SUCCESS' WHEN x.k < 950 THEN 'FAILURE' WHEN x.k < 958 THEN 'RETRY'
                                   WHEN x.k < 963 THEN 'REVOKED' WHEN x.k < 964 THEN 'PENDING' ELSE 'SUCCESS' END AS status) AS s0
   CROSS JOIN LATERAL (SELECT s0.status, CASE WHEN s0.status = 'RETRY' THEN 1 ELSE 0 END AS retries) AS s`;
}

const MiB = (b) => Number(b) / 2 ** 20;

async function sizes(pg, table) {
  const { rows } = await pg.query(
    `SELECT pg_table_size($1::regclass) AS t, pg_indexes_size($1::regclass) AS i, pg_total_relation_size($1::regclass) AS total,
            (SELECT count(*) FROM ${table}) AS n`,
    [table],
  );
  const { rows: idx } = await pg.query(
    `SELECT indexrelid::regclass::text AS name, pg_relation_size(indexrelid) AS b FROM pg_index WHERE indrelid = $1::regclass ORDER BY 1`,
    [table],
  );
  return {
    rows: Number(rows[0].n),
    tableMiB: MiB(rows[0].t),
    indexesMiB: MiB(rows[0].i),
    totalMiB: MiB(rows[0].total),
    perIndexMiB: Object.fromEntries(idx.map((r) => [r.name.replace(/^.*\./, ''), +MiB(r.b).toFixed(1)])),
  };
}

const PROBE_TIMEOUT_MS = 60 * 60_000;

/** The probe (Celeriac's own code, from source) with its arguments; resolves with its BENCH_RESULT. */
function probe(name, args) {
  const c = new Child(
    name,
    process.execPath,
    [join(__dirname, '..', 'systems', 'celeriac', 'results-probe.js'), ...args.map(String)],
    {
      cwd: ROOT,
      env: { CELERIAC_FROM_SOURCE: '1' },
      timeoutMs: PROBE_TIMEOUT_MS,
    },
  );
  return c.result(PROBE_TIMEOUT_MS);
}

function say(msg) {
  process.stderr.write(`[bench w6] ${msg}\n`);
}

function printExplains(phase, explains) {
  for (const [name, plan] of Object.entries(explains)) {
    process.stderr.write(`[bench w6] EXPLAIN ${phase}: ${name}\n${plan.replace(/^/gm, '    ')}\n`);
  }
}

async function run(sys, env, opts, runIndex) {
  if (sys.family !== 'celeriac') {
    return {
      skipped:
        "Celeriac only: no peer has a result table with an admin's filtered lists to compare (BullMQ keeps results in Redis job hashes, graphile-worker stores none, Celery's celery_taskmeta has no list UI)",
    };
  }
  const n = opts.w6Rows;
  const tag = tagFor(sys, 'w6', runIndex);
  const table = `"${NS.celeriac.schema}".celeriac_task_result`;
  const out = { n };
  await sys.reset(env);
  const pg = new Client({ connectionString: DATABASE_URL, application_name: 'celeriac-bench-w6' });
  await pg.connect();
  try {
    await pg.query(`SET maintenance_work_mem = '256MB'`);
    // Every index but the primary key, with the constraint it backs (task_id's UNIQUE), as the migrations made them.
    const { rows: indexes } = await pg.query(
      `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def, c.conname, pg_get_constraintdef(c.oid) AS condef
         FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
        WHERE i.indrelid = $1::regclass AND NOT i.indisprimary`,
      [table],
    );
    for (const ix of indexes)
      await pg.query(ix.conname ? `ALTER TABLE ${table} DROP CONSTRAINT "${ix.conname}"` : `DROP INDEX ${ix.name}`);
    let t = Date.now();
    say(`filling ${table} with ${n.toLocaleString('en-US')} rows (indexes dropped: ${indexes.length})`);
    const now = new Date();
    await pg.query(fillSql(table), [n, now.toISOString(), SPAN_HOURS * 3600]);
    out.fillSec = (Date.now() - t) / 1000;
    t = Date.now();
    for (const ix of indexes)
      await pg.query(ix.conname ? `ALTER TABLE ${table} ADD CONSTRAINT "${ix.conname}" ${ix.condef}` : ix.def);
    out.indexSec = (Date.now() - t) / 1000;
    t = Date.now();
    await pg.query(`VACUUM (ANALYZE) ${table}`);
    out.vacuumSec = (Date.now() - t) / 1000;
    say(
      `filled in ${out.fillSec.toFixed(0)} s, indexes rebuilt in ${out.indexSec.toFixed(0)} s, VACUUM ANALYZE ${out.vacuumSec.toFixed(0)} s`,
    );
    const { rows: mix } = await pg.query(`SELECT status, count(*)::int AS n FROM ${table} GROUP BY 1 ORDER BY 2 DESC`);
    out.states = Object.fromEntries(mix.map((r) => [r.status, r.n]));
    out.sizesBefore = await sizes(pg, table);

    // Lookups read rows newer than LOOKUP_MAX_AGE_HOURS: present before and after the cleanup.
    const idLow = Math.ceil(n * (1 - LOOKUP_MAX_AGE_HOURS / SPAN_HOURS));
    const lookups = opts.quick ? 300 : 2000;
    const pages = opts.quick ? 20 : 200;
    const before = await probe(`${tag}-probe-before`, ['measure', lookups, pages, idLow, n]);
    printExplains('before cleanup', before.explains);
    out.before = before;

    // The built-in cleanup, as beat runs it daily: celery.backend_cleanup on a worker.
    const { rows: exp } = await pg.query(
      `SELECT count(*) FILTER (WHERE date_done < now() - interval '1 day')::int AS expired,
              count(*) FILTER (WHERE date_done IS NULL AND date_changed < now() - interval '1 day')::int AS never_done
         FROM ${table}`,
    );
    out.expiredBefore = exp[0].expired;
    out.oldWithoutDateDone = exp[0].never_done;
    const worker = sys.worker(env, `${tag}-cleanup`);
    try {
      await worker.waitFor('READY', 60_000);
      const c = await probe(`${tag}-probe-cleanup`, ['cleanup']);
      out.cleanupSec = c.ms / 1000;
      out.cleanupDeleted = c.result?.deleted;
    } finally {
      await worker.stop();
    }
    say(`celery.backend_cleanup deleted ${out.cleanupDeleted} rows in ${out.cleanupSec.toFixed(1)} s`);
    out.sizesAfter = await sizes(pg, table);

    const after = await probe(`${tag}-probe-after`, ['measure', lookups, pages, idLow, n]);
    printExplains('after cleanup', after.explains);
    out.after = after;
  } finally {
    // Gigabytes: give them back now rather than at teardown.
    await pg.query(`TRUNCATE ${table}`).catch(() => {});
    await pg.end();
  }
  return out;
}

module.exports = { name: 'w6', run, fillSql, SPAN_HOURS };
