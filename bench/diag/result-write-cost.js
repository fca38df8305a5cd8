'use strict';
/**
 * What recording one task's final state costs Postgres, apart from everything else W1 measures:
 *
 *   node bench/diag/result-write-cost.js [rows=40000] [batch=500]
 *
 * Migrates a scratch schema (bench_write_diag) with Celeriac's own migrations, then, through the
 * result store's own statements (src/results/sql.ts) on one connection, in batches as the worker
 * sends them: (1) inserts `rows` PENDING rows as senders record them, then times turning each into
 * SUCCESS (the W1 drain's write) with the upsert, and (2) with the narrow update a worker uses for
 * rows it knows exist (updateKnownResults); (3) times inserting `rows` SUCCESS rows with no
 * PENDING before (trackPending off). Then it drops every index but the two keys (id, task_id) and
 * repeats all three, which bounds what the admin's indexes cost. Prints Postgres CPU per row (all postgres
 * processes, from /proc) and wall time; drops the schema at the end. Nothing under src/ or
 * migrations/ changes.
 *
 * Why it exists: issue 3 asks for a drain of 1.5× the best peer's. The best peer here,
 * graphile-worker with batched completes, stores no result at all; this shows what the one thing
 * Celeriac does in addition costs on its own.
 */
const { randomUUID } = require('node:crypto');
const { runOnScratchSchema } = require('./scratch');
const { RECORD_KEY, updateKnownResults, upsertResults } = require('../../src/results/sql');
const { stateSeq } = require('../../src/results/states');
const { cpuDelta, pidsNamed, cpuByPid } = require('../lib/cpu');

const SCHEMA = 'bench_write_diag';
const T = `"${SCHEMA}".celeriac_task_result`;

/** A row as the worker's ResultStore sends it for a no-op task (its fields; keyed() gives toRecord's shape, src/results/batch-write.ts). */
function record(id, status, finished) {
  const now = new Date().toISOString();
  return {
    task_id: id,
    status,
    seq: stateSeq(status, 0),
    task_name: 'bench.noop',
    args: [],
    kwargs: {},
    worker: finished ? 'celery@bench' : undefined,
    queue: 'celery',
    retries: 0,
    root_id: id,
    date_created: now,
    date_done: finished ? now : undefined,
  };
}

/** The same state as the narrow update takes it (toFinishRecord in src/results/store.ts). */
function finishRecord(id) {
  return {
    task_id: id,
    status: 'SUCCESS',
    seq: stateSeq('SUCCESS', 0),
    worker: 'celery@bench',
    retries: 0,
    date_done: new Date().toISOString(),
  };
}

/** A record as the statements unpack it: sql.ts's short keys, dates as epoch ms (toRecord in batch-write.ts). */
function keyed(record) {
  const out = {};
  for (const [k, v] of Object.entries(record)) out[RECORD_KEY[k]] = k.startsWith('date_') && v ? Date.parse(v) : v;
  return out;
}

async function timed(ds, statement, ids, batch, toRecord) {
  const before = cpuByPid(pidsNamed('postgres'));
  const t0 = performance.now();
  for (let i = 0; i < ids.length; i += batch)
    await ds.query(statement, [JSON.stringify(ids.slice(i, i + batch).map((id) => keyed(toRecord(id))))]);
  const wallMs = performance.now() - t0;
  const cpuMs = cpuDelta(before, cpuByPid(pidsNamed('postgres')));
  return { usPerRow: (cpuMs * 1000) / ids.length, wallMs };
}

async function pendingRows(ds, rows, batch) {
  const ids = Array.from({ length: rows }, () => randomUUID());
  await timed(ds, upsertResults(SCHEMA), ids, batch, (id) => record(id, 'PENDING', false));
  await ds.query('CHECKPOINT');
  return ids;
}

async function measure(ds, rows, batch) {
  const upsert = upsertResults(SCHEMA);
  const update = await timed(ds, upsert, await pendingRows(ds, rows, batch), batch, (id) =>
    record(id, 'SUCCESS', true),
  );
  const narrow = await timed(ds, updateKnownResults(SCHEMA), await pendingRows(ds, rows, batch), batch, finishRecord);
  const insert = await timed(
    ds,
    upsert,
    Array.from({ length: rows }, () => randomUUID()),
    batch,
    (id) => record(id, 'SUCCESS', true),
  );
  return { update, narrow, insert };
}

const rows = Number(process.argv[2] ?? 40_000);
const batch = Number(process.argv[3] ?? 500);

runOnScratchSchema(SCHEMA, async (ds) => {
  const line = (label, r) =>
    console.log(
      `  ${label.padEnd(34)} ${r.usPerRow.toFixed(1).padStart(6)} µs of Postgres CPU per row, ${((rows / r.wallMs) * 1000).toFixed(0).padStart(6)} rows/s on one connection`,
    );
  const all = await measure(ds, rows, batch);
  const dropped = await ds.query(
    `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'celeriac_task_result' AND indexname NOT IN ('celeriac_task_result_pkey', 'celeriac_task_result_task_id_key')`,
    [SCHEMA],
  );
  for (const { indexname } of dropped) await ds.query(`DROP INDEX "${SCHEMA}"."${indexname}"`);
  await ds.query(`TRUNCATE ${T}`);
  const keys = await measure(ds, rows, batch);
  console.log(`${rows.toLocaleString('en-US')} rows, batches of ${batch}, the result store's statements:`);
  console.log(" with the migrations' indexes:");
  line('PENDING → SUCCESS, upsert', all.update);
  line('PENDING → SUCCESS, narrow update', all.narrow);
  line('SUCCESS, no PENDING before', all.insert);
  console.log(` with only the keys (id, task_id); dropped: ${dropped.map((d) => d.indexname).join(', ')}`);
  line('PENDING → SUCCESS, upsert', keys.update);
  line('PENDING → SUCCESS, narrow update', keys.narrow);
  line('SUCCESS, no PENDING before', keys.insert);
});
