'use strict';
/**
 * Where a worker's memory goes over a long run (issue 21, "second wave"): the built package
 * (dist/, run `npm run build` first), a worker of concurrency 50 in its own process
 * (memory/worker.js), and trivial tasks sent in bulk with celeriac.sendMany.
 *
 *   node bench/diag/worker-memory.js [--rounds 5] [--per-round 10000] [--preload] [--snapshots DIR]
 *
 * Default: the worker drains `rounds` rounds of `per-round` tasks each, one after another; after
 * each round it reports its peak RSS and heap in that round and its heap after a full GC
 * (node --expose-gc), so memory that accumulates with the run shows as a rising after-GC heap.
 * --preload sends rounds × per-round tasks before the worker starts (the benchmark's W1 drain).
 * --snapshots DIR writes a heap snapshot after each round, for diffing retainers in DevTools.
 * --cli source|built runs the real `celeriac worker -c 50` instead (from the checkout through the
 * TypeScript loader, or dist/'s CLI on dist/, as a deployment runs it), with the heap settings the
 * command makes itself (CELERIAC_* from the env), and reads its VmHWM and CPU from /proc: W1's
 * figures without the benchmark's run lock. Nothing in-process: no GC counts, no snapshots.
 * Memory, unlike time, barely depends on the machine's load, so these figures hold on a busy machine.
 */
const { fork } = require('node:child_process');
const { join } = require('node:path');
const { mkdirSync } = require('node:fs');
const { parseArgs } = require('node:util');
const { DATABASE_URL, REDIS_HOST, REDIS_PORT } = require('../systems/ns');

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'per-round': { type: 'string', default: '10000' },
    preload: { type: 'boolean', default: false },
    snapshots: { type: 'string' },
    allocations: { type: 'string' },
    cli: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const perRound = Number(values['per-round']);
const tag = `mem${process.pid}`;
Object.assign(process.env, {
  MEM_DATABASE_URL: DATABASE_URL,
  MEM_BROKER_URL: `redis://${REDIS_HOST}:${REDIS_PORT}/5`,
  MEM_KEY_PREFIX: `bench:${tag}:`,
  MEM_SCHEMA: `bench_${tag}`,
});
const { celeriac } = require('./memory/app');
const MiB = (b) => Math.round((b / 1048576) * 10) / 10;

function ask(child, msg) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(msg);
  });
}

async function sendBatch(n) {
  for (let i = 0; i < n; i += 1000) {
    const items = Array.from({ length: Math.min(1000, n - i) }, () => ({ name: 'mem.noop' }));
    await celeriac.sendMany(items);
  }
}

async function waitSucceeded(ds, n) {
  const schema = process.env.MEM_SCHEMA;
  for (;;) {
    const [{ c }] = await ds.query(
      `SELECT count(*)::int AS c FROM "${schema}".celeriac_task_result WHERE status = 'SUCCESS'`,
    );
    if (c >= n) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** VmHWM (KiB) and CPU (ms, user + system) of a process, from /proc. */
function procFigures(pid) {
  const { readFileSync } = require('node:fs');
  const hwmKb = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+)/)[1]);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { hwmKb, cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / 100 };
}

/** The real CLI worker on the preloaded tasks (--cli): its peak RSS and CPU per 1,000 tasks. */
async function runCli(ds) {
  const { spawn } = require('node:child_process');
  const root = join(__dirname, '..', '..');
  const args = ['worker', '--app', join(__dirname, 'memory', 'app.js'), '-c', '50'];
  const argv =
    values.cli === 'source'
      ? [join(root, 'bin', 'celeriac.js'), ...args]
      : ['-e', `require(${JSON.stringify(join(root, 'dist/src/cli/main.js'))}).main(${JSON.stringify(args)})`];
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, {
    cwd: root,
    env: { ...process.env, MEM_PACKAGE: values.cli },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => d.toString().includes('MEM_READY') && resolve());
    child.once('exit', (code) => reject(new Error(`the worker exited (${code}) before it was ready`)));
  });
  const ready = procFigures(child.pid);
  console.log(`worker (${values.cli}) ready ${Math.round(performance.now() - t0)} ms after spawn`);
  await waitSucceeded(ds, rounds * perRound);
  const done = procFigures(child.pid);
  console.log(
    'worker CPU over the run',
    Math.round((done.cpuMs - ready.cpuMs) / ((rounds * perRound) / 1000)),
    'ms per 1,000 tasks',
  );
  console.log('peak RSS over the run', Math.round(done.hwmKb / 102.4) / 10, 'MiB');
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

async function main() {
  const ds = await celeriac.dataSource();
  const schema = process.env.MEM_SCHEMA;
  await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await celeriac.migrate();
  const broker = await celeriac.broker();
  let child;
  try {
    if (values.preload || values.cli) await sendBatch(rounds * perRound);
    if (values.cli) return await runCli(ds);
    const t0 = performance.now();
    child = fork(join(__dirname, 'memory', 'worker.js'), [], {
      execArgv: ['--expose-gc', ...(process.env.MEM_NODE_FLAGS ?? '').split(' ').filter(Boolean)],
      env: process.env,
    });
    const ready = await new Promise((resolve) => child.once('message', resolve));
    console.log(
      `worker ready ${Math.round(performance.now() - t0)} ms after spawn; app loaded in ${Math.round(ready.loadedMs)} ms, ${ready.modulesAtLoad} modules`,
    );
    await ask(child, { cmd: 'phase', name: 'round 1' });
    if (values.allocations) await ask(child, { cmd: 'allocations-start' });
    // Worker CPU (user + system) per 1,000 tasks of each round: what a memory setting costs.
    let cpuBefore = (await ask(child, { cmd: 'report' })).cpu;
    let cpuRounds = 0;
    for (let r = 1; r <= rounds; r++) {
      if (!values.preload) await sendBatch(perRound);
      await waitSucceeded(ds, r * perRound);
      const rep = await ask(child, { cmd: 'report' });
      const p = rep.phases[rep.phases.length - 1];
      const cpuMs = (rep.cpu.user + rep.cpu.system - cpuBefore.user - cpuBefore.system) / 1000;
      cpuBefore = rep.cpu;
      cpuRounds += cpuMs;
      console.log(`round ${r}: worker CPU ${Math.round(cpuMs / (perRound / 1000))} ms per 1,000 tasks`);
      console.log(
        `${r * perRound} done: round peak RSS ${MiB(p.peakRss)} MiB, heapUsed ${MiB(p.peakHeapUsed)}, external ${MiB(p.peakExternal)}` +
          ` | after GC: RSS ${MiB(rep.afterGc.rss)}, heapUsed ${MiB(rep.afterGc.heapUsed)}, external ${MiB(rep.afterGc.external)}, arrayBuffers ${MiB(rep.afterGc.arrayBuffers)}; modules ${rep.modules}`,
      );
      const a = p.atPeak;
      const k = (x) => Math.round(x / 102.4) / 10;
      if (a)
        console.log(
          `  at the peak: heapTotal ${MiB(a.heapTotal)}, heapUsed ${MiB(a.heapUsed)}, external ${MiB(a.external)}, rss - heapTotal ${MiB(a.rss - a.heapTotal)}` +
            (p.rollupAtPeak ? ` | anon ${k(p.rollupAtPeak.anon)}, file ${k(p.rollupAtPeak.file)}` : ''),
        );
      if (values.snapshots) {
        mkdirSync(values.snapshots, { recursive: true });
        await ask(child, { cmd: 'snapshot', file: join(values.snapshots, `worker-${r * perRound}.heapsnapshot`) });
      }
      if (r < rounds) await ask(child, { cmd: 'phase', name: `round ${r + 1}` });
    }
    if (values.allocations) {
      await ask(child, { cmd: 'allocations-stop', file: values.allocations });
      console.log(`allocation profile (sampled, freed objects included): ${values.allocations}`);
    }
    const rep = await ask(child, { cmd: 'report' });
    console.log('worker CPU over the run', Math.round(cpuRounds / ((rounds * perRound) / 1000)), 'ms per 1,000 tasks');
    console.log('peak RSS over the run', MiB(Math.max(...rep.phases.map((p) => p.peakRss))), 'MiB');
    const k = (x) => Math.round(x / 102.4) / 10;
    console.log(`VmHWM ${k(rep.hwmKb)} MiB; after GC: anon ${k(rep.rollup.anon)}, file ${k(rep.rollup.file)} MiB`);
    console.log(
      'smaps after GC by mapping (MiB, ≥ 0.5)',
      Object.entries(rep.smaps)
        .filter(([, v]) => v >= 512)
        .sort((x, y) => y[1] - x[1])
        .map(([n, v]) => `${n} ${k(v)}`)
        .join(', '),
    );
    console.log(
      `new_space ${MiB(rep.newSpace)} MiB; collections since start:`,
      Object.entries(rep.gcs)
        .map(([kind, g]) => `${kind} ${g.count} (${Math.round(g.ms)} ms)`)
        .join(', '),
    );
    console.log('heap spaces after GC (MiB)', rep.spaces.map(([n, s]) => `${n} ${MiB(s)}`).join(', '));
  } finally {
    if (child) {
      child.send({ cmd: 'stop' });
      await new Promise((r) => child.once('exit', r));
    }
    await broker.purge?.('celery').catch(() => {});
    await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await celeriac.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
