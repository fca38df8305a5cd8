#!/usr/bin/env node
'use strict';
/**
 * Diagnostic: W2 round trips of two or more Celeriac variants beside BullMQ, alternated, under the
 * benchmark's run lock (`npm run bench`'s W2: a fresh worker per run, 500 samples after 20
 * warm-ups). A variant is `label=<tree>[,ENV=value…]`: the worker and the sender from source in
 * that checkout (its bin/ and bench/systems/celeriac/), with those variables set; BullMQ runs once
 * per round, so each Celeriac run has a BullMQ figure from the same minute.
 *
 *   BENCH_NS=me node bench/diag/w2-ab.js 4 before=/work/wt/me-base after=. [pending-off=.,BENCH_TRACK_PENDING=0]
 *
 * Prints each run, then per variant the medians over the rounds of p50/p95/p99, of the sender's
 * CPU per round trip (its own, so less moved by the host's load than the wall times), and of p50 ÷ BullMQ's.
 */
const { join, resolve } = require('node:path');
const { execFileSync } = require('node:child_process');
const { Child } = require('../lib/proc');
const { makeEnv } = require('../lib/env');
const { byName } = require('../systems');
const { percentile, median } = require('../lib/stats');

const SAMPLES = 500;
const WARMUPS = 20;

function parseVariant(arg) {
  const [label, rest] = arg.split(/=(.*)/s);
  const [tree, ...vars] = rest.split(',');
  const env = { CELERIAC_FROM_SOURCE: '1' };
  for (const v of vars) {
    const [k, val] = v.split(/=(.*)/s);
    env[k] = val;
  }
  return { label, root: resolve(tree), env };
}

function load() {
  return execFileSync('cat', ['/proc/loadavg']).toString().split(' ').slice(0, 1)[0];
}

async function celeriacRun(env, v, tag) {
  await byName.celeriac.reset(env);
  const app = join(v.root, 'bench', 'systems', 'celeriac', 'app.ts');
  const worker = new Child(
    `${tag}-worker`,
    process.execPath,
    [join(v.root, 'bin', 'celeriac.js'), 'worker', '--app', app, '-c', '50'],
    { cwd: v.root, env: { ...v.env, BENCH_ROLE: 'worker' }, timeoutMs: 300_000 },
  );
  try {
    await worker.waitFor('READY', 60_000);
    const sender = new Child(
      `${tag}-sender`,
      process.execPath,
      [join(v.root, 'bench', 'systems', 'celeriac', 'sender.js'), 'latency', String(SAMPLES), String(WARMUPS)],
      { cwd: v.root, env: v.env, timeoutMs: 300_000 },
    );
    const r = await sender.result(120_000);
    // The sender's own CPU over its timed loop (warm-ups included), per round trip.
    return { latencies: r.latencies, cpuUsPerTrip: (r.cpuMs * 1000) / (SAMPLES + WARMUPS) };
  } finally {
    await worker.stop();
  }
}

async function bullmqRun(env, tag) {
  const sys = byName.bullmq;
  await sys.reset(env);
  const worker = sys.worker(env, tag);
  try {
    await worker.waitFor('READY', 60_000);
    const r = await sys.sender(env, tag, 'latency', SAMPLES, WARMUPS).result(120_000);
    return { latencies: r.latencies, cpuUsPerTrip: NaN };
  } finally {
    await worker.stop();
  }
}

async function main() {
  const args = process.argv.slice(2);
  const rounds = Number(args[0]);
  const variants = args.slice(1).map(parseVariant);
  if (!(rounds > 0) || variants.length === 0) throw new Error('usage: w2-ab.js <rounds> label=<tree>[,ENV=v…] …');
  const env = await makeEnv({ childTimeoutMs: 300_000, log: (m) => console.log(m) });
  const figures = new Map(variants.map((v) => [v.label, []]));
  const stats = ({ latencies: lat, cpuUsPerTrip }) => ({
    p50: percentile(lat, 50),
    p95: percentile(lat, 95),
    p99: percentile(lat, 99),
    cpu: cpuUsPerTrip,
  });
  const fmt = (s) =>
    `p50 ${s.p50.toFixed(2)} p95 ${s.p95.toFixed(2)} p99 ${s.p99.toFixed(2)}` +
    (Number.isFinite(s.cpu) ? ` sender CPU ${s.cpu.toFixed(0)} µs/trip` : '');
  try {
    await byName.celeriac.setup(env);
    for (let r = 0; r < rounds; r++) {
      // Each round starts with a different variant, so none is always first after BullMQ.
      const order = variants.map((_, i) => variants[(i + r) % variants.length]);
      const b = stats(await bullmqRun(env, `ab-bullmq-${r}`));
      console.log(`round ${r + 1} load ${load()} bullmq ${fmt(b)}`);
      for (const v of order) {
        const s = stats(await celeriacRun(env, v, `ab-${v.label}-${r}`));
        figures.get(v.label).push({ ...s, ratio: s.p50 / b.p50 });
        console.log(`round ${r + 1} load ${load()} ${v.label} ${fmt(s)} ÷bullmq ${(s.p50 / b.p50).toFixed(2)}`);
      }
    }
    for (const [label, runs] of figures) {
      const m = (k) => median(runs.map((x) => x[k])).toFixed(2);
      console.log(
        `${label}: medians over ${runs.length} runs: p50 ${m('p50')} p95 ${m('p95')} p99 ${m('p99')} ms, sender CPU ${m('cpu')} µs/trip, p50 ÷ BullMQ ${m('ratio')}× (${runs.map((x) => x.ratio.toFixed(2)).join(' ')})`,
      );
    }
  } finally {
    await byName.celeriac.teardown(env).catch(() => {});
    await byName.bullmq.teardown(env).catch(() => {});
    await env.close();
  }
}

main().then(
  () => process.exit(0),
  (e) => (console.error(e), process.exit(1)),
);
