'use strict';
/** Turns the runs into tables (median of runs, with min–max) and the BENCHMARKS.md document. */
const flows = require('./report-flows');
const beat = require('./report-beat');
const scale = require('./report-scale');
const {
  fmtInt,
  fmtMs,
  fmtSec,
  cell,
  okRuns,
  errorsOf,
  rowLabel,
  med,
  bestPeer,
  ratioCell,
  table,
  verdict,
} = require('./report-cells');

/** W1's table; `broker` names the service whose CPU the middle CPU column shows (redis or rabbitmq). */
function w1Table(results, systems, opts, broker = 'redis') {
  const rows = [];
  for (const s of systems) {
    const list = results[s.name];
    if (!list) continue;
    const ok = okRuns(list);
    const n = ok[0]?.n ?? (s.family === 'celery' ? opts.w1CeleryTasks : opts.w1Tasks);
    rows.push([
      rowLabel(s, list),
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
      ['worker', broker, 'postgres']
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
  // Each Celeriac row beside the best peer; 'celeriac-dist' is the built package (issue 21): what
  // an app that installed Celeriac runs.
  const hasPeer = systems.some((s) => s.family !== 'celeriac' && results[s.name]);
  for (const own of systems.filter((s) => s.family === 'celeriac' && s.ratioRow && results[s.name])) {
    if (!hasPeer) break;
    const r = (key, higher) => ratioCell(results, systems, key, higher, undefined, own.name);
    rows.push([
      `${own.label} ÷ best peer`,
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
      `drain CPU ms per 1k tasks: worker · ${broker === 'redis' ? 'Redis' : 'RabbitMQ'} · Postgres (median)`,
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
    rows.push([
      rowLabel(s, list),
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
  const hasPeer = systems.some((s) => s.family !== 'celeriac' && results[s.name]);
  for (const own of systems.filter((s) => s.family === 'celeriac' && s.ratioRow && results[s.name])) {
    if (!hasPeer) break;
    const r = (key) => ratioCell(results, systems, key, false, undefined, own.name);
    rows.push([`${own.label} ÷ best peer (lower is better)`, r('p50'), r('p95'), r('p99')]);
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
    const notRecovered = ok.filter((r) => r.recoverySec === null).length;
    const rec = ok.map((r) => r.recoverySec).filter((x) => x !== null);
    let recCell = rec.length ? cell(rec, fmtSec, o) : '—';
    if (notRecovered)
      recCell = `${rec.length ? recCell + '; ' : ''}not within ${fmtSec(ok[0].windowMs / 1000)} s in ${notRecovered} of ${ok.length} run(s)`;
    rows.push([
      rowLabel(s, list),
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

/** Issue 8's and issue 21's targets, each checked against this run's figures (Redis systems). */
function targets(results, allSystems, opts) {
  const systems = allSystems.filter((s) => s.transport !== 'amqp');
  const rows = [];
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
  rows.push(...scale.w1ScaleTargets(results, systems, opts));
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
  return table(['Target (issues 8 and 21)', 'This run', 'Verdict'], rows, 3);
}

function workloadText(opts) {
  return [
    `- **W1 throughput**: ${fmtInt(opts.w1Tasks)} no-op tasks (Celery: ${fmtInt(opts.w1CeleryTasks)}, as its drain is ~50× slower; rates are steady-state) sent one call at a time from one process, each call awaited; then, separately, the same number in bulk where a bulk API exists. Then one worker process drains the one-by-one batch with every result recorded; drain = N ÷ (worker start → last result visible in the store), where "worker start" is the instant its modules are loaded and nothing is connected yet. Peak RSS = VmHWM summed over the worker's process tree. Drain CPU = user+system time during the drain per 1,000 tasks, of the worker's process tree and of all redis-server (RabbitMQ rows: beam.smp) and postgres processes (those are shared with anything else running on the machine, the harness's own result polling included: indicative).`,
    ...(opts.w1Large ? [scale.w1LargeText(opts)] : []),
    `- **W2 latency**: ${fmtInt(opts.w2Samples)} round trips, one at a time, with the worker already running and ${opts.quick ? 5 : 20} warm-ups discarded: send one no-op task, wait until its result is visible to the sender, send the next. Percentiles are nearest-rank over each run's samples.`,
    ...(opts.workloads?.includes('w3') ? [beat.w3Text(opts)] : []),
    `- **W4 crash**: ${fmtInt(opts.w4Tasks)} tasks of 50 ms queued; one worker starts; when ~30 % have finished, SIGKILL to its whole process group and a second worker starts at once. Each execution RPUSHes its task id at start and end, so "ran twice" and "completed twice" are counted per task; completed = results visible in the store; lost = not completed when the watch window (the system's documented redelivery bound plus margin) closes; recovery = kill → all results visible.`,
    ...(opts.workloads?.includes('w5') ? [flows.w5Text(opts)] : []),
    ...(opts.workloads?.includes('w6') ? [flows.w6Text(opts)] : []),
  ].join('\n');
}

function watchWindows(results, systems, opts) {
  const windowMs = (s) => (opts.quick ? (s.w4QuickWindowMs ?? opts.w4QuickWindowMs) : s.w4WindowMs);
  const shown = systems.filter((s) => results[s.name]).map((s) => `${s.label} ${Math.round(windowMs(s) / 1000)} s`);
  return `Watch windows after the kill: ${shown.join(', ')}.`;
}

function markdown({ opts, machine, results, systems: allSystems, analysis, elapsedSec, profiles }) {
  // The RabbitMQ rows have a section of their own, beside Celery on the same broker.
  const systems = allSystems.filter((s) => s.transport !== 'amqp');
  const amqp = allSystems.filter((s) => s.transport === 'amqp');
  const has = (w) => systems.some((s) => results[w]?.[s.name]);
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
      allSystems.map((s) => [s.label, s.settings, s.bulk ?? 'none (Celery has no bulk send)']),
      3,
    ),
  );
  out.push('');
  out.push(
    'Isolation: each system has its own Redis database and key prefix (Celeriac DB 1 `bench:celeriac:`, BullMQ DB 2 `bench-bullmq:`, Celery DB 3 `bench:celery:`, execution records DB 4 `bench:exec:`) and its own Postgres schema (`bench_celeriac`, `bench_graphile`, `bench_celery`), wiped between runs and dropped at the end; on RabbitMQ, each system its own vhost (`bench_celeriac`, `bench_celery`), deleted at the end.',
  );
  out.push('');
  out.push('## Workloads');
  out.push('');
  out.push(workloadText(opts));
  out.push('');
  if (has('w1')) {
    out.push('## W1 throughput');
    out.push('');
    out.push(w1Table(results.w1, systems, opts));
    out.push('');
    out.push(
      "Ratios: Celeriac's median ÷ the best peer's median for that column (higher is better for rates; lower is better for RSS and CPU).",
    );
    out.push('');
  }
  if (has('w1') || has('w1l')) {
    out.push(`## W1 at ${fmtInt(opts.w1Large || 100_000)} tasks`);
    out.push('');
    if (results.w1l) out.push(scale.w1LargeTable(results.w1l, results.w1, systems, opts));
    else if (opts.w1Large === 0) out.push('Not run (`--w1-large 0`, the default in --quick).');
    else out.push('Not measured in this run (workload `w1l`, `--w1-large N`; added in session 8).');
    out.push('');
  }
  if (has('w2')) {
    out.push('## W2 round-trip latency');
    out.push('');
    out.push(w2Table(results.w2, systems, opts));
    out.push('');
  }
  if (has('w4')) {
    out.push('## W4 crash recovery');
    out.push('');
    out.push(w4Table(results.w4, systems, opts));
    out.push('');
    out.push(watchWindows(results.w4, systems, opts));
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
  out.push('## RabbitMQ: Celeriac beside Celery on one broker');
  out.push('');
  const onRabbit = (w) => amqp.some((s) => results[w]?.[s.name]);
  if (!['w1', 'w2', 'w4'].some(onRabbit)) {
    out.push(
      'Not measured in this run (systems `celeriac-amqp` and `celery-prefork-amqp`, W1, W2 and W4; in the full run by default since session 8).',
    );
    out.push('');
  } else {
    out.push(scale.amqpText());
    out.push('');
    const sections = [
      ['w1', 'W1 throughput', () => w1Table(results.w1, amqp, opts, 'rabbitmq')],
      ['w2', 'W2 round-trip latency', () => w2Table(results.w2, amqp, opts)],
      [
        'w4',
        'W4 crash recovery',
        () => w4Table(results.w4, amqp, opts) + '\n\n' + watchWindows(results.w4, amqp, opts),
      ],
    ];
    for (const [w, title, render] of sections) {
      out.push(`### ${title} on RabbitMQ`);
      out.push('');
      out.push(onRabbit(w) ? render() : 'Not measured in this run.');
      out.push('');
    }
  }
  out.push('## W3 beat');
  out.push('');
  out.push(results.w3 ? w3Table(results.w3, systems) : 'Not run in this run (see --workloads).');
  out.push('');
  out.push('## Targets');
  out.push('');
  out.push(targets(results, systems, opts));
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
    "Needs Postgres (database `test`) and Redis on 127.0.0.1 (`bash scripts/ensure-services.sh`), Debian's python3-celery for the Celery rows, and RabbitMQ (127.0.0.1:5672, guest, `rabbitmqctl`) for the RabbitMQ rows (skipped without it). Raw per-run figures: bench/results/*.json; child logs: bench/results/logs/.",
  );
  out.push('');
  return out.join('\n');
}

const w3Table = (results, systems) => beat.w3Table(results, systems, table);

module.exports = { markdown, w1Table, w2Table, w3Table, w4Table, targets };
