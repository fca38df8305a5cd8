'use strict';
/**
 * What a task's garbage costs a worker: one drain in this process, without the benchmark's
 * processes around it (bench/diag/drain-cpu.js splits a real W1 drain by process instead). N
 * no-ops are sent with sendMany, then a worker (concurrency 50) is started in this process and
 * timed from start() to the Nth 'task-finished': CPU (process.cpuUsage, user + system; the sender
 * is idle by then), scavenges and GC ms per 1,000 tasks. The scavenge count follows what a task
 * allocates and barely moves with the machine's load, so two trees compare on a busy machine.
 *
 *   node bench/diag/drain-garbage.js [--src DIR] [--tasks 20000] [--rounds 5]
 *                                  [--broker memory|redis] [--ignore-result] [--v8-heap] [--alloc FILE]
 *                                  [--pending-first]
 *
 * --src: another copy of src/ (e.g. `mkdir .before && git archive main src migrations package.json
 * | tar -x -C .before`, below this worktree so node_modules resolve; src/ loads ../migrations), to
 * run two trees alternately in one sitting.
 * memory: the memory broker (no Redis: the worker's own work, with the broker in-process);
 * results go to Postgres (schema bench_drain_<BENCH_NS or pid>) unless --ignore-result.
 * --pending-first: the round's PENDING rows committed before the worker starts, as W1's are (its
 * sender is another process). Without it the sender's deferred PENDING (store.ts writeLater) lands
 * in this process's store during the drain and merges with the worker's states, and tasks younger
 * than 250 ms skip the narrow update (state-writer.ts): a path W1 never takes (session 7: 19.7
 * scavenges per 1,000 tasks against 9.5 with the flag, same tree).
 * --alloc FILE: a sampling allocation profile of the last round's drain, garbage included (what
 * --heap-prof leaves out), written to FILE (.heapprofile, for DevTools).
 * Prints one JSON line: each round's CPU ms per 1,000 tasks, wall ms, scavenges and GC ms per
 * 1,000 tasks, and the medians.
 */
// The heap the worker command gives a worker (src/worker/heap-flags.ts, its defaults), set before
// anything loads as the command does: 1 MiB semi-spaces make a task's garbage cost more scavenges.
// --v8-heap: V8's own sizing instead.
if (!process.argv.includes('--v8-heap'))
  for (const flag of ['--semi-space-growth-factor=1', '--heap-growing-percent=50'])
    require('node:v8').setFlagsFromString(flag);
process.env.CELERIAC_FROM_SOURCE = '1';
require('../../bin/register-ts').register();
const { resolve } = require('node:path');
const { DATABASE_URL, REDIS_HOST, REDIS_PORT } = require('../systems/ns');

const o = { src: resolve(__dirname, '../../src'), tasks: 20_000, rounds: 5, broker: 'memory', ignore: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--src') o.src = resolve(process.argv[++i]);
  else if (a === '--tasks') o.tasks = Number(process.argv[++i]);
  else if (a === '--rounds') o.rounds = Number(process.argv[++i]);
  else if (a === '--broker') o.broker = process.argv[++i];
  else if (a === '--ignore-result') o.ignore = true;
  else if (a === '--v8-heap') continue;
  else if (a === '--pending-first') o.pendingFirst = true;
  else if (a === '--alloc') o.alloc = resolve(process.argv[++i]);
  else
    throw new Error(
      `unknown flag ${a}: --src DIR, --tasks N, --rounds K, --broker memory|redis, --ignore-result, --pending-first`,
    );
}

const { Celeriac, task } = require(`${o.src}/index`);
const ns = process.env.BENCH_NS ?? String(process.pid);
const schema = `bench_drain_${ns}`;
const keyPrefix = `bench_drain_${ns}:`;
const app = new Celeriac({
  databaseUrl: DATABASE_URL,
  brokerUrl: o.broker === 'redis' ? `redis://${REDIS_HOST}:${REDIS_PORT}/5` : `memory://drain${process.pid}`,
  keyPrefix,
  schema,
  logger: {
    isLevelEnabled: (level) => level === 'warn' || level === 'error',
    log(level, message, fields) {
      if (level === 'warn' || level === 'error')
        process.stderr.write(`${level} ${message} ${fields ? JSON.stringify(fields) : ''}\n`);
    },
  },
});
task('drain.noop', () => null, { ignoreResult: o.ignore });

// Scavenges and full collections of the measured window, per 1,000 tasks: what a task's garbage
// costs, and nearly independent of the machine's load.
const gc = { minor: 0, major: 0, ms: 0 };
new (require('node:perf_hooks').PerformanceObserver)((list) => {
  for (const e of list.getEntries()) {
    if (e.detail?.kind === 1) gc.minor++;
    else gc.major++;
    gc.ms += e.duration;
  }
}).observe({ entryTypes: ['gc'] });

const session = o.alloc ? new (require('node:inspector').Session)() : null;
const post = (method, params) =>
  new Promise((res, rej) => session.post(method, params, (err, out) => (err ? rej(err) : res(out))));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Resolves once every task sent so far has its row (PENDING, or later). */
let sent = 0;
async function pendingCommitted() {
  sent += o.tasks;
  const ds = await app.dataSource();
  for (;;) {
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM "${schema}".celeriac_task_result`);
    if (n >= sent) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function round(sample = false) {
  for (let i = 0; i < o.tasks; i += 1000)
    await app.sendMany(Array.from({ length: Math.min(1000, o.tasks - i) }, () => ({ name: 'drain.noop' })));
  if (o.pendingFirst && !o.ignore) await pendingCommitted();
  const worker = app.worker({ concurrency: 50 });
  let finished = 0;
  const done = new Promise((res) =>
    worker.on('task-finished', () => {
      if (++finished === o.tasks) res();
    }),
  );
  if (sample) {
    session.connect();
    await post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  const t0 = performance.now();
  const g0 = { ...gc };
  const c0 = process.cpuUsage();
  await worker.start();
  await done;
  const c = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  const k = o.tasks / 1000;
  const gcs = { minor: (gc.minor - g0.minor) / k, major: (gc.major - g0.major) / k, ms: (gc.ms - g0.ms) / k };
  if (sample) {
    const { profile } = await post('HeapProfiler.stopSampling');
    require('node:fs').writeFileSync(o.alloc, JSON.stringify(profile));
    session.disconnect();
  }
  await worker.stop();
  return { cpu: (c.user + c.system) / 1000 / k, wall, gcs };
}

(async () => {
  const ds = await app.dataSource();
  await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await app.migrate();
  try {
    await round(); // warm-up
    const cpu = [];
    const wall = [];
    const scavenges = [];
    const gcMs = [];
    for (let r = 0; r < o.rounds; r++) {
      const x = await round(r === o.rounds - 1 && !!o.alloc);
      cpu.push(Number(x.cpu.toFixed(1)));
      wall.push(Math.round(x.wall));
      scavenges.push(Number(x.gcs.minor.toFixed(2)));
      gcMs.push(Number(x.gcs.ms.toFixed(1)));
    }
    console.log(
      JSON.stringify({
        src: o.src,
        broker: o.broker,
        ignore: o.ignore,
        cpu,
        wall,
        scavenges,
        gcMs,
        cpuMedian: median(cpu),
        scavengesMedian: median(scavenges),
        gcMsMedian: median(gcMs),
      }),
    );
  } finally {
    await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await app.close();
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
