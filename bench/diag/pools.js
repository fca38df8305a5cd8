#!/usr/bin/env node
'use strict';
/**
 * Issue 19's figures, small and on their own (not part of `npm run bench`'s peers comparison):
 *
 *   node bench/diag/pools.js [tasks] [runs]
 *
 * 1. The processes pool beside the threads pool on a CPU-bound task: a real worker (the CLI,
 *    -c 2) drains `tasks` fib(27) tasks; tasks/s from the first send to the last SUCCESS row.
 * 2. msgpack beside JSON: encode+decode of one task message in process (small and ~10 KiB
 *    bodies), then a real worker (async pool, -c 50) draining `tasks × 5` messages with a ~1 KiB
 *    body under each serializer.
 * Runs interleave (threads, processes, threads, …) so drift hits both alike; medians are printed.
 */
const { spawn } = require('node:child_process');
const { join } = require('node:path');
const { runOnScratchSchema } = require('./scratch');
const { Celeriac } = require('../../src');
const { encodeTask, decodeTask } = require('../../src/broker/message');
const { DATABASE_URL } = require('../systems/ns');
const { outgoingTask } = require('../../test/outgoing');
const { randomUUID } = require('node:crypto');

const ROOT = join(__dirname, '..', '..');
const SCHEMA = 'bench_pools';
const PREFIX = 'bench:pools:';
const N = Number(process.argv[2] ?? 200);
const RUNS = Number(process.argv[3] ?? 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function startWorker(args) {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'celeriac.js'), 'worker', '--app', join(__dirname, 'pools-app', 'app.ts'), ...args],
    {
      cwd: ROOT,
      env: { ...process.env, CELERIAC_FROM_SOURCE: '1', DATABASE_URL, BENCH_SCHEMA: SCHEMA, BENCH_PREFIX: PREFIX },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  // The app logs warnings only (a line per task would cost the worker as much as the work), so
  // readiness is the worker answering a ping.
  const ready = async (app) => {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`worker exited:\n${out}`);
      const replies = await app.control.ping({ timeoutMs: 500 });
      if (Object.keys(replies).length > 0) return;
    }
  };
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
  return { ready, stop };
}

/** Sends every call, then waits for every result: tasks per second over the whole drain. */
async function drain(app, calls, options = {}) {
  const started = performance.now();
  const sent = await Promise.all(
    calls.map(([name, args]) => app.sendTask(name, args, {}, { queue: 'pb', ...options })),
  );
  await Promise.all(sent.map((r) => r.get({ timeout: 300 })));
  return calls.length / ((performance.now() - started) / 1000);
}

async function pools(app) {
  const perPool = { threads: [], processes: [] };
  for (let run = 0; run < RUNS; run++) {
    for (const pool of ['threads', 'processes']) {
      const worker = startWorker(['--pool', pool, '-c', '2', '-Q', 'pb']);
      await worker.ready(app);
      await drain(
        app,
        Array.from({ length: 4 }, () => ['bench.fib', [27]]),
      ); // warm every child
      perPool[pool].push(
        await drain(
          app,
          Array.from({ length: N }, () => ['bench.fib', [27]]),
        ),
      );
      await worker.stop();
    }
  }
  return perPool;
}

function codecMicro() {
  const out = {};
  for (const [label, payload] of [
    ['small', { user: 42, email: 'a@example.com', flags: [true, false] }],
    [
      '10 KiB',
      { rows: Array.from({ length: 100 }, (_, i) => ({ id: i, name: `row ${i}`, score: i * 1.5, tags: ['a', 'b'] })) },
    ],
  ]) {
    for (const serializer of ['json', 'msgpack']) {
      const t = outgoingTask({ id: randomUUID(), task: 'bench.echo', args: [payload], queue: 'pb', serializer });
      const iterations = 20_000;
      for (let i = 0; i < 2000; i++) decodeTask(encodeTask(t)); // warm the JIT
      const started = performance.now();
      let bytes = 0;
      for (let i = 0; i < iterations; i++) bytes = decodeTask(encodeTask(t)).raw.length;
      const us = ((performance.now() - started) * 1000) / iterations;
      out[`${label} ${serializer}`] = { usPerMessage: Number(us.toFixed(2)), envelopeBytes: bytes };
    }
  }
  return out;
}

async function serializers(app) {
  const body = {
    rows: Array.from({ length: 10 }, (_, i) => ({ id: i, name: `row ${i}`, score: i * 1.5, tags: ['a', 'b'] })),
  };
  const per = { json: [], msgpack: [] };
  const worker = startWorker(['--pool', 'async', '-c', '50', '-Q', 'pb']);
  await worker.ready(app);
  await drain(
    app,
    Array.from({ length: 200 }, () => ['bench.echo', [body]]),
  );
  for (let run = 0; run < RUNS; run++)
    for (const serializer of ['json', 'msgpack'])
      per[serializer].push(
        await drain(
          app,
          Array.from({ length: N * 5 }, () => ['bench.echo', [body]]),
          { serializer },
        ),
      );
  await worker.stop();
  return per;
}

runOnScratchSchema(SCHEMA, async () => {
  const app = new Celeriac({
    databaseUrl: DATABASE_URL,
    schema: SCHEMA,
    keyPrefix: PREFIX,
    apps: [join(__dirname, 'pools-app')],
    logger: { log() {} },
  });
  try {
    const perPool = await pools(app);
    const perSerializer = await serializers(app);
    const report = {
      settings: {
        tasks: N,
        runs: RUNS,
        cpuTask: 'fib(27)',
        poolConcurrency: 2,
        serializerDrain: { tasks: N * 5, pool: 'async', concurrency: 50, bodyBytes: '~1 KiB' },
      },
      cpuBound: Object.fromEntries(
        Object.entries(perPool).map(([k, v]) => [
          k,
          { medianTasksPerSec: Math.round(median(v)), runs: v.map(Math.round) },
        ]),
      ),
      processesOverThreads: Number((median(perPool.processes) / median(perPool.threads)).toFixed(2)),
      codec: codecMicro(),
      drain: Object.fromEntries(
        Object.entries(perSerializer).map(([k, v]) => [
          k,
          { medianTasksPerSec: Math.round(median(v)), runs: v.map(Math.round) },
        ]),
      ),
      msgpackOverJson: Number((median(perSerializer.msgpack) / median(perSerializer.json)).toFixed(2)),
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    const redis = new (require('ioredis'))();
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await app.close();
  }
});
