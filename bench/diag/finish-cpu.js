'use strict';
/**
 * The worker's own CPU per task on its finish path, apart from Redis and the machine's load swings:
 *
 *   node bench/diag/finish-cpu.js [src=../../src] [tasks=20000] [results=1]
 *
 * One process: an app on the memory broker (no Redis: what is measured is the worker's own work),
 * `tasks` no-ops preloaded with sendMany, then a `-c 50` async worker started in the same process
 * and timed, process CPU from `worker.start()` to the last `task-finished`. results=1 writes every
 * result to Postgres (BENCH_DATABASE_URL, a scratch schema dropped after); results=0 sends the
 * tasks with ignoreResult. COUNT_PROMISES=1 adds the promises made per task (exact, load-independent). `src` points at another checkout's src/ so two trees can be run
 * alternately in the same minutes (issue 21 session 6: the finish path's callbacks contained).
 */
require('../../bin/register-ts').register();
const { resolve } = require('node:path');
const { Client } = require('pg');

const src = resolve(__dirname, process.argv[2] ?? '../../src');
const total = Number(process.argv[3] ?? 20000);
const results = (process.argv[4] ?? '1') === '1';
const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const { Celeriac, task } = require(`${src}/index`);

(async () => {
  const tag = `${process.env.BENCH_NS ?? 'diag'}_${process.pid}`;
  const schema = `bench_drain_${tag}`;
  const app = new Celeriac({
    brokerUrl: `memory://${tag}`,
    databaseUrl,
    schema,
    keyPrefix: `bench:${tag}:`,
    logger: { log() {} },
  });
  await app.migrate();
  task('diag.noop', () => null, { ignoreResult: !results });
  const items = Array.from({ length: total }, (_, i) => ({ name: 'diag.noop', args: [i] }));
  for (let i = 0; i < items.length; i += 1000) await app.sendMany(items.slice(i, i + 1000));
  await app.resultBackend.flush?.();
  const worker = app.worker({ name: 'drain@diag', concurrency: 50 });
  let left = total;
  const done = new Promise((r) => worker.on('task-finished', () => --left === 0 && r()));
  // COUNT_PROMISES=1: promises made during the drain, per task (exact, unlike CPU; slows the run).
  let promises = 0;
  const hook =
    process.env.COUNT_PROMISES === '1'
      ? require('node:async_hooks')
          .createHook({ init: (_id, type) => void (type === 'PROMISE' && promises++) })
          .enable()
      : undefined;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await worker.start();
  await done;
  const u = process.cpuUsage(cpu);
  const wallMs = performance.now() - t0;
  hook?.disable();
  console.log(
    JSON.stringify({
      src,
      tasks: total,
      results,
      cpuMsPer1k: +(((u.user + u.system) / 1000 / total) * 1000).toFixed(1),
      wallMs: Math.round(wallMs),
      ...(hook ? { promisesPerTask: +(promises / total).toFixed(2) } : {}),
    }),
  );
  await worker.stop();
  await app.close();
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pg.end();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
