'use strict';
/**
 * What a W1 drain with results waits on: one drain of N preloaded no-ops (Redis broker, every
 * result in Postgres, the round's PENDING rows committed first, as W1's are) by a worker in this
 * process (`-c 50`), traced from outside the worker by wrapping the broker's fetch and ack, the
 * store's batch write, and the fetch loop's wait for room (prototypes patched in this process
 * only; src/ is not changed). Per drain it prints:
 *
 *   - the main thread's utilisation (ELU) over the drain, and the process CPU per 1,000 tasks;
 *   - fetches: how many, their sizes, round trips (sent → deliveries returned);
 *   - result batches: sizes, latency (statement sent → committed);
 *   - acks: sizes, latency, and from a row committed to its ack answered;
 *   - the fetch loop's waits for room: how long, and what held it (prefetch: unfinished tasks;
 *     finishing: tasks finished and waiting for commit + ack);
 *   - starvation: time with no task ready to start (every fetched task started), split by what was
 *     in flight meanwhile (a fetch, a batch, an ack, the loop waiting for room).
 *
 *   BENCH_NS=me node bench/diag/drain-timeline.js [--src DIR] [--tasks 10000] [--rounds 3]
 *                                 [--batches N] [--prefetch-multiplier N] [--json FILE]
 *
 * --src: another copy of src/ (as drain-garbage.js), to compare trees in one sitting.
 * --batches: resultBatchesInFlight. --json FILE keeps every round's summary.
 * Also prints pgMsPer1k: CPU of this app's own Postgres backends (application_name
 * celeriac:<schema>, from /proc), so other users of the shared server are left out.
 */
for (const flag of ['--semi-space-growth-factor=1', '--heap-growing-percent=50'])
  require('node:v8').setFlagsFromString(flag);
process.env.CELERIAC_FROM_SOURCE = '1';
require('../../bin/register-ts').register();
const { resolve } = require('node:path');
const { performance } = require('node:perf_hooks');
const { DATABASE_URL, REDIS_HOST, REDIS_PORT } = require('../systems/ns');
const { cpuByPid, cpuDelta } = require('../lib/cpu');

const o = { src: resolve(__dirname, '../../src'), tasks: 10_000, rounds: 3, pm: undefined, json: undefined };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--src') o.src = resolve(process.argv[++i]);
  else if (a === '--tasks') o.tasks = Number(process.argv[++i]);
  else if (a === '--rounds') o.rounds = Number(process.argv[++i]);
  else if (a === '--prefetch-multiplier') o.pm = Number(process.argv[++i]);
  else if (a === '--json') o.json = resolve(process.argv[++i]);
  else if (a === '--batches') o.batches = Number(process.argv[++i]);
  else throw new Error(`unknown flag ${a}: --src DIR, --tasks N, --rounds K, --prefetch-multiplier N, --json FILE`);
}

const now = () => performance.now();
let ev = null; // the round's events, null outside a measured drain
let current; // the round's worker
const RedisBroker = require(`${o.src}/broker/redis-broker`).RedisBroker;
const BatchWriter = require(`${o.src}/results/batch-write`).BatchWriter;
const HeldJobs = require(`${o.src}/worker/held`).HeldJobs;

const fetch0 = RedisBroker.prototype.fetch;
RedisBroker.prototype.fetch = async function (consumer, queues, max, blockMs) {
  const t0 = now();
  const out = await fetch0.call(this, consumer, queues, max, blockMs);
  if (ev) {
    ev.fetch.push([t0, now(), max, out.length]);
    // What the worker holds (unfinished + finished awaiting commit and ack), at its largest.
    ev.maxHeld = Math.max(ev.maxHeld, current.info().held);
  }
  return out;
};
const ack0 = RedisBroker.prototype.ack;
RedisBroker.prototype.ack = async function (consumer, deliveries) {
  const t0 = now();
  await ack0.call(this, consumer, deliveries);
  ev?.ack.push([t0, now(), deliveries.length]);
};
const write0 = BatchWriter.prototype.write;
BatchWriter.prototype.write = async function (batch, settle) {
  const t0 = now();
  await write0.call(this, batch, settle);
  ev?.batch.push([t0, now(), batch.length]);
};
const room0 = HeldJobs.prototype.room;
HeldJobs.prototype.room = function () {
  const t0 = now();
  const finishing = this.size - this.unfinished;
  const p = room0.call(this);
  const e = ev;
  p.then(() => e?.room.push([t0, now(), this.unfinished, finishing]));
  return p;
};

const { Celeriac, task } = require(`${o.src}/index`);
const ns = process.env.BENCH_NS ?? String(process.pid);
const schema = `bench_tl_${ns}`;
const app = new Celeriac({
  databaseUrl: DATABASE_URL,
  brokerUrl: `redis://${REDIS_HOST}:${REDIS_PORT}/5`,
  keyPrefix: `bench_tl_${ns}:`,
  schema,
  ...(o.batches ? { resultBatchesInFlight: o.batches } : {}),
  logger: {
    isLevelEnabled: (level) => level === 'warn' || level === 'error',
    log(level, message, fields) {
      if (level === 'warn' || level === 'error')
        process.stderr.write(`${level} ${message} ${fields ? JSON.stringify(fields) : ''}\n`);
    },
  },
});
task('drain.noop', () => {
  ev?.start.push(now());
  return null;
});

const q = (xs, p) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const r1 = (x) => (x === null ? null : Math.round(x * 10) / 10);
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
/**
 * Spans [start, end, …] as the summary shows them: how many, the quantiles `sizeQ` (a list, or one)
 * of the size at `sizeAt`, and the p50 and p90 of their durations under `durationKey`.
 */
const spans = (list, sizeAt, sizeQ, durationKey) => {
  const sizes = list.map((x) => x[sizeAt]);
  const durations = list.map((x) => x[1] - x[0]);
  return {
    n: list.length,
    size: Array.isArray(sizeQ) ? sizeQ.map((p) => q(sizes, p)) : q(sizes, sizeQ),
    [durationKey]: [r1(q(durations, 0.5)), r1(q(durations, 0.9))],
  };
};

let sent = 0;
async function pendingCommitted() {
  const ds = await app.dataSource();
  for (;;) {
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM "${schema}".celeriac_task_result`);
    if (n >= sent) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Is `t` inside any of the [t0, t1] spans? (spans sorted by t0; a moving index keeps it linear.) */
function cover(spans) {
  const s = [...spans].sort((a, b) => a[0] - b[0]);
  return (a, b) => {
    // The part of [a, b] covered by the union of spans.
    let covered = 0;
    let edge = a;
    for (const [t0, t1] of s) {
      if (t1 <= edge) continue;
      if (t0 >= b) break;
      const from = Math.max(t0, edge);
      const to = Math.min(t1, b);
      if (to > from) {
        covered += to - from;
        edge = to;
      }
    }
    return covered;
  };
}

async function round() {
  for (let i = 0; i < o.tasks; i += 1000)
    await app.sendMany(Array.from({ length: Math.min(1000, o.tasks - i) }, () => ({ name: 'drain.noop' })));
  sent += o.tasks;
  await pendingCommitted();
  const worker = app.worker({ concurrency: 50, ...(o.pm === undefined ? {} : { prefetchMultiplier: o.pm }) });
  let finished = 0;
  const e = { fetch: [], ack: [], batch: [], room: [], start: [], maxHeld: 0 };
  current = worker;
  const done = new Promise((res) =>
    worker.on('task-finished', () => {
      if (++finished === o.tasks) res();
    }),
  );
  // This app's Postgres backends (application_name celeriac:<schema>): the worker's pool, opened
  // at start, so they are listed again after the drain and counted whole if born meanwhile.
  const ds = await app.dataSource();
  const ours = async () =>
    (await ds.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [`celeriac:${schema}`])).map(
      (r) => r.pid,
    );
  const pg0 = cpuByPid(await ours());
  ev = e;
  const t0 = now();
  const elu0 = performance.eventLoopUtilization();
  const c0 = process.cpuUsage();
  await worker.start();
  const tStarted = now();
  await done;
  const t1 = now();
  const elu = performance.eventLoopUtilization(elu0);
  const c = process.cpuUsage(c0);
  ev = null;
  const pg = cpuDelta(pg0, cpuByPid(await ours())) / (o.tasks / 1000);
  await worker.stop();
  return {
    ...summarise(e, t0, tStarted, t1, elu.utilization, (c.user + c.system) / 1000 / (o.tasks / 1000)),
    pgMsPer1k: r1(pg),
  };
}

function summarise(e, t0, tStarted, t1, elu, cpu) {
  const wall = t1 - t0;
  const first = e.start[0];
  const last = e.start[e.start.length - 1];
  // Starved: gaps between consecutive task starts longer than 1 ms, inside [first, last].
  const gaps = [];
  for (let i = 1; i < e.start.length; i++) if (e.start[i] - e.start[i - 1] > 1) gaps.push([e.start[i - 1], e.start[i]]);
  const starved = sum(gaps.map(([a, b]) => b - a));
  const by = {
    fetch: cover(e.fetch),
    batch: cover(e.batch),
    ack: cover(e.ack),
    room: cover(e.room),
  };
  const within = {};
  for (const k of Object.keys(by)) within[k] = r1(sum(gaps.map(([a, b]) => by[k](a, b))));
  // Gap time with nothing of ours in flight but the batch (the worker waits on Postgres alone).
  const roomFinishing = e.room.filter((r) => r[3] > r[2]);
  return {
    wallMs: Math.round(wall),
    startMs: Math.round(tStarted - t0),
    perSec: Math.round((o.tasks / wall) * 1000),
    elu: r1(elu * 100),
    cpuMsPer1k: r1(cpu),
    maxHeld: e.maxHeld,
    firstStartMs: r1(first - t0),
    lastStartToEndMs: r1(t1 - last),
    fetch: { ...spans(e.fetch, 3, [0.1, 0.5, 0.9], 'rttMs'), inFlightMs: r1(sum(e.fetch.map((f) => f[1] - f[0]))) },
    batch: { ...spans(e.batch, 2, [0.1, 0.5, 0.9], 'latencyMs'), inFlightMs: r1(sum(e.batch.map((b) => b[1] - b[0]))) },
    ack: spans(e.ack, 2, 0.5, 'latencyMs'),
    room: {
      n: e.room.length,
      waitMs: r1(sum(e.room.map((r) => r[1] - r[0]))),
      finishingBoundN: roomFinishing.length,
      finishingBoundMs: r1(sum(roomFinishing.map((r) => r[1] - r[0]))),
    },
    starved: { gaps: gaps.length, ms: r1(starved), whileInFlight: within },
  };
}

(async () => {
  const ds = await app.dataSource();
  await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await app.migrate();
  const all = [];
  try {
    await round(); // warm-up
    for (let r = 0; r < o.rounds; r++) {
      const x = await round();
      all.push(x);
      console.log(JSON.stringify(x));
    }
    if (o.json) require('node:fs').writeFileSync(o.json, JSON.stringify(all, null, 1));
  } finally {
    await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await app.close();
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
