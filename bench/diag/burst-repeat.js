#!/usr/bin/env node
'use strict';
/**
 * Diagnostic: `BENCH_NS=<you> node bench/diag/burst-repeat.js [-n 1000] [--bursts 3] [--gap-ms 3000]
 * [--no-lock] [--cpu-prof]` sends W3's burst of `bench.beat` tasks (one `sendMany`) to one
 * `celeriac worker -c 50` several times, a few seconds apart, and prints per burst: the start
 * lateness after `sendMany` returned (p50/p99/max; "first" < 0 when tasks started before it
 * returned), the worker's CPU over the burst (the whole process, and its main thread alone: the
 * difference is V8's GC helper and compiler threads) and, with `--trace-gc` in
 * BENCH_WORKER_NODE_FLAGS, its collections. The first burst meets a worker that has never run a
 * task, as W3's one burst does; the later ones the same worker warm: what separates them is what
 * a cold worker pays (interpreted code, compilation, its allocations), not the beat (there is
 * none, and no minute to wait for). BENCH_WORKER_NODE_FLAGS: node/V8 flags for the worker (an
 * A/B of a flag). --cpu-prof: the worker's profile summarised per burst. --no-lock: not behind
 * the benchmark's run lock (its figure is CPU, which other users' load moves far less than wall
 * time; the bursts take a few seconds of the machine). Use its own BENCH_NS: teardown drops it.
 */
const { join } = require('node:path');
const { readFileSync } = require('node:fs');
const os = require('node:os');
const { Child, sleep, until } = require('../lib/proc');
const { makeEnv } = require('../lib/env');
const { Pool } = require('pg');
const Redis = require('ioredis');
const { byName } = require('../systems');
const { percentile } = require('../lib/stats');
const { NS, DATABASE_URL, REDIS_HOST, REDIS_PORT } = require('../systems/ns');
const { summarizeDir, format } = require('../lib/cpuprofile');

const PROF_DIR = join(os.tmpdir(), `celeriac-burst-repeat-prof-${process.pid}`);
const monoUs = () => Number(process.hrtime.bigint() / 1000n);

const ROOT = join(__dirname, '..', '..');
const APP = join(ROOT, 'bench', 'systems', 'celeriac', 'app.ts');
const startKey = NS.exec.keyPrefix + 'celeriac:w3:start';

/**
 * utime + stime in ms (clock ticks of 10 ms): the whole worker process (its GC helper and
 * compiler threads too) and its main thread alone (the event loop, tid = pid).
 */
function cpuMs(pid) {
  const ticks = (path) => {
    const f = readFileSync(path, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  };
  return { all: ticks(`/proc/${pid}/stat`), main: ticks(`/proc/${pid}/task/${pid}/stat`) };
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name, d) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : d);
  const n = opt('-n', 1000);
  const bursts = opt('--bursts', 3);
  const gapMs = opt('--gap-ms', 3000);
  const sys = byName.celeriac;
  const env = args.includes('--no-lock') ? unlockedEnv() : await makeEnv({ childTimeoutMs: 10 * 60_000 });
  let worker;
  try {
    await sys.setup(env);
    process.env.CELERIAC_FROM_SOURCE = '1';
    require('../../bin/register-ts').register();
    const { celeriac } = require(APP);
    await celeriac.broker();
    await celeriac.results();
    const flags = (process.env.BENCH_WORKER_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
    // --cpu-prof: the worker's profile, summarised per burst (the clock is CLOCK_MONOTONIC, the same in both processes).
    const prof = args.includes('--cpu-prof');
    if (prof) flags.push('--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`);
    const windows = [];
    worker = new Child(
      'burst-repeat-worker',
      process.execPath,
      [...flags, join(ROOT, 'bin', 'celeriac.js'), 'worker', '--app', APP, '-c', '50'],
      {
        cwd: ROOT,
        env: { CELERIAC_FROM_SOURCE: '1', BENCH_ROLE: 'worker', BENCH_EXEC_AT_START: '1' },
        timeoutMs: 10 * 60_000,
      },
    );
    await worker.waitFor('READY', 60_000);
    await sleep(2000);
    const redis = env.redis(NS.exec.redisDb);
    for (let b = 0; b < bursts; b++) {
      await redis.del(startKey);
      const load = os.loadavg()[0];
      const cpu0 = cpuMs(worker.pid);
      const items = [];
      for (let i = 0; i < n; i++) items.push({ name: 'bench.beat', args: [i] });
      const s0 = Date.now();
      const m0 = monoUs();
      await celeriac.sendMany(items);
      const t0 = Date.now();
      await until(async () => (await redis.llen(startKey)) >= n, { timeoutMs: 60_000, stepMs: 10 });
      await sleep(500); // the last results and acks
      const cpu1 = cpuMs(worker.pid);
      const gc = gcBetween(worker, s0, Date.now());
      windows.push([m0, monoUs()]);
      const lat = (await redis.lrange(startKey, 0, -1)).map((l) => Number(l.split('|')[2]) - t0);
      const sorted = [...lat].sort((a, c) => a - c);
      console.log(
        `burst ${b + 1}: send ${t0 - s0} ms; start after send p50 ${percentile(lat, 50).toFixed(0)} p99 ${percentile(lat, 99).toFixed(0)} max ${sorted.at(-1)} ms (first ${sorted[0]}); worker CPU ${cpu1.all - cpu0.all} ms (main thread ${cpu1.main - cpu0.main})${gc}; load ${load.toFixed(2)}`,
      );
      await sleep(gapMs);
    }
    await celeriac.close?.();
    if (prof) {
      await worker.stop();
      for (const [i, w] of windows.entries())
        console.log(`\nprofile, burst ${i + 1}:\n${summarizeDir(PROF_DIR, 30, w).map(format).join('\n')}`);
    }
  } finally {
    await worker?.stop?.().catch(() => {});
    await sys.teardown?.(env).catch(() => {});
    await env.close();
  }
}

/**
 * With --trace-gc in BENCH_WORKER_NODE_FLAGS: the worker's collections between two instants, by
 * kind (count, pause ms). V8 stamps each line in ms since the isolate began, ~ the spawn.
 */
function gcBetween(worker, fromMs, toMs) {
  const kinds = new Map();
  let text;
  try {
    text = readFileSync(worker.logPath, 'utf8');
  } catch {
    return '';
  }
  for (const line of text.split('\n')) {
    const m = /\s(\d+) ms: (Scavenge|Mark-Compact|Mark-sweep)\b.*?, ([\d.]+) \/ ([\d.]+) ms/.exec(line);
    if (!m) continue;
    const at = worker.spawnedAt + Number(m[1]);
    if (at < fromMs || at > toMs) continue;
    const k = kinds.get(m[2]) ?? { n: 0, ms: 0 };
    k.n++;
    k.ms += Number(m[3]);
    kinds.set(m[2], k);
  }
  return kinds.size ? `; gc ${[...kinds].map(([kind, k]) => `${kind} ${k.n}× ${k.ms.toFixed(0)} ms`).join(', ')}` : '';
}

/** makeEnv's surface without its run lock. */
function unlockedEnv() {
  const pg = new Pool({ connectionString: DATABASE_URL, max: 2, application_name: 'celeriac-bench-diag' });
  const clients = new Map();
  const redis = (db) => {
    if (!clients.has(db)) clients.set(db, new Redis({ host: REDIS_HOST, port: REDIS_PORT, db }));
    return clients.get(db);
  };
  const deleteKeys = async (db, prefix) => {
    const r = redis(db);
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', prefix.replace(/[*?[\]\\]/g, '\\$&') + '*', 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.unlink(...keys);
    } while (cursor !== '0');
  };
  return {
    pg,
    redis,
    deleteKeys,
    childTimeoutMs: 10 * 60_000,
    async close() {
      await pg.end();
      for (const c of clients.values()) c.disconnect();
    },
  };
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
