'use strict';
/** W5 (chord) and W6 (results at scale) tables, text and target; report.js puts them in place. */
const { summarize } = require('./stats');

const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const fmtMs = (x) =>
  !Number.isFinite(x) ? '—' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US');
const fmtSec = (x) => (!Number.isFinite(x) ? '—' : x < 10 ? x.toFixed(2) : x.toFixed(1));

const ok = (list) => (list ?? []).filter((r) => r && !r.error && !r.skipped);

function table(header, rows, left = 1) {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((h, i) => (i < left ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

function cell(values, fmt, runs) {
  const s = summarize(values);
  if (s.n === 0) return '—';
  if (runs === 1 || s.n === 1) return fmt(s.median);
  return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}

function w5Table(results, systems, opts) {
  const { chords } = require('../systems/chords');
  const rows = [];
  for (const s of systems) {
    const list = results[s.name];
    if (!list) continue;
    const skipped = list.find((r) => r?.skipped);
    if (skipped) {
      rows.push([s.label, '—', '—', '—', '—', skipped.skipped]);
      continue;
    }
    const good = ok(list);
    const errs = list.filter((r) => r?.error).length;
    rows.push([
      s.label + (errs ? ` ⚠ ${errs} run(s) failed` : ''),
      fmtInt(good[0]?.n ?? opts.w5Members),
      cell(
        good.map((r) => r.sendSec),
        fmtSec,
        opts.runs,
      ),
      cell(
        good.map((r) => r.completionSec),
        fmtSec,
        opts.runs,
      ),
      cell(
        good.map((r) => r.peakRssMiB),
        fmtInt,
        opts.runs,
      ),
      chords[s.name]?.how ?? '',
    ]);
  }
  return table(
    ['System', 'members', 'send (s)', 'worker start → callback result visible (s)', 'worker peak RSS (MiB)', 'how'],
    rows,
  );
}

function w5Text(opts) {
  return `- **W5 work-flows**: a chord of ${fmtInt(opts.w5Members)} no-op members and one callback that receives all their results (Celery \`chord(group([…]), cb.s())\` on its database result backend, so its \`celery.chord_unlock\` polls once a second; the header is a list, as Celery 5.2 sends only two members of a generator header, celery/celery#7285; BullMQ \`FlowProducer\` with a parent and ${fmtInt(opts.w5Members)} children; graphile-worker has no such primitive). One sender builds and sends it (send = first call → send returned, Celeriac's PENDING rows committed after that); then one worker process drains it; completion = worker start (modules loaded, nothing connected) → the callback's result visible in the store. Each callback returns how many results it got, and the run fails unless that is ${fmtInt(opts.w5Members)}.`;
}

function w5Target(results) {
  const list = ok(results.w5?.celeriac);
  if (!results.w5?.celeriac) return null;
  const n = list[0]?.n;
  const sec = summarize(list.map((r) => r.completionSec)).median;
  if (!list.length) return ['W5 chord 10k < 5 s', 'failed', 'not measured'];
  if (n < 10_000)
    return ['W5 chord 10k < 5 s', `${fmtSec(sec)} s for ${fmtInt(n)} members (not 10,000)`, 'not measured'];
  return ['W5 chord 10k < 5 s', `${fmtSec(sec)} s for ${fmtInt(n)} members`, sec < 5 ? 'met' : '**missed**'];
}

function pair(a, b) {
  return `${fmtMs(a?.p50)} / ${fmtMs(a?.p99)}${b ? ` → ${fmtMs(b.p50)} / ${fmtMs(b.p99)}` : ''}`;
}

function w6Table(results) {
  const list = results.celeriac ?? [];
  const r = ok(list)[0];
  if (!r) {
    const e = list.find((x) => x?.error);
    return e ? `Celeriac W6 failed: ${e.error.split('\n')[0]}` : 'not run';
  }
  const b = r.before;
  const a = r.after;
  const rows = [
    [`Status lookup, \`AsyncResult.status()\` (${fmtInt(b.lookup.n)} random ids)`, pair(b.lookup), pair(a.lookup), ''],
    [`Admin \`GET /api/tasks/:id\` (${fmtInt(b.adminStatus.n)})`, pair(b.adminStatus), pair(a.adminStatus), ''],
  ];
  for (const [name, p] of Object.entries(b.pages)) {
    const q = a.pages[name];
    const shown = (x) => `${fmtInt(x?.total)}${x?.totalCapped ? '+' : ''}`;
    const list = p.path.startsWith('/api/tasks');
    rows.push([
      `Admin ${list ? 'first page: ' : ''}${name} (${fmtInt(p.n)} requests)`,
      pair(p),
      pair(q),
      list ? `${shown(p)} → ${shown(q)}` : '',
    ]);
  }
  const sb = r.sizesBefore;
  const sa = r.sizesAfter;
  const out = [
    table(['Query (p50 / p99, ms)', 'before cleanup', 'after cleanup', 'rows matched (capped at 10,000)'], rows),
  ];
  out.push('');
  out.push(
    table(
      ['Table', 'rows', 'heap (MiB)', 'indexes (MiB)', 'total (MiB)'],
      [
        ['before cleanup', fmtInt(sb.rows), fmtInt(sb.tableMiB), fmtInt(sb.indexesMiB), fmtInt(sb.totalMiB)],
        [
          'after cleanup (not yet vacuumed)',
          fmtInt(sa.rows),
          fmtInt(sa.tableMiB),
          fmtInt(sa.indexesMiB),
          fmtInt(sa.totalMiB),
        ],
      ],
    ),
  );
  out.push('');
  out.push(
    `Load: ${fmtInt(r.n)} rows in ${fmtSec(r.fillSec)} s (one INSERT … SELECT generate_series, indexes dropped), indexes rebuilt in ${fmtSec(r.indexSec)} s, VACUUM ANALYZE ${fmtSec(r.vacuumSec)} s. ` +
      `States: ${Object.entries(r.states)
        .map(([k, v]) => `${k} ${fmtInt(v)}`)
        .join(', ')}. ` +
      `Cleanup (\`celery.backend_cleanup\` on a worker, 10,000 rows per DELETE): ${fmtInt(r.cleanupDeleted)} rows deleted in ${fmtSec(r.cleanupSec)} s ` +
      `(${fmtInt(r.expiredBefore)} had date_done older than a day; ${fmtInt(r.oldWithoutDateDone)} unfinished and unchanged for a day, i.e. PENDING that never ran, which it deletes too). ` +
      `Index sizes before (MiB): ${Object.entries(sb.perIndexMiB)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}.`,
  );
  return out.join('\n');
}

function w6Text(opts) {
  return `- **W6 results at scale** (Celeriac only: no peer has a result table with an admin's filtered lists to compare): ${fmtInt(opts.w6Rows)} rows in celeriac_task_result from one INSERT … SELECT generate_series (90 % SUCCESS, 5 % FAILURE, some RETRY/REVOKED/PENDING; 8 task names; dates over 36 h, a third older than resultExpires = 1 day; small args/kwargs/results/tracebacks), with the table's own indexes dropped for the load and rebuilt from their definitions, then VACUUM ANALYZE. Measured sequentially from one process: status lookups by random task id through \`AsyncResult.status()\` and the admin's \`GET /api/tasks/:id\`, and the admin's \`GET /api/tasks\` first page (list + capped count, the route's own code, on an in-process Express app) for the filters its Tasks page sends; then \`celery.backend_cleanup\` runs on a worker, and everything is measured again. EXPLAIN (ANALYZE, BUFFERS) of every statement is in the run's log. One run.`;
}

module.exports = { w5Table, w5Text, w5Target, w6Table, w6Text };
