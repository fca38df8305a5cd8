'use strict';
/**
 * What the task context costs a run: executeTask of a no-op task (no middleware, body reads
 * nothing off ctx), in rounds of N runs, CPU ms per 1,000 runs (process.cpuUsage, user + system)
 * of each round, after a warm-up round. The measure ANALYSIS.md's "Worker CPU per task" used.
 *
 *   node bench/diag/context-cost.js [--src DIR] [--runs 200000] [--rounds 7]
 *
 * --src points at another copy of src/ (e.g. `git archive main src | tar -x -C .before`, below
 * this worktree so node_modules resolve) to measure before and after alternately in one sitting.
 * Prints one JSON line: each round's figure and the median. Loads no service, takes no lock.
 */
process.env.CELERIAC_FROM_SOURCE = '1';
require('../../bin/register-ts').register();
const { resolve } = require('node:path');

const o = { src: resolve(__dirname, '../../src'), runs: 200_000, rounds: 7 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--src') o.src = resolve(process.argv[++i]);
  else if (a === '--runs') o.runs = Number(process.argv[++i]);
  else if (a === '--rounds') o.rounds = Number(process.argv[++i]);
  else throw new Error(`unknown flag ${a}: --src DIR, --runs N, --rounds K`);
}

const { executeTask } = require(`${o.src}/worker/execute`);
const { LazyAbort } = require(`${o.src}/worker/lazy-abort`);
const { decodeTask, encodeTask } = require(`${o.src}/broker/message`);
const { outgoingTask } = require('../../test/outgoing');

const msg = decodeTask(encodeTask(outgoingTask({ id: 'c0ffee', task: 'noop', args: [1], queue: 'celery' })));
// The body keeps the context where the optimiser cannot see it unused (a real body is opaque to it
// too), so the context's allocations are not optimised away.
const sink = [];
const task = { run: (ctx) => void (sink[0] = ctx), options: { autoretryFor: [] } };
const hooks = { hostname: 'h@diag', updateState: async () => {}, abort: undefined };

async function round() {
  const t = process.cpuUsage();
  for (let i = 0; i < o.runs; i++) {
    hooks.abort = new LazyAbort(); // one a run, as the pools make them
    await executeTask(task, msg, hooks);
  }
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000 / (o.runs / 1000);
}

(async () => {
  await round();
  const msPer1k = [];
  for (let r = 0; r < o.rounds; r++) msPer1k.push(Number((await round()).toFixed(3)));
  const median = [...msPer1k].sort((a, b) => a - b)[Math.floor(msPer1k.length / 2)];
  console.log(JSON.stringify({ src: o.src, runs: o.runs, msPer1k, median }));
})();
