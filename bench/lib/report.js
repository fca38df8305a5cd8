'use strict';
/** Turns the runs into tables (median of runs, with min–max) and the BENCHMARKS.md document. */
const { summarize } = require('./stats');
const flows = require('./report-flows');
const beat = require('./report-beat');

const fmtInt = (x) => Math.round(x).toLocaleString('en-US');
const fmtMs = (x) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US'));
const fmtSec = (x) => x.toFixed(1);

function cell(values, fmt, { runs }) {
  const s = summarize(values);
  if (s.n === 0) return '—';
  if (runs === 1 || s.n === 1) return fmt(s.median);
  return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}

function okRuns(list) {
  return (list ?? []).filter((r) => r && !r.error && !r.skipped);
}

function errorsOf(list) {
  return (list ?? []).filter((r) => r?.error).map((r) => r.error);
}

function med(list, key) {
  return summarize(okRuns(list).map((r) => r[key])).median;
}

/** Best peer for a metric: highest when higher is better, lowest otherwise. */
function bestPeer(results, systems, key, higherIsBetter, filter = () => true) {
  let best = null;
  for (const s of systems) {
    if (s.family === 'celeriac' || !filter(s)) continue;
    const v = med(results[s.name], key);
    if (!Number.isFinite(v)) continue;
    if (!best || (higherIsBetter ? v > best.value : v < best.value)) best = { system: s, value: v };
  }
  return best;
}

function ratioCell(results, systems, key, higherIsBetter, filter, own = 'celeriac') {
  const cel = med(results[own], key);
  const best = bestPeer(results, systems, key, higherIsBetter, filter);
  if (!Number.isFinite(cel) || !best) return '—';
  return `**${(cel / best.value).toFixed(2)}×** ${best.system.label}`;
}

/** A markdown table; columns right-aligned (figures) unless `left` says how many lead columns are text. */
function table(header, rows, left = 1) {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((h, i) => (i < left ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

function w1Table(results, systems, opts) {
  const rows = [];
  for (const s of systems) {
    const list = results[s.name];
    if (!list) continue;
    const ok = okRuns(list);
    const errs = errorsOf(list);
    const n = ok[0]?.n ?? (s.family === 'celery' ? opts.w1CeleryTasks : opts.w1Tasks);
    rows.push([
      s.label + (errs.length ? ` ⚠ ${errs.length} run(s) failed` : ''),
      fmtInt(n),
      cell(
        ok.map((r) => r.sendPerSec),
        fmtInt,
        opts,
      ),
      s.bulk
        ? cell(
            ok.map((r) => r.bulkPerSec),
            fmtInt,
            opts,
          )
        : 'no bulk API',
      cell(
        ok.map((r) => r.drainPerSec),
        fmtInt,
        opts,
      ),
      cell(
        ok.map((r) => r.drainFromSpawnPerSec),
        fmtInt,
        opts,
      ),
      cell(
        ok.map((r) => r.firstTaskFromSpawnMs),
        fmtInt,
        opts,
      ),
      cell(
        ok.map((r) => r.peakRssMiB),
        fmtInt,
        opts,
      ),
      ['worker', 'redis', 'postgres']
        .map((k) =>
          cell(
            ok.map((r) => r[`${k}CpuMsPer1k`]),
            fmtInt,
            { runs: 1 },
          ),
        )
        .join(' · '),
    ]);
  }
  if (results.celeriac && systems.some((s) => s.family !== 'celeriac' && results[s.name])) {
    rows.push([
      'Celeriac ÷ best peer',
      '',
      ratioCell(results, systems, 'sendPerSec', true),
      ratioCell(results, systems, 'bulkPerSec', true),
      ratioCell(results, systems, 'drainPerSec', true),
      ratioCell(results, systems, 'drainFromSpawnPerSec', true),
      ratioCell(results, systems, 'firstTaskFromSpawnMs', false),
      ratioCell(results, systems, 'peakRssMiB', false),
      ratioCell(results, systems, 'workerCpuMsPer1k', false) + ' (worker)',
    ]);
  }
  // The built package (issue 21): what an app that installed Celeriac runs, beside the same peers.
  if (results['celeriac-dist'] && systems.some((s) => s.family !== 'celeriac' && results[s.name])) {
    const r = (key, higher) => ratioCell(results, systems, key, higher, undefined, 'celeriac-dist');
    rows.push([
      'Celeriac (built) ÷ best peer',
      '',
      r('sendPerSec', true),
      r('bulkPerSec', true),
      r('drainPerSec', true),
      r('drainFromSpawnPerSec', true),
      r('firstTaskFromSpawnMs', false),
      r('peakRssMiB', false),
      r('workerCpuMsPer1k', false) + ' (worker)',
    ]);
  }
  return table(
    [
      'System',
      'tasks',
      'send one by one (tasks/s)',
      'send in bulk (tasks/s)',
      'drain from modules loaded (tasks/s)',
      'drain from spawn (tasks/s)',
      'spawn → first task running (ms)',
      'worker peak RSS (MiB)',
      'drain CPU ms per 1k tasks: worker · Redis · Postgres (median)',
    ],
    rows,
  );
}

function w2Table(results, systems, opts) {
  const rows = [];
  for (const s of systems) {
    const list = results[s.name];
    if (!list) continue;
    const ok = okRuns(list);
    const errs = errorsOf(list);
    rows.push([
      s.label + (errs.length ? ` ⚠ ${errs.length} run(s) failed` : ''),
      cell(
        ok.map((r) => r.p50),
        fmtMs,
        opts,
      ),
      cell(
        ok.map((r) => r.p95),
        fmtMs,
        opts,
      ),
      cell(
        ok.map((r) => r.p99),
        fmtMs,
        opts,
      ),
    ]);
  }
  if (results.celeriac && systems.some((s) => s.family !== 'celeriac' && results[s.name])) {
    rows.push([
      'Celeriac ÷ best peer (lower is better)',
      ratioCell(results, systems, 'p50', false),
      ratioCell(results, systems, 'p95', false),
      ratioCell(results, systems, 'p99', false),
    ]);
  }
  return table(['System', 'p50 (ms)', 'p95 (ms)', 'p99 (ms)'], rows);
}

function w4Table(results, systems, opts) {
  const rows = [];
  const o = { runs: opts.w4Runs };
  for (const s of systems) {
    const list = results[s.name];
    if (!list) continue;
    const ok = okRuns(list);
    const errs = errorsOf(list);
    const notRecovered = ok.filter((r) => r.recoverySec === null).length;
    const rec = ok.map((r) => r.recoverySec).filter((x) => x !== null);
    let recCell = rec.length ? cell(rec, fmtSec, o) : '—';
    if (notRecovered)
      recCell = `${rec.length ? recCell + '; ' : ''}not within ${fmtSec(ok[0].windowMs / 1000)} s in ${notRecovered} of ${ok.length} run(s)`;
    rows.push([
      s.label + (errs.length ? ` ⚠ ${errs.length} run(s) failed` : ''),
      fmtInt(ok[0]?.n ?? opts.w4Tasks),
      cell(
        ok.map((r) => r.completedAtKill),
        fmtInt,
        o,
      ),
      cell(
        ok.map((r) => r.completed),
        fmtInt,
        o,
      ),
      cell(
        ok.map((r) => r.lost),
        fmtInt,
        o,
      ),
      cell(
        ok.map((r) => r.ranTwice),
        fmtInt,
        o,
      ),
      cell(
        ok.map((r) => r.completedTwice),
        fmtInt,
        o,
      ),
      recCell,
    ]);
  }
  return table(
    [
      'System',
      'tasks',
      'done at kill',
      'completed',
      'lost',
      'ran twice',
      'completed twice',
      'recovery: kill → all done (s)',
    ],
    rows,
  );
}

/** Issue 8's targets, each checked against this run's figures. */
function targets(results, systems) {
  const rows = [];
  const verdict = (ok) => (ok === null ? 'not measured' : ok ? 'met' : '**missed**');
  const w1 = results.w1 ?? {};
  if (w1.celeriac) {
    const cel = med(w1.celeriac, 'drainPerSec');
    const best = bestPeer(w1, systems, 'drainPerSec', true);
    const celery = bestPeer(w1, systems, 'drainPerSec', true, (s) => s.family === 'celery');
    const r1 = best && Number.isFinite(cel) ? cel / best.value : NaN;
    const r2 = celery && Number.isFinite(cel) ? cel / celery.value : NaN;
    rows.push([
      'W1 drain ≥ 1.5× best peer',
      best
        ? `${fmtInt(cel)} vs ${fmtInt(best.value)} tasks/s (${best.system.label}) = ${r1.toFixed(2)}×`
        : 'no peer measured',
      verdict(best ? r1 >= 1.5 : null),
    ]);
    rows.push([
      'W1 drain ≥ 20× Celery',
      celery
        ? `${fmtInt(cel)} vs ${fmtInt(celery.value)} tasks/s (${celery.system.label}) = ${r2.toFixed(1)}×`
        : 'Celery not measured',
      verdict(celery ? r2 >= 20 : null),
    ]);
  }
  const ignoring = w1['celeriac-ignore-result'];
  const batched = w1['graphile-batched'];
  if (ignoring) {
    const cel = med(ignoring, 'drainPerSec');
    const peer = batched ? med(batched, 'drainPerSec') : NaN;
    const ok = Number.isFinite(cel) && Number.isFinite(peer);
    rows.push([
      'W1 drain with ignoreResult ≥ 1.5× graphile-worker batched',
      ok
        ? `${fmtInt(cel)} vs ${fmtInt(peer)} tasks/s = ${(cel / peer).toFixed(2)}×`
        : 'graphile-worker batched not measured',
      verdict(ok ? cel / peer >= 1.5 : null),
    ]);
  }
  const w2 = results.w2 ?? {};
  if (w2.celeriac) {
    const p50 = med(w2.celeriac, 'p50');
    const p99 = med(w2.celeriac, 'p99');
    rows.push(['W2 p50 ≤ 2 ms', `${fmtMs(p50)} ms`, verdict(Number.isFinite(p50) ? p50 <= 2 : null)]);
    rows.push(['W2 p99 ≤ 10 ms', `${fmtMs(p99)} ms`, verdict(Number.isFinite(p99) ? p99 <= 10 : null)]);
  }
  const w4 = results.w4 ?? {};
  if (w4.celeriac) {
    const ok = okRuns(w4.celeriac);
    const lost = ok.length ? Math.max(...ok.map((r) => r.lost)) : NaN;
    const rec = ok.map((r) => (r.recoverySec === null ? Infinity : r.recoverySec));
    const worst = rec.length ? Math.max(...rec) : NaN;
    rows.push([
      'W4 zero lost (every run)',
      ok.length ? `at most ${lost} lost` : 'failed',
      verdict(ok.length ? lost === 0 : null),
    ]);
    rows.push([
      'W4 recovery ≤ 10 s (every run)',
      ok.length ? (Number.isFinite(worst) ? `worst ${fmtSec(worst)} s` : 'not recovered within the window') : 'failed',
      verdict(ok.length ? worst <= 10 : null),
    ]);
  }
  const w5 = flows.w5Target(results);
  if (w5) rows.push(w5);
  if (results.w3) rows.push(...beat.w3Targets(results.w3, systems, verdict));
  return table(['Target (issue 8)', 'This run', 'Verdict'], rows, 3);
}

function workloadText(opts) {
  return [
    `- **W1 throughput**: ${fmtInt(opts.w1Tasks)} no-op tasks (Celery: ${fmtInt(opts.w1CeleryTasks)}, as its drain is ~50× slower; rates are steady-state) sent one call at a time from one process, each call awaited; then, separately, the same number in bulk where a bulk API exists. Then one worker process drains the one-by-one batch with every result recorded; drain = N ÷ (worker start → last result visible in the store), where "worker start" is the instant its modules are loaded and nothing is connected yet. Peak RSS = VmHWM summed over the worker's process tree. Drain CPU = user+system time during the drain per 1,000 tasks, of the worker's process tree and of all redis-server and postgres processes (those two are shared with anything else running on the machine, the harness's own result polling included: indicative).`,
    `- **W2 latency**: ${fmtInt(opts.w2Samples)} round trips, one at a time, with the worker already running and ${opts.quick ? 5 : 20} warm-ups discarded: send one no-op task, wait until its result is visible to the sender, send the next. Percentiles are nearest-rank over each run's samples.`,
    ...(opts.workloads?.includes('w3') ? [beat.w3Text(opts)] : []),
    `- **W4 crash**: ${fmtInt(opts.w4Tasks)} tasks of 50 ms queued; one worker starts; when ~30 % have finished, SIGKILL to its whole process group and a second worker starts at once. Each execution RPUSHes its task id at start and end, so "ran twice" and "completed twice" are counted per task; completed = results visible in the store; lost = not completed when the watch window (the system's documented redelivery bound plus margin) closes; recovery = kill → all results visible.`,
    ...(opts.workloads?.includes('w5') ? [flows.w5Text(opts)] : []),
    ...(opts.workloads?.includes('w6') ? [flows.w6Text(opts)] : []),
  ].join('\n');
}

function markdown({ opts, machine, results, systems, analysis, elapsedSec, profiles }) {
  const v = machine.versions;
  const runsNote = opts.quick
    ? 'quick smoke run (tiny sizes; figures are not meaningful)'
    : `median of ${opts.runs} run(s) with min–max in brackets (W4: ${opts.w4Runs} run(s))`;
  const out = [];
  out.push('# Benchmarks');
  out.push('');
  out.push(
    `Generated by \`npm run bench${opts.argv.length ? ' -- ' + opts.argv.join(' ') : ''}\` on ${machine.date.slice(0, 10)} (${runsNote}; the whole run took ${Math.round(elapsedSec / 60)} min). Every system ran in the same run on the same machine, one at a time, each in its own sender and worker processes, interleaved run by run so drift hits all alike: compare ratios, not absolute figures. This file is written by the harness (bench/run.js); the analysis at the end comes from bench/ANALYSIS.md.`,
  );
  out.push('');
  out.push('## Machine');
  out.push('');
  out.push(
    `${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memGiB} GiB memory, ${machine.kernel}; load average at start ${machine.loadAvg.join(' / ')} (1/5/15 min)${machine.load1Range ? `, 1-minute load seen before each workload run ${machine.load1Range[0]}–${machine.load1Range[1]}` : ''}. Postgres and Redis are local (127.0.0.1), shared by all systems, with stock settings.`,
  );
  out.push('');
  out.push('## Versions');
  out.push('');
  const codes = new Map();
  for (const bySys of Object.values(results))
    for (const r of bySys.celeriac ?? []) if (r?.code) codes.set(r.code.tree, r.code.head);
  if (codes.size > 1) {
    out.push(
      `**Celeriac's code changed during this run** (the working tree is shared): its runs measured ${codes.size} different versions of src/, bin/ and migrations/ (HEAD ${[...new Set(codes.values())].join(' → ')}). Its min–max spread includes that.`,
    );
    out.push('');
  } else if (codes.size === 1) {
    const [[tree, head]] = [...codes];
    out.push(
      `Every Celeriac run measured the same code: HEAD ${head}, working tree ${tree} (hash of src/, bin/, migrations/).`,
    );
    out.push('');
  }
  out.push(
    table(
      ['Component', 'Version'],
      Object.entries(v).map(([k, x]) => [k, String(x ?? '—')]),
      2,
    ),
  );
  out.push('');
  out.push('## Settings');
  out.push('');
  out.push(
    table(
      ['System', 'Settings', 'Bulk send'],
      systems.map((s) => [s.label, s.settings, s.bulk ?? 'none (Celery has no bulk send)']),
      3,
    ),
  );
  out.push('');
  out.push(
    'Isolation: each system has its own Redis database and key prefix (Celeriac DB 1 `bench:celeriac:`, BullMQ DB 2 `bench-bullmq:`, Celery DB 3 `bench:celery:`, execution records DB 4 `bench:exec:`) and its own Postgres schema (`bench_celeriac`, `bench_graphile`, `bench_celery`), wiped between runs and dropped at the end.',
  );
  out.push('');
  out.push('## Workloads');
  out.push('');
  out.push(workloadText(opts));
  out.push('');
  if (results.w1) {
    out.push('## W1 throughput');
    out.push('');
    out.push(w1Table(results.w1, systems, opts));
    out.push('');
    out.push(
      "Ratios: Celeriac's median ÷ the best peer's median for that column (higher is better for rates; lower is better for RSS and CPU).",
    );
    out.push('');
  }
  if (results.w2) {
    out.push('## W2 round-trip latency');
    out.push('');
    out.push(w2Table(results.w2, systems, opts));
    out.push('');
  }
  if (results.w4) {
    out.push('## W4 crash recovery');
    out.push('');
    out.push(w4Table(results.w4, systems, opts));
    out.push('');
    out.push(
      'Watch windows after the kill: ' +
        systems
          .filter((s) => results.w4[s.name])
          .map(
            (s) =>
              `${s.label} ${Math.round((opts.quick ? (s.w4QuickWindowMs ?? opts.w4QuickWindowMs) : s.w4WindowMs) / 1000)} s`,
          )
          .join(', ') +
        '.',
    );
    out.push('');
  }
  if (results.w5) {
    out.push('## W5 work-flows: a chord');
    out.push('');
    out.push(flows.w5Table(results.w5, systems, opts));
    out.push('');
  }
  if (results.w6) {
    out.push('## W6 results at scale');
    out.push('');
    out.push(flows.w6Table(results.w6, opts));
    out.push('');
  }
  out.push('## W3 beat');
  out.push('');
  out.push(results.w3 ? w3Table(results.w3, systems) : 'Not run in this run (see --workloads).');
  out.push('');
  out.push('## Targets');
  out.push('');
  out.push(targets(results, systems));
  out.push('');
  const errs = [];
  for (const [w, bySys] of Object.entries(results))
    for (const [s, list] of Object.entries(bySys))
      for (const e of errorsOf(list)) errs.push(`- ${w} ${s}: ${e.split('\n')[0]}`);
  if (errs.length) {
    out.push('## Failed runs');
    out.push('');
    out.push(errs.join('\n'));
    out.push('');
  }
  if (profiles?.length) {
    out.push('## CPU profiles of this run');
    out.push('');
    out.push('```');
    out.push(profiles.join('\n\n'));
    out.push('```');
    out.push('');
  }
  if (analysis) {
    out.push(analysis.trim());
    out.push('');
  }
  out.push('## Running it');
  out.push('');
  out.push('```');
  out.push('npm run bench                                  # everything (writes BENCHMARKS.md)');
  out.push('npm run bench -- --quick                       # CI smoke run, tiny sizes (writes bench/results/quick.md)');
  out.push('npm run bench -- --only celeriac,bullmq --workloads w1,w2 --runs 3');
  out.push('npm run bench -- --only celeriac --workloads w1 --profile   # CPU profile of the Celeriac worker');
  out.push('```');
  out.push('');
  out.push(
    "Needs Postgres (database `test`) and Redis on 127.0.0.1 (`bash scripts/ensure-services.sh`) and Debian's python3-celery for the Celery rows. Raw per-run figures: bench/results/*.json; child logs: bench/results/logs/.",
  );
  out.push('');
  return out.join('\n');
}

const w3Table = (results, systems) => beat.w3Table(results, systems, table);

module.exports = { markdown, w1Table, w2Table, w3Table, w4Table, targets };
