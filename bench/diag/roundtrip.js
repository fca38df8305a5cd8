#!/usr/bin/env node
'use strict';
/**
 * Diagnostic: `node bench/diag/roundtrip.js [samples] [--dist]` runs a Celeriac worker and a W2 sender with
 * trace-roundtrip.js loaded in both (namespaces as the benchmark's), then prints, per step of a
 * round trip, the median and p90 time since the send started. Needs `cd bench && npm install`.
 * --dist traces the built package as the celeriac-dist system runs it (an installed copy after
 * `npm run build`, the app compiled to JavaScript); without it, src/ through the TypeScript loader.
 */
const { join } = require('node:path');
const { Child } = require('../lib/proc');
const { makeEnv } = require('../lib/env');
const { byName } = require('../systems');
const { percentile } = require('../lib/stats');

const ROOT = join(__dirname, '..', '..');
const trace = join(__dirname, 'trace-roundtrip.js');

function events(child, into) {
  const text = require('node:fs').readFileSync(child.logPath, 'utf8');
  for (const line of text.split('\n')) {
    const m = /^! TRACE (\d+) (\S+) (\S+)$/.exec(line);
    if (!m) continue;
    const byId = into.get(m[3]) ?? new Map();
    into.set(m[3], byId);
    if (!byId.has(m[2])) byId.set(m[2], Number(m[1]));
  }
}

async function main() {
  const args = process.argv.slice(2);
  const built = args.includes('--dist');
  const n = Number(args.find((a) => !a.startsWith('--')) ?? 200);
  const sys = built ? byName['celeriac-dist'] : byName.celeriac;
  const env = await makeEnv({ childTimeoutMs: 120_000 });
  try {
    await sys.setup(env);
    await sys.reset(env);
    const senderJs = join(__dirname, '..', 'systems', 'celeriac', 'sender.js');
    // The installed copy's own files, so the trace wraps the very modules its bin and app load.
    const distEnv = built ? { TRACE_CELERIAC_DIST: join(sys.dist.dir, 'node_modules', 'celeriac', 'dist', 'src') } : {};
    const worker = new Child(
      'diag-worker',
      process.execPath,
      built
        ? ['-r', trace, sys.dist.bin, 'worker', '--app', sys.dist.app, '-c', '50']
        : [
            '-r',
            trace,
            join(ROOT, 'bin', 'celeriac.js'),
            'worker',
            '--app',
            join(__dirname, '..', 'systems', 'celeriac', 'app.ts'),
            '-c',
            '50',
          ],
      {
        cwd: built ? sys.dist.dir : ROOT,
        env: built ? { ...distEnv, BENCH_ROLE: 'worker' } : { CELERIAC_FROM_SOURCE: '1', BENCH_ROLE: 'worker' },
        timeoutMs: 120_000,
      },
    );
    await worker.waitFor('READY', 30_000);
    const sender = new Child('diag-sender', process.execPath, ['-r', trace, senderJs, 'latency', String(n)], {
      cwd: built ? sys.dist.dir : ROOT,
      env: built ? { ...distEnv, BENCH_CELERIAC_APP: sys.dist.app } : {},
      timeoutMs: 120_000,
    });
    const r = await sender.result(120_000);
    await worker.stop();
    const byId = new Map();
    events(sender, byId);
    events(worker, byId);
    const steps = [
      ['sender: LPUSH done', 'send:end'],
      ['worker: fetched', 'fetched'],
      ['worker: task body started', 'task-run'],
      ['worker: SUCCESS handed to the store', 'write-called:SUCCESS'],
      ['sender: PENDING committed', 'committed:PENDING'],
      ['sender: first SELECT returned', null],
      ['worker: SUCCESS committed', 'committed:SUCCESS'],
      ['worker: notice PUBLISHed', 'notice-published'],
      ['worker: acked', 'acked'],
      ['sender: notice received', 'notice-received'],
      ['sender: get() returned', 'wait-returned'],
    ];
    const trips = [];
    const selectStates = new Map();
    for (const ev of byId.values()) {
      const t0 = ev.get('send:start');
      if (t0 === undefined || !ev.has('wait-returned')) continue;
      const trip = {};
      for (const [label, key] of steps) {
        let t = key ? ev.get(key) : undefined;
        if (!key)
          for (const [k, v] of ev)
            if (k.startsWith('select-done:')) {
              t = v;
              selectStates.set(k, (selectStates.get(k) ?? 0) + 1);
            }
        trip[label] = t === undefined ? NaN : (t - t0) / 1000;
      }
      trips.push([t0, trip]);
    }
    trips.sort((x, y) => x[0] - y[0]);
    const use = trips.slice(20).map(([, t]) => t);
    console.log(`${use.length} traced round trips (after 20 warm-ups); ms since sendTask started:`);
    for (const k of Object.keys(use[0])) {
      const vals = use.map((x) => x[k]).filter(Number.isFinite);
      console.log(
        `  ${k.padEnd(32)} p50 ${percentile(vals, 50).toFixed(2).padStart(6)}   p90 ${percentile(vals, 90).toFixed(2).padStart(6)}`,
      );
    }
    console.log('  first SELECT saw: ' + [...selectStates].map(([k, c]) => `${k.slice(12)} ${c}`).join(', '));
    console.log(`untraced-equivalent latencies from the sender: p50 ${percentile(r.latencies, 50).toFixed(2)} ms`);
    // The sender's PENDING batches (written ~100 ms after their sends): round trips during which
    // one committed, beside the rest (a batch's statement, row locks and WAL flush on the path).
    const pendingCommits = new Set();
    for (const ev of byId.values()) if (ev.has('committed:PENDING')) pendingCommits.add(ev.get('committed:PENDING'));
    const split = { with: [], without: [] };
    for (const [t0, trip] of trips.slice(20)) {
      const end = t0 + trip['sender: get() returned'] * 1000;
      const hit = [...pendingCommits].some((t) => t >= t0 && t <= end);
      split[hit ? 'with' : 'without'].push(trip['sender: get() returned']);
    }
    // A longer round trip is likelier to hold a commit by chance: the length-weighted p50 of all
    // of them is what the "with" p50 would be if the commits cost nothing.
    const all = [...split.with, ...split.without].sort((a, b) => a - b);
    const half = all.reduce((a, b) => a + b, 0) / 2;
    let acc = 0;
    const weighted = all.find((x) => (acc += x) >= half) ?? NaN;
    console.log(
      `PENDING rows committed: ${pendingCommits.size} (length-weighted p50 of every round trip ${weighted.toFixed(2)} ms); round trips with one committing during them: ${split.with.length}, p50 ${percentile(split.with, 50).toFixed(2)} ms, max ${Math.max(...split.with).toFixed(2)}; the others: ${split.without.length}, p50 ${percentile(split.without, 50).toFixed(2)} ms, p99 ${percentile(split.without, 99).toFixed(2)}`,
    );
  } finally {
    await sys.teardown(env);
    await env.close();
  }
}

main().then(
  () => process.exit(0),
  (e) => (console.error(e), process.exit(1)),
);
