#!/usr/bin/env node
'use strict';
/**
 * Diagnostic: `node bench/diag/burst-steps.js [-n 1000] [--cpu-prof]` runs W3's burst for Celeriac
 * alone, exactly as the benchmark does (bench/workloads/w3.js: rows in the beat tables, the real
 * `celeriac beat` and `celeriac worker -c 50`), with trace-roundtrip.js loaded into the worker.
 * Then prints, per step of a run, p50/p90/p99/max in ms after the slot (the minute): the beat's
 * send (its afterPublish record), the worker's fetch, the body's start (the figure W3 reports),
 * its end, the result handed to the store, committed, acked; and the waits between them (a
 * fetched message waiting for a free slot, a finished body waiting for its commit). Also how many
 * messages each fetch brought and how many the worker held at each body start. --cpu-prof writes
 * the worker's profile to $TMPDIR/celeriac-burst-prof/ and summarises the burst's window only
 * (first fetch of the burst → last ack). Use BENCH_NS=<you> as for the benchmark.
 */
const { join } = require('node:path');
const { readFileSync, mkdirSync, rmSync } = require('node:fs');
const os = require('node:os');
const { Child } = require('../lib/proc');
const { makeEnv } = require('../lib/env');
const { byName } = require('../systems');
const { percentile } = require('../lib/stats');
const w3 = require('../workloads/w3');
const { summarizeDir, format } = require('../lib/cpuprofile');

const ROOT = join(__dirname, '..', '..');
const trace = join(__dirname, 'trace-roundtrip.js');
const APP = join(ROOT, 'bench', 'systems', 'celeriac', 'app.ts');
const PROF_DIR = join(os.tmpdir(), 'celeriac-burst-prof');
const TRACE_OUT = join(os.tmpdir(), 'celeriac-burst-trace.txt');
const traceBeat = join(__dirname, 'trace-beat.js');
const BEAT_TRACE_FILE = join(os.tmpdir(), 'celeriac-burst-beat-trace.txt');

function readTrace(path) {
  const byId = new Map();
  let clock;
  const batches = [];
  const cpu = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const c = /^(?:! )?TRACE_CLOCK (\d+) (\d+)$/.exec(line);
    if (c) clock = { epochUs: Number(c[1]), monoUs: Number(c[2]) };
    const m = /^(?:! )?TRACE (\d+) (\S+) (\S+)$/.exec(line);
    if (!m) continue;
    if (m[2] === 'fetch-batch') {
      batches.push([Number(m[1]) / 1000, Number(m[3])]);
      continue;
    }
    if (m[2] === 'cpu') {
      cpu.push([Number(m[1]) / 1000, Number(m[3]) / 1000]);
      continue;
    }
    const ev = byId.get(m[3]) ?? {};
    byId.set(m[3], ev);
    ev[m[2]] ??= Number(m[1]) / 1000;
  }
  return { byId, clock, batches, cpu };
}

const fmt = (xs) =>
  xs.length
    ? [50, 90, 99, 100].map((p) => percentile(xs, p).toFixed(1).padStart(7)).join(' ') + `   (n ${xs.length})`
    : '(none)';

async function main() {
  const args = process.argv.slice(2);
  const n = Number(args[args.indexOf('-n') + 1] || 1000) || 1000;
  const prof = args.includes('--cpu-prof');
  const traceGc = args.includes('--trace-gc');
  // --from-log LOG: only the analysis, of a traced worker's log kept from an earlier run.
  if (args.includes('--from-log')) return analyze(args[args.indexOf('--from-log') + 1], prof);
  const sys = byName.celeriac;
  const env = await makeEnv({ childTimeoutMs: 10 * 60_000 });
  let workerLog;
  let plannedDue;
  let gcLog;
  try {
    await sys.setup(env);
    if (prof) {
      rmSync(PROF_DIR, { recursive: true, force: true });
      mkdirSync(PROF_DIR, { recursive: true });
    }
    const beat = {
      ...sys.beat,
      start(env, tag, plan) {
        plannedDue = plan.dueMs;
        // Not the adapter's start(): it spawns its own (untraced) worker beside this one.
        const cli = join(ROOT, 'bin', 'celeriac.js');
        // trace-beat.js: when the beat's claim, its send to Redis and the outbox delete ran.
        const beat = new Child(`${tag}-beat`, process.execPath, ['-r', traceBeat, cli, 'beat', '--app', APP], {
          cwd: ROOT,
          env: { CELERIAC_FROM_SOURCE: '1', BENCH_ROLE: 'beat', BEAT_TRACE_FILE },
          timeoutMs: plan.timeoutMs,
        });
        const flags = prof ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`] : [];
        if (traceGc) flags.push('--trace-gc');
        // BENCH_WORKER_NODE_FLAGS: node/V8 flags for the traced worker only (a flag's A/B).
        flags.push(...(process.env.BENCH_WORKER_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean));
        const worker = new Child(
          `${tag}-worker-traced`,
          process.execPath,
          [
            ...flags,
            '-r',
            trace,
            cli,
            'worker',
            '--app',
            join(ROOT, 'bench', 'systems', 'celeriac', 'app.ts'),
            '-c',
            '50',
            // BENCH_WORKER_ARGS: more `celeriac worker` options (e.g. --prefetch-multiplier 1).
            ...(process.env.BENCH_WORKER_ARGS ?? '').split(/\s+/).filter(Boolean),
          ],
          {
            cwd: ROOT,
            env: {
              CELERIAC_FROM_SOURCE: '1',
              BENCH_ROLE: 'worker',
              BENCH_EXEC_AT_START: process.env.BENCH_EXEC_AT_START ?? '1',
              TRACE_FILE: TRACE_OUT,
            },
            timeoutMs: plan.timeoutMs,
          },
        );
        workerLog = TRACE_OUT;
        gcLog = worker.logPath;
        return { beat, worker };
      },
    };
    const load0 = os.loadavg()[0];
    const r = await w3.run({ ...sys, beat }, env, { w3Shapes: [`burst-${n}`], quick: false });
    const out = r.shapes[`burst-${n}`];
    console.log(
      `burst of ${n}: start p50 ${out.startP50} p99 ${out.startP99} max ${out.startMax} ms; send p50 ${out.sendP50} p99 ${out.sendP99}; missed ${out.missed}, duplicates ${out.duplicates}; load ${load0.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}`,
    );
    analyze(workerLog, prof);
    beatSummary(BEAT_TRACE_FILE, plannedDue);
    if (traceGc) gcSummary(gcLog);
  } finally {
    await sys.teardown?.(env).catch(() => {});
    await env.close();
  }
}

/** The beat's steps for the burst, in ms after the slot (trace-beat.js). */
function beatSummary(path, dueMs) {
  let lines;
  try {
    lines = readFileSync(path, 'utf8').split('\n');
  } catch {
    return;
  }
  const steps = [];
  for (const line of lines) {
    const m = /^BEAT ([\d.]+) (\S+) ?(.*)$/.exec(line);
    if (!m) continue;
    const t = Number(m[1]);
    if (dueMs !== undefined && Math.abs(t - dueMs) > 5000) continue;
    steps.push(`${m[2]}${m[3] && !m[3].includes('@') ? `(${m[3]})` : ''}@${(t - dueMs).toFixed(0)}`);
  }
  console.log(`beat, ms after the slot: ${steps.join(' ')}`);
}

/**
 * --trace-gc: the worker's collections once it is ready (the idle minute and the burst), by kind:
 * count and the pause each line reports.
 */
function gcSummary(log) {
  const kinds = new Map();
  let ready = false;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    // Start-up's collections (module loading) are not the burst's.
    if (line.includes('BENCH_READY')) ready = true;
    if (!ready) continue;
    const m =
      /\d+ ms: (Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact|Minor Mark-Sweep)\b.*?, ([\d.]+) \/ ([\d.]+) ms/.exec(
        line,
      );
    if (!m) continue;
    const k = kinds.get(m[1]) ?? { n: 0, ms: 0 };
    k.n++;
    k.ms += Number(m[2]);
    kinds.set(m[1], k);
  }
  for (const [kind, k] of kinds) console.log(`gc: ${kind} ×${k.n}, ${k.ms.toFixed(1)} ms`);
}

function analyze(workerLog, prof) {
  {
    const { byId, clock, batches, cpu } = readTrace(workerLog);
    const runs = [...byId.values()].filter((e) => e['task-run'] !== undefined);
    const due = Math.floor(Math.min(...runs.map((e) => e.fetched ?? e['task-run'])) / 60_000) * 60_000;
    const rel = (k) => runs.filter((e) => e[k] !== undefined).map((e) => e[k] - due);
    const gap = (a, b) => runs.filter((e) => e[a] !== undefined && e[b] !== undefined).map((e) => e[b] - e[a]);
    console.log('ms after the slot                  p50     p90     p99     max');
    for (const [label, k] of [
      ['worker: fetched', 'fetched'],
      ['worker: body started', 'task-run'],
      ['worker: body ended', 'task-end'],
      ['worker: SUCCESS handed to the store', 'write-called:SUCCESS'],
      ['worker: RECEIVED committed', 'committed:RECEIVED'],
      ['worker: SUCCESS committed', 'committed:SUCCESS'],
      ['worker: acked', 'acked'],
    ])
      console.log(`${label.padEnd(34)} ${fmt(rel(k))}`);
    console.log('waits (ms)');
    for (const [label, a, b] of [
      ['fetched → body started (slot)', 'fetched', 'task-run'],
      ['body started → ended', 'task-run', 'task-end'],
      ['body ended → handed to the store', 'task-end', 'write-called:SUCCESS'],
      ['handed → committed', 'write-called:SUCCESS', 'committed:SUCCESS'],
      ['committed → acked', 'committed:SUCCESS', 'acked'],
    ])
      console.log(`${label.padEnd(34)} ${fmt(gap(a, b))}`);
    // Held at each body start: fetched but not yet acked.
    const evs = [];
    for (const e of runs) {
      if (e.fetched !== undefined) evs.push([e.fetched, 1]);
      if (e.acked !== undefined) evs.push([e.acked, -1]);
    }
    const sizes = batches.filter(([t, k]) => k > 0 && t >= due);
    console.log(
      `fetches with messages: ${sizes.length} (empty: ${batches.filter(([t, k]) => k === 0 && t >= due).length}); size@ms: ${sizes
        .slice(0, 60)
        .map(([t, k]) => `${k}@${Math.round(t - due)}`)
        .join(' ')}${sizes.length > 60 ? ' …' : ''}`,
    );
    evs.sort((a, b) => a[0] - b[0]);
    let held = 0;
    let peak = 0;
    for (const [, d] of evs) peak = Math.max(peak, (held += d));
    console.log(`peak held (fetched, not acked): ${peak}`);
    // The worker's own CPU over the burst (sampled at each non-empty fetch and each ack): a
    // figure the machine's load moves far less than the burst's wall time.
    const inBurst = cpu.filter(([t]) => t >= due);
    if (inBurst.length > 1) {
      const [t0, c0] = inBurst[0];
      const [t1, c1] = inBurst.at(-1);
      console.log(`worker CPU, first fetch → last ack: ${(c1 - c0).toFixed(0)} ms over ${(t1 - t0).toFixed(0)} ms`);
    }
    if (prof && clock) {
      const firstFetch = Math.min(...rel('fetched')) + due;
      const lastAck = Math.max(...rel('acked')) + due;
      const toMono = (ms) => clock.monoUs + (ms * 1000 - clock.epochUs);
      const lastRun = Math.max(...rel('task-run')) + due;
      console.log(`\nprofile, first fetch → last body start (${(lastRun - firstFetch).toFixed(0)} ms):`);
      console.log(
        summarizeDir(PROF_DIR, 25, [toMono(firstFetch), toMono(lastRun)])
          .map(format)
          .join('\n'),
      );
      console.log(`\nprofile, first fetch → last ack (${(lastAck - firstFetch).toFixed(0)} ms):`);
      console.log(
        summarizeDir(PROF_DIR, 25, [toMono(firstFetch), toMono(lastAck)])
          .map(format)
          .join('\n'),
      );
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
