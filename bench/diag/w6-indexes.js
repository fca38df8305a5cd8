'use strict';
/**
 * Which indexes the admin's list queries need, shown with EXPLAIN ANALYZE on a W6-shaped table:
 *
 *   node bench/diag/w6-indexes.js [rows=1000000]
 *
 * Migrates a scratch schema (bench_w6_diag) with Celeriac's own migrations, fills it as W6 does,
 * then runs the admin's list and count statements (built by src/admin/sql.ts from the query
 * strings its Tasks page sends) three ways: (a) as they are, on the migrations' indexes;
 * (b) as they are, plus candidate indexes; (c) with the SQL changed instead (no NULLS LAST on the
 * NOT NULL sort columns, `status = $1` for one state), on the migrations' indexes. Prints each
 * statement's execution time and plan shape; drops the schema at the end. Nothing under src/ or
 * migrations/ changes.
 */
const { runOnScratchSchema } = require('./scratch');
const { listResults, countResults } = require('../../src/admin/sql');
const { parseListQuery } = require('../../src/admin/validate');
const { fillSql, SPAN_HOURS } = require('../workloads/w6');

const SCHEMA = 'bench_w6_diag';
const T = `"${SCHEMA}".celeriac_task_result`;

const CANDIDATES = [
  `CREATE INDEX w6diag_changed_id ON ${T} (date_changed DESC NULLS LAST, id DESC)`,
  `CREATE INDEX w6diag_status_changed_id ON ${T} (status, date_changed DESC NULLS LAST, id DESC)`,
  `CREATE INDEX w6diag_name_changed_id ON ${T} (task_name, date_changed DESC NULLS LAST, id DESC)`,
  `CREATE INDEX w6diag_created ON ${T} (date_created)`,
];

function filters(now) {
  const ago = (h) => new Date(now - h * 3600_000).toISOString();
  return [
    ['newest, no filter', {}],
    ['state=FAILURE', { state: 'FAILURE' }],
    ['state=REVOKED', { state: 'REVOKED' }],
    ['task=reports.monthly_export', { task: 'reports.monthly_export' }],
    ['task=emails.send_welcome', { task: 'emails.send_welcome' }],
    ['window=1h (date_created)', { since: ago(1) }],
    ['state=FAILURE+task+24h', { state: 'FAILURE', task: 'emails.send_welcome', since: ago(24) }],
  ];
}

/** The SQL change that makes the migrations' indexes usable, applied to the generated text. */
function rewritten(text, params) {
  let t = text.replace(/ORDER BY (date_changed|date_created) (DESC|ASC) NULLS (LAST|FIRST)/, 'ORDER BY $1 $2');
  const m = /status = ANY\(\$(\d+)::text\[\]\)/.exec(t);
  const p = [...params];
  if (m && p[Number(m[1]) - 1].length === 1) {
    t = t.replace(m[0], `status = $${m[1]}`);
    p[Number(m[1]) - 1] = p[Number(m[1]) - 1][0];
  }
  return { text: t, params: p };
}

async function explain(ds, text, params) {
  const rows = (await ds.query(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, params)).map((r) => r['QUERY PLAN']);
  const ms = Number(/Execution Time: ([\d.]+)/.exec(rows.join('\n'))[1]);
  const shape = rows
    .filter((l) => /->|^\w/.test(l) && !/^(Planning|Execution)/.test(l.trim()))
    .map((l) =>
      l
        .trim()
        .replace(/^-> +/, '')
        .replace(/ +\(cost.*$/, ''),
    )
    .join(' › ');
  return { ms, shape, plan: rows.join('\n') };
}

const rows = Number(process.argv[2] ?? 1_000_000);

runOnScratchSchema(SCHEMA, async (ds) => {
  let t = Date.now();
  await ds.query(fillSql(T), [rows, new Date().toISOString(), SPAN_HOURS * 3600]);
  await ds.query(`VACUUM (ANALYZE) ${T}`);
  console.log(
    `${rows.toLocaleString('en-US')} rows filled and vacuumed in ${((Date.now() - t) / 1000).toFixed(0)} s (indexes as migrated)\n`,
  );
  const now = Date.now();
  const statements = [];
  for (const [name, query] of filters(now)) {
    const q = parseListQuery({ query });
    statements.push([`${name}: list`, listResults(T, q)], [`${name}: count`, countResults(T, q)]);
  }
  const results = {};
  for (const [name, s] of statements) results[name] = { a: await explain(ds, s.text, s.params) };
  for (const [name, s] of statements) {
    const r = rewritten(s.text, s.params);
    results[name].c = r.text === s.text ? null : await explain(ds, r.text, r.params);
  }
  t = Date.now();
  for (const c of CANDIDATES) await ds.query(c);
  await ds.query(`ANALYZE ${T}`);
  console.log(`candidate indexes built in ${((Date.now() - t) / 1000).toFixed(0)} s:\n  ${CANDIDATES.join('\n  ')}\n`);
  for (const [name, s] of statements) results[name].b = await explain(ds, s.text, s.params);
  for (const [name, r] of Object.entries(results)) {
    console.log(`${name}`);
    console.log(`  (a) as is, migrations' indexes:  ${r.a.ms.toFixed(1)} ms  ${r.a.shape}`);
    console.log(`  (b) as is, + candidate indexes:  ${r.b.ms.toFixed(1)} ms  ${r.b.shape}`);
    console.log(
      r.c
        ? `  (c) SQL changed, migrations' indexes: ${r.c.ms.toFixed(1)} ms  ${r.c.shape}`
        : '  (c) SQL unchanged by the rewrite',
    );
  }
});
