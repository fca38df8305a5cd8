'use strict';
/** BullMQ worker: concurrency 50 (issue 8), default lock 30 s / stalled check 30 s, completed jobs kept. */
const { Worker } = require('bullmq');
const { ns, connection, CONCURRENCY, execRedis, execKey } = require('./common');

let exec;
let firstRun = true;
async function processor(job) {
  // W1's start-up figure: spawn → first task running.
  if (firstRun) {
    firstRun = false;
    process.stdout.write('BENCH_FIRST\n');
  }
  if (job.name === 'sleep') {
    exec ??= execRedis();
    await exec.rpush(execKey + 'start', job.data.id);
    await new Promise((r) => setTimeout(r, job.data.ms));
    await exec.rpush(execKey + 'end', job.data.id);
  }
  // W5 (flow.js): the parent of a flow, run once all its children completed; reads their values.
  if (job.name === 'collect') return Object.keys(await job.getChildrenValues()).length;
  return null;
}

process.stdout.write(`BENCH_T0 ${Date.now()}\n`);
const worker = new Worker(ns.queue, processor, { connection, prefix: ns.prefix, concurrency: CONCURRENCY });
worker.on('error', (err) => console.error('worker error', err.message));
worker.on('ready', () => process.stdout.write('BENCH_READY\n'));

let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, async () => {
    if (stopping) process.exit(1);
    stopping = true;
    await worker.close();
    process.exit(0);
  });
}
