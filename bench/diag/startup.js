'use strict';
/**
 * Spawn → first task running, the built Celeriac beside BullMQ, alternating in the same minutes
 * (issue 21, session 5). Each round, for each variant: wipe, preload N no-ops in bulk, spawn the
 * worker, wait for its BENCH_FIRST, stop it. Prints each round and the medians.
 *
 *   node bench/diag/startup.js [rounds] [tasks] [name=checkout ...]
 *
 * Each name=checkout is a built copy of Celeriac from that checkout (default: this one), so two
 * checkouts alternate (A/B). Each worker also reports its CPU time up to its first task
 * (startup-cpu.js, preloaded): the figure that holds on a shared machine. BENCH_STARTUP_NODE_OPTIONS
 * adds to every worker's NODE_OPTIONS (e.g. `-r /path/trace.js`); a worker's stderr line
 * `TRACE {json}` is collected. Set BENCH_NS.
 */
const { join } = require('node:path');
const { makeEnv } = require('../lib/env');
const systems = require('../systems');
const { installDist } = require('../systems/celeriac/dist');

const ROOT = join(__dirname, '..', '..');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const [rounds = 5, tasks = 200] = process.argv.slice(2, 4).map(Number);
  const specs = process.argv.slice(4).map((a) => a.split('='));
  if (specs.length === 0) specs.push(['celeriac', ROOT]);
  const env = await makeEnv({ childTimeoutMs: 120_000 });
  const base = systems.all.find((s) => s.name === 'celeriac-dist');
  const bullmq = systems.all.find((s) => s.name === 'bullmq');
  const variants = [];
  try {
    for (const [name, root] of specs) {
      const v = Object.create(base);
      v.label = name;
      v.dist = installDist(root, `-${process.env.BENCH_NS ?? 'x'}-${name}`);
      variants.push(v);
    }
    // The schema is migrated once, by the first copy.
    await base.setup.call(Object.assign(Object.create(base), {}), env);
    bullmq.label = 'bullmq';
    variants.push(bullmq);
    const out = new Map(variants.map((v) => [v.label, []]));
    for (let r = 1; r <= rounds; r++) {
      for (const v of variants) {
        await v.reset(env);
        await v.sender(env, `startup-${v.label}`, 'bulk', tasks).result(120_000);
        const saved = process.env.NODE_OPTIONS;
        process.env.NODE_OPTIONS = `-r ${join(__dirname, 'startup-cpu.js')} ${process.env.BENCH_STARTUP_NODE_OPTIONS ?? ''}`;
        const w = v.worker(env, `startup-${v.label}`);
        if (saved === undefined) delete process.env.NODE_OPTIONS;
        else process.env.NODE_OPTIONS = saved;
        let trace;
        const origOnLine = w.onLine.bind(w);
        w.onLine = (stream, line) => {
          if (line.startsWith('TRACE ')) trace = JSON.parse(line.slice(6));
          origOnLine(stream, line);
        };
        try {
          const t0 = await w.waitFor('T0', 60_000);
          const first = await w.waitFor('FIRST', 60_000);
          const cpu = Number((await w.waitFor('FIRSTCPU', 60_000)).payload);
          const row = { load: t0.at - w.spawnedAt, first: first.at - w.spawnedAt, cpu, trace };
          out.get(v.label).push(row);
          console.log(
            `round ${r} ${v.label}: T0 ${row.load} ms, first task ${row.first} ms after spawn, CPU ${row.cpu} ms` +
              (trace ? ` ${JSON.stringify(trace.marks)}` : ''),
          );
        } finally {
          await w.stop();
        }
      }
    }
    for (const [label, rows] of out)
      console.log(
        `${label}: median T0 ${median(rows.map((x) => x.load))} ms, first task ${median(rows.map((x) => x.first))} ms (${rows.map((x) => x.first).join(' ')}), CPU to it ${median(rows.map((x) => x.cpu))} ms (${rows.map((x) => x.cpu).join(' ')})`,
      );
    if (process.env.BENCH_STARTUP_JSON)
      require('node:fs').writeFileSync(process.env.BENCH_STARTUP_JSON, JSON.stringify([...out]));
  } finally {
    await base.teardown.call(variants[0] ?? base, env).catch(() => {});
    await bullmq.teardown(env).catch(() => {});
    await env.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
