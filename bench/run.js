#!/usr/bin/env node
'use strict';
/**
 * `npm run bench`: issue 8's workloads against Celeriac, BullMQ, graphile-worker (with and without
 * batching) and Python Celery (prefork and threads), on local Postgres and Redis. Systems are
 * interleaved within each run (run 1: W1 for every system, W2 for every system, …; then run 2)
 * so slow drift of a shared machine lands on all of them, and ratios hold.
 */
const { mkdirSync, writeFileSync, readFileSync, existsSync } = require('node:fs');
const os = require('node:os');
const { join, relative } = require('node:path');
const { parse } = require('./lib/args');
const { makeEnv, describeMachine, celeriacFingerprint } = require('./lib/env');
const { markdown, w1Table, w2Table, w3Table, w4Table, targets } = require('./lib/report');
const { w1LargeTable } = require('./lib/report-scale');
const { w5Table, w6Table } = require('./lib/report-flows');
const cpuprofile = require('./lib/cpuprofile');
const { onInterrupt } = require('./lib/proc');
const systemsMod = require('./systems');
const { NS } = require('./systems/ns');

const workloads = {
  w1: require('./workloads/w1'),
  w1l: require('./workloads/w1').large,
  w2: require('./workloads/w2'),
  w3: require('./workloads/w3'),
  w4: require('./workloads/w4'),
  w5: require('./workloads/w5'),
  w6: require('./workloads/w6'),
};
const RESULTS_DIR = join(__dirname, 'results');

function log(msg) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function brief(w, r) {
  if (r.skipped) return `skipped: ${r.skipped}`;
  const f = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '—');
  if (w === 'w1' || w === 'w1l')
    return `send ${f(r.sendPerSec)}/s${r.senderCpuMsPer1k !== undefined ? ` (sender CPU ${f(r.senderCpuMsPer1k)} ms/1k)` : ''}${r.bulkPerSec ? `, bulk ${f(r.bulkPerSec)}/s${r.bulkFlushMs !== undefined ? ` (+${f(r.bulkFlushMs)} ms PENDING commit)` : ''}` : ''}, drain ${f(r.drainPerSec)}/s (${f(r.drainMs)} ms; from spawn ${f(r.drainFromSpawnPerSec)}/s, ${f(r.drainFromSpawnMs)} ms; first task ${f(r.firstTaskFromSpawnMs)} ms after spawn), RSS ${f(r.peakRssMiB)} MiB, CPU ms/1k worker ${f(r.workerCpuMsPer1k)} redis ${f(r.redisCpuMsPer1k)} rabbitmq ${f(r.rabbitmqCpuMsPer1k)} pg ${f(r.postgresCpuMsPer1k)}`;
  if (w === 'w2') return `p50 ${f(r.p50, 2)} ms, p95 ${f(r.p95, 2)} ms, p99 ${f(r.p99, 2)} ms`;
  if (w === 'w3')
    return Object.entries(r.shapes)
      .map(
        ([k, x]) =>
          `${k}: ${x.skipped ?? x.error ?? `sent ${x.sent}/${x.expected}, send p50/p99 ${f(x.sendP50)}/${f(x.sendP99)} ms, start p50/p99 ${f(x.startP50)}/${f(x.startP99)} ms, missed ${x.missed}, dup ${x.duplicates}, CPU idle/due ${f(x.idleCpuPct, 1)}/${f(x.busyCpuPct, 1)} %, start-up ${f(x.startupMs)} ms`}`,
      )
      .join('; ');
  if (w === 'w4')
    return `done at kill ${r.completedAtKill}, completed ${r.completed}, lost ${r.lost}, ran twice ${r.ranTwice}, completed twice ${r.completedTwice}, recovery ${r.recoverySec === null ? `not within ${r.windowMs / 1000} s` : r.recoverySec.toFixed(1) + ' s'}`;
  if (w === 'w5')
    return `${r.n} members: send ${f(r.sendSec, 2)} s, worker start → callback visible ${f(r.completionSec, 2)} s, RSS ${f(r.peakRssMiB)} MiB`;
  if (w === 'w6')
    return `${r.n} rows: lookup p50/p99 ${f(r.before?.lookup?.p50, 2)}/${f(r.before?.lookup?.p99, 2)} ms → ${f(r.after?.lookup?.p50, 2)}/${f(r.after?.lookup?.p99, 2)} ms; cleanup deleted ${r.cleanupDeleted} in ${f(r.cleanupSec, 1)} s; table+indexes ${f(r.sizesBefore?.totalMiB)} MiB`;
  return JSON.stringify(r);
}

/** Every selected workload × system × run; returns what the report needs and saves it as JSON. */
async function runAll(opts) {
  const started = Date.now();
  const systems = systemsMod.all.filter((s) => opts.systems.includes(s.name));
  // A child still alive after this long is stuck: its whole process group gets SIGKILL.
  const env = await makeEnv({
    childTimeoutMs: opts.quick ? 60_000 : 10 * 60_000,
    lockWaitMs: (opts.quick ? 10 : 30) * 60_000,
    log,
  });
  const machine = await describeMachine(env);
  log(
    `${machine.cpus} CPUs, ${machine.cpuModel}; systems ${systems.map((s) => s.name).join(', ')}; workloads ${opts.workloads.join(', ')}; runs ${opts.runs}${opts.quick ? ' (quick)' : ''}`,
  );

  onInterrupt(async () => {
    log('interrupted: wiping what this run left behind');
    for (const s of systems) await s.teardown(env).catch(() => {});
    await env.deleteKeys(NS.exec.redisDb, NS.exec.keyPrefix).catch(() => {});
    await env.close().catch(() => {});
  });
  const results = {};
  const failed = [];
  // Other work on a shared machine shows up here; the report prints the range.
  const loads = [];
  // A RabbitMQ system whose broker is not there (no RabbitMQ on this host) is shown as skipped,
  // with the reason, rather than ending the run.
  const unavailable = new Map();
  const runsOf = (w) => ({ w4: opts.w4Runs, w1l: opts.w1LargeRuns, w3: 1, w6: 1 })[w] ?? opts.runs;
  try {
    for (const s of systems) {
      log(`setting up ${s.name}`);
      try {
        await s.setup(env);
      } catch (err) {
        if (s.transport !== 'amqp') throw err;
        unavailable.set(s.name, `not run: RabbitMQ setup failed (${err.message.split('\n')[0]})`);
        log(`${s.name}: ${unavailable.get(s.name)}`);
      }
    }
    const maxRuns = Math.max(...opts.workloads.map(runsOf));
    for (let run = 1; run <= maxRuns; run++) {
      for (const w of opts.workloads) {
        if (run > runsOf(w)) continue;
        for (const s of systems) {
          if (s.workloads && !s.workloads.includes(w)) continue; // a variant measured on some workloads only
          if (w === 'w1l' && !opts.w1LargeSystems.includes(s.name)) continue;
          results[w] ??= {};
          results[w][s.name] ??= [];
          const t = Date.now();
          loads.push(os.loadavg()[0]);
          const skipped = opts.skip?.includes(`${w}:${s.name}`) ? 'not run (--skip)' : unavailable.get(s.name);
          if (skipped) {
            results[w][s.name].push({ skipped });
            log(`${w} ${s.name} run ${run}: skipped (${skipped})`);
            continue;
          }
          try {
            const code = s.family === 'celeriac' ? celeriacFingerprint() : undefined;
            const r = await workloads[w].run(s, env, opts, run);
            if (code) r.code = code;
            results[w][s.name].push(r);
            log(`${w} ${s.name} run ${run}: ${brief(w, r)} [${((Date.now() - t) / 1000).toFixed(1)} s]`);
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            results[w][s.name].push({ error: message });
            failed.push(`${w} ${s.name} run ${run}`);
            log(`${w} ${s.name} run ${run} FAILED: ${message}`);
          }
        }
      }
    }
  } finally {
    for (const s of systems) await s.teardown(env).catch((e) => log(`teardown of ${s.name} failed: ${e.message}`));
    await env
      .deleteKeys(NS.exec.redisDb, NS.exec.keyPrefix)
      .catch((e) => log(`could not delete execution records: ${e.message}`));
    await env.close();
  }
  if (loads.length) machine.load1Range = [Math.min(...loads), Math.max(...loads)].map((x) => +x.toFixed(2));

  const profiles = [];
  if (opts.profile) {
    for (const r of [...(results.w1?.celeriac ?? []), ...(results.w5?.celeriac ?? [])]) {
      if (!r.profileDir) continue;
      for (const p of cpuprofile.summarizeDir(r.profileDir, 20, r.profileWindowUs)) profiles.push(cpuprofile.format(p));
    }
  }
  const run = { opts, machine, results, profiles, failed, elapsedSec: (Date.now() - started) / 1000 };
  const file = join(RESULTS_DIR, `${opts.quick ? 'quick' : 'full'}-${machine.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(run, null, 2));
  log(`raw figures: ${relative(process.cwd(), file)}`);
  return run;
}

async function main() {
  const argv = process.argv.slice(2);
  const opts = parse(argv);
  if (opts.help) {
    console.log(opts.usage);
    return 0;
  }
  opts.argv = argv;
  opts.resultsDir = RESULTS_DIR;
  // --quick only smoke-tests W4 for the peers (their recovery takes a minute or more by design).
  opts.w4QuickWindowMs = 4_000;
  mkdirSync(RESULTS_DIR, { recursive: true });

  // --from re-renders a saved run (after editing bench/ANALYSIS.md, say) without running anything.
  const run = opts.from ? JSON.parse(readFileSync(opts.from, 'utf8')) : await runAll(opts);
  const { machine, results, profiles = [], elapsedSec = 0, failed = [] } = run;
  const ropts = run.opts;
  const systems = systemsMod.all.filter((s) => ropts.systems.includes(s.name));

  const analysisPath = join(__dirname, 'ANALYSIS.md');
  const analysis = !ropts.quick && existsSync(analysisPath) ? readFileSync(analysisPath, 'utf8') : null;
  const md = markdown({ opts: ropts, machine, results, systems, analysis, elapsedSec, profiles });
  const print = [];
  // On the terminal, the RabbitMQ rows stay under their workload, each table split by broker.
  const byBroker = [systems.filter((s) => s.transport !== 'amqp'), systems.filter((s) => s.transport === 'amqp')];
  const both = (title, w, render) => {
    for (const [i, list] of byBroker.entries())
      if (list.some((s) => results[w]?.[s.name])) print.push(title + (i ? ' on RabbitMQ' : ''), render(list));
  };
  both('W1 throughput', 'w1', (list) =>
    w1Table(results.w1, list, ropts, list.some((s) => s.transport === 'amqp') ? 'rabbitmq' : 'redis'),
  );
  if (results.w1l)
    print.push(`W1 at ${ropts.w1Large} tasks`, w1LargeTable(results.w1l, results.w1, byBroker[0], ropts));
  both('W2 round-trip latency', 'w2', (list) => w2Table(results.w2, list, ropts));
  if (results.w3) print.push('W3 beat', w3Table(results.w3, systems));
  both('W4 crash recovery', 'w4', (list) => w4Table(results.w4, list, ropts));
  if (results.w5) print.push('W5 chord', w5Table(results.w5, systems, ropts));
  if (results.w6) print.push('W6 results at scale', w6Table(results.w6, ropts));
  print.push('Targets', targets(results, systems, ropts));
  if (profiles.length) print.push('CPU profiles', profiles.join('\n\n'));
  console.log('\n' + print.join('\n\n') + '\n');
  if (opts.write) {
    const out = opts.out ?? (ropts.quick ? join(RESULTS_DIR, 'quick.md') : join(__dirname, '..', 'BENCHMARKS.md'));
    writeFileSync(out, md);
    log(`wrote ${relative(process.cwd(), out)}`);
  }
  if (failed.length && !opts.from) {
    log(
      `${failed.length} run(s) failed: ${failed.join('; ')} (child logs in ${relative(process.cwd(), join(RESULTS_DIR, 'logs'))})`,
    );
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
