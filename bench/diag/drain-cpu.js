'use strict';
/**
 * Whole-machine CPU per 1,000 tasks of a W1 drain, split by process, for each system and for the
 * stripped floor (bench/diag/drain-floor.js) (issue 21, session 6, engineer "floor"):
 *
 *   BENCH_NS=floor node bench/diag/drain-cpu.js [--rounds 3] [--sizes 10000,50000]
 *       [--systems celeriac,celeriac-ignore-result,bullmq,graphile-batched,floor,floor-ignore-result]
 *       (also: floor-2, the floor with two result batches in flight)
 *       [--json FILE]
 *   node bench/diag/drain-cpu.js --from FILE [--set A]   (re-print the tables of a saved --json run;
 *       bench/diag/drain-cpu-2026-12-07.json holds the runs bench/ANALYSIS.md quotes, sets A, B and C)
 *
 * Each drain is W1's (bench/workloads/w1.js): the queue preloaded by the system's own sender
 * (its bulk mode; Celeriac's PENDING rows committed before the worker starts), then one worker
 * process, `-c 50`, timed from its modules loaded (BENCH_T0) to the last result visible, polled
 * as the bench polls. The systems run in turn within a round, rotated each round, so each system's
 * runs are spread over the same minutes. What this adds over the bench's "CPU ms/1k worker · redis
 * · pg" (which counts every postgres and redis-server process on the machine, the harness's own
 * result-count queries and other users' sessions included):
 *
 *   - Postgres split by pg_stat_activity: the worker's own backends (matched by the client port of
 *     each TCP socket the worker's process tree holds), the harness's probe backends (its count
 *     queries, left out of the system's figure), the server's background processes (WAL writer,
 *     checkpointer, autovacuum: counted with the system, as its writes cause them), and other
 *     sessions (other users of the shared server: left out);
 *   - the whole machine from /proc/stat, so what no process above used (other users, the kernel's
 *     softirqs) shows as "other";
 *   - the 2-core bound per run: a drain cannot be shorter than the CPU of the worker's main thread
 *     (one event loop, one core; V8's GC and compiler threads run beside it) nor than the system's
 *     total CPU over two cores; which of the two is larger says what
 *     limits that system here, and the wall time above it is waiting or other load.
 *
 * Holds the bench's run lock (bench/lib/env.js) for its whole length, so it neither runs beside a
 * bench run nor wipes one's keys; prints one line per drain and a table of medians (min–max).
 */
process.env.BENCH_NS ??= 'floor'; // before bench/systems/ns.js reads it
const { readFileSync, readdirSync, readlinkSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const { join } = require('node:path');
const { byName } = require('../systems');
const { makeEnv } = require('../lib/env');
const { Child } = require('../lib/proc');
const { cpuByPid, pidsNamed } = require('../lib/cpu');
const { waitAllVisible } = require('../workloads/common');

const TICK_MS = 10; // USER_HZ

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const rounds = Number(arg('rounds', 3));
const sizes = arg('sizes', '10000,50000').split(',').map(Number);
const systemNames = arg(
  'systems',
  'celeriac,celeriac-ignore-result,bullmq,graphile-batched,floor,floor-ignore-result',
).split(',');
const jsonOut = arg('json', undefined);

/**
 * The floor as a system: Celeriac's queue, sender, store and "done" count; drain-floor.js as the
 * worker. floor-2: the same with two result batches in flight (two connections).
 */
function floorSystem(ignore, extra = []) {
  const base = byName[ignore ? 'celeriac-ignore-result' : 'celeriac'];
  return {
    ...base,
    name: (ignore ? 'floor-ignore-result' : 'floor') + (extra.length ? '-2' : ''),
    worker(env, tag) {
      return new Child(
        `${tag}-worker`,
        process.execPath,
        [join(__dirname, 'drain-floor.js'), ...(ignore ? ['--ignore-result'] : []), ...extra],
        { cwd: join(__dirname, '..', '..'), env: base.childEnv, timeoutMs: env.childTimeoutMs },
      );
    },
    async setup() {}, // celeriac's setup (migrations) runs once for both
    async teardown() {},
  };
}
const floors = {
  floor: floorSystem(false),
  'floor-2': floorSystem(false, ['--in-flight', '2']),
  'floor-ignore-result': floorSystem(true),
};
const systems = systemNames.map((n) => floors[n] ?? byName[n]);
for (const [i, s] of systems.entries()) if (!s) throw new Error(`unknown system ${systemNames[i]}`);

/** Busy and total jiffies of the whole machine (/proc/stat's first line), in ms. */
function machineCpu() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
  return { busy: (user + nice + system + irq + softirq + steal) * TICK_MS, idle: (idle + iowait) * TICK_MS };
}

/**
 * CPU ms of a process's main thread alone (/proc/<pid>/task/<pid>/stat). A Node process also
 * runs V8's GC helpers and compiler threads and libuv's pool on other cores, so its process CPU
 * can exceed its wall time; the one-core bound is the event loop's thread.
 */
function mainThreadCpu(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return NaN;
  }
}

/** Every pid in the tree under `root` (the worker and any pool children). */
function tree(root) {
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch {
      /* gone */
    }
  }
  const out = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop();
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Local TCP ports of the sockets these processes hold (to find their Postgres backends). */
function localPorts(pids) {
  const inodes = new Set();
  for (const pid of pids) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSafe(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      }
    } catch {
      /* gone */
    }
  }
  const ports = new Set();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && inodes.has(f[9])) ports.add(parseInt(f[1].split(':')[1], 16));
    }
  }
  return ports;
}
function readlinkSafe(p) {
  try {
    return readlinkSync(p);
  } catch {
    return '';
  }
}

const sum = (m, pick = () => true) => {
  let t = 0;
  for (const [pid, ms] of m) if (pick(pid)) t += ms;
  return t;
};
const delta = (a, b) => {
  const out = new Map();
  for (const [pid, ms] of b) out.set(pid, ms - (a.get(pid) ?? 0));
  return out;
};

async function drainOnce(sys, env, n, round) {
  const tag = `floor-diag-${sys.name}-${n}-r${round}`;
  await sys.reset(env);
  // Preload with the system's bulk sender (the sender is not what this measures); Celeriac's
  // sender commits its PENDING rows before it exits.
  const s = await sys.sender(env, tag, 'bulk', n).result(120_000 + n * 10);
  void s;
  const loadAvg = os.loadavg()[0];
  const worker = sys.worker(env, tag);
  try {
    const [t0] = (await worker.waitFor('T0', 60_000)).payload.split(' ').map(Number);
    const before = {
      worker: cpuByPid(tree(worker.pid)),
      main: mainThreadCpu(worker.pid),
      pg: cpuByPid(pidsNamed('postgres')),
      redis: cpuByPid(pidsNamed('redis-server')),
      machine: machineCpu(),
      harness: process.cpuUsage(),
    };
    const { at } = await waitAllVisible(sys, env, n, 60_000 + n * 10, () => !worker.exitInfo);
    const workerPids = tree(worker.pid);
    const after = {
      worker: cpuByPid(workerPids),
      main: mainThreadCpu(worker.pid),
      pg: cpuByPid(pidsNamed('postgres')),
      redis: cpuByPid(pidsNamed('redis-server')),
      machine: machineCpu(),
      harness: process.cpuUsage(before.harness),
    };
    // Classify Postgres processes now, while the worker's connections are open.
    const ports = localPorts(workerPids);
    const { rows: act } = await env.pg.query(
      `SELECT pid, backend_type, client_port, application_name FROM pg_stat_activity`,
    );
    const kind = new Map();
    for (const r of act) {
      if (r.backend_type !== 'client backend') kind.set(r.pid, 'bg');
      else if (r.client_port !== null && ports.has(r.client_port)) kind.set(r.pid, 'worker');
      else if (r.application_name === 'celeriac-bench' || r.application_name === 'celeriac-bench-lock')
        kind.set(r.pid, 'probe');
      else kind.set(r.pid, 'other');
    }
    const pgd = delta(before.pg, after.pg);
    // A postgres process not in pg_stat_activity any more (an autovacuum worker that finished, a
    // backend that left) is counted as background: it most likely served this drain's writes.
    const k = (pid) => kind.get(pid) ?? 'bg';
    const per1k = (ms) => (ms / n) * 1000;
    const drainMs = at - t0;
    const r = {
      system: sys.name,
      n,
      round,
      loadAvg,
      drainMs,
      perSec: (n / drainMs) * 1000,
      worker: per1k(sum(delta(before.worker, after.worker))),
      workerMain: per1k(after.main - before.main),
      pgWorker: per1k(sum(pgd, (p) => k(p) === 'worker')),
      pgBg: per1k(sum(pgd, (p) => k(p) === 'bg')),
      pgProbe: per1k(sum(pgd, (p) => k(p) === 'probe')),
      pgOther: per1k(sum(pgd, (p) => k(p) === 'other')),
      redis: per1k(sum(delta(before.redis, after.redis))),
      harness: per1k((after.harness.user + after.harness.system) / 1000),
      machineBusy: per1k(after.machine.busy - before.machine.busy),
      machineIdle: per1k(after.machine.idle - before.machine.idle),
    };
    r.system_total = r.worker + r.pgWorker + r.pgBg + r.redis; // what the system itself costs the machine
    r.other = r.machineBusy - r.system_total - r.pgProbe - r.harness; // other users, kernel, this harness's children
    // Lower bounds on the drain time on 2 cores, per 1,000 tasks: the worker's loop (one core), and
    // everything the system runs shared over both cores.
    r.boundWorker = r.workerMain;
    r.boundTotal = r.system_total / 2;
    r.bound = r.boundWorker >= r.boundTotal ? 'worker' : 'cores';
    r.wallPer1k = per1k(drainMs);
    return r;
  } finally {
    await worker.stop();
  }
}

const f0 = (x) => (x === undefined ? '–' : x.toFixed(0));
const f1 = (x) => (x === undefined ? '–' : x.toFixed(1));
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const mmm = (xs, f = f1) => `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;

function line(r) {
  return (
    `${r.system} n=${r.n} r${r.round} load ${r.loadAvg.toFixed(2)}: ${f0(r.perSec)}/s (${f0(r.drainMs)} ms); ` +
    `CPU ms/1k worker ${f1(r.worker)} (main thread ${f1(r.workerMain)}) · pg ${f1(r.pgWorker)} + bg ${f1(r.pgBg)} · redis ${f1(r.redis)} = ${f1(r.system_total)}; ` +
    `probe ${f1(r.pgProbe)}, pg other ${f1(r.pgOther)}, harness ${f1(r.harness)}, machine busy ${f1(r.machineBusy)} idle ${f1(r.machineIdle)} (other ${f1(r.other)}); ` +
    `wall ${f1(r.wallPer1k)} vs bounds worker ${f1(r.boundWorker)} / cores ${f1(r.boundTotal)} → ${r.bound}`
  );
}

async function main() {
  const env = await makeEnv({ childTimeoutMs: 600_000, log: (m) => console.log(m) });
  const results = [];
  try {
    const seen = new Set();
    for (const s of systems) {
      if (seen.has(s.setup)) continue;
      seen.add(s.setup);
      await s.setup(env);
    }
    // Celeriac's schema is needed by the floor even when celeriac itself is not in the list.
    if (systems.some((s) => s.name.startsWith('floor')) && !systems.some((s) => s.name === 'celeriac'))
      await byName.celeriac.setup(env);
    for (let round = 1; round <= rounds; round++) {
      for (const n of sizes) {
        const order = systems.map((_, i) => systems[(i + round - 1) % systems.length]);
        for (const sys of order) {
          const r = await drainOnce(sys, env, n, round);
          results.push(r);
          console.log(line(r));
          if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 1));
        }
      }
    }
  } finally {
    for (const s of [...systems, byName.celeriac]) await s.teardown(env).catch(() => {});
    await env.close();
  }
  report(results);
}

/** The CPU-bound drain rate (tasks/s) on `cores` cores: the worker's loop thread on one core, everything over all. */
const boundRate = (main, total, cores) => 1e6 / Math.max(main, total / cores);

function report(results) {
  const names = [...new Set(results.map((r) => r.system))];
  const ns = [...new Set(results.map((r) => r.n))].sort((a, b) => a - b);
  console.log(
    '\n| system | n | drain/s | worker | its main thread | pg (worker backends) | pg background | redis | system total | ÷ 2 cores | bound | machine busy | other | probe |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  const med = {};
  for (const n of ns)
    for (const name of names) {
      const rs = results.filter((r) => r.system === name && r.n === n);
      if (!rs.length) continue;
      const col = (k, f) =>
        mmm(
          rs.map((r) => r[k]),
          f,
        );
      // The one-core bound is the main thread's CPU (older --json files lack it: the process's).
      med[`${name}/${n}`] = {
        worker: median(rs.map((r) => r.worker)),
        main: median(rs.map((r) => r.workerMain ?? r.worker)),
        total: median(rs.map((r) => r.system_total)),
      };
      console.log(
        `| ${name} | ${n} | ${col('perSec', f0)} | ${col('worker')} | ${col('workerMain')} | ${col('pgWorker')} | ${col('pgBg')} | ${col('redis')} | ${col('system_total')} | ${col('boundTotal')} | ${rs.map((r) => r.bound).join(', ')} | ${col('machineBusy')} | ${col('other')} | ${col('pgProbe')} |`,
      );
    }
  const loads = results.map((r) => r.loadAvg);
  console.log(`\nload average (1 min) at each drain's start: ${mmm(loads, (x) => x.toFixed(2))}`);

  // What the CPU allows, from the medians: 2 cores (this machine), 3 (Postgres and Redis off the
  // worker's core), and any number (one worker process: its own loop is the limit).
  const peer = {
    celeriac: 'bullmq',
    floor: 'bullmq',
    'celeriac-ignore-result': 'graphile-batched',
    'floor-ignore-result': 'graphile-batched',
  };
  for (const n of ns) {
    console.log(`\nn=${n}: CPU-bound drain rate (tasks/s) from the medians, and ÷ its peer's`);
    console.log('| system | 2 cores | 3 cores | worker-bound (∞ cores) |');
    console.log('|---|---|---|---|');
    for (const name of names) {
      const m = med[`${name}/${n}`];
      if (!m) continue;
      const p = med[`${peer[name]}/${n}`];
      const cell = (cores) => {
        const rate = boundRate(m.main, m.total, cores);
        const ratio = p ? ` (${(rate / boundRate(p.main, p.total, cores)).toFixed(2)}× ${peer[name]})` : '';
        return `${f0(rate)}${ratio}`;
      };
      console.log(`| ${name} | ${cell(2)} | ${cell(3)} | ${cell(Infinity)} |`);
    }
  }
  // Per-task cost net of start-up: the difference between two sizes' whole-drain CPU.
  if (ns.length >= 2) {
    const [a, b] = [ns[0], ns[ns.length - 1]];
    console.log(
      `\nmarginal CPU ms per 1,000 tasks between ${a} and ${b} (start-up and warm-up cancel), and the fixed part:`,
    );
    console.log('| system | worker marginal | worker fixed (ms) | total marginal | total fixed (ms) |');
    console.log('|---|---|---|---|---|');
    for (const name of names) {
      const x = med[`${name}/${a}`];
      const y = med[`${name}/${b}`];
      if (!x || !y) continue;
      const marg = (k) => (y[k] * b - x[k] * a) / (b - a);
      const fixed = (k) => (x[k] * a) / 1000 - (marg(k) * a) / 1000;
      console.log(
        `| ${name} | ${f1(marg('worker'))} | ${f0(fixed('worker'))} | ${f1(marg('total'))} | ${f0(fixed('total'))} |`,
      );
    }
  }
}

const from = arg('from', undefined);
if (from) {
  const set = arg('set', undefined); // bench/diag/drain-cpu-2026-12-07.json holds three sets of runs, A, B and C
  report(JSON.parse(readFileSync(from, 'utf8')).filter((r) => set === undefined || r.set === set));
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
