'use strict';
/**
 * graphile-worker sender: `node sender.js <mode> <n>`; prints `BENCH_RESULT {json}`.
 *   migrate  install the schema (before anything is sent)
 *   single   n workerUtils.addJob calls, each awaited
 *   bulk     workerUtils.addJobs in chunks of 1,000 (one add_jobs call each)
 *   latency  n round trips: addJob, then poll every 1 ms until the job row is gone (graphile-worker
 *            deletes a job when it completes and records no result: that deletion is its "result")
 *   w4       n 'sleep' jobs of 50 ms (addJobs)
 */
const { runChild, senderArgs } = require('../../lib/child');
const { makeWorkerUtils, runMigrations } = require('graphile-worker');
const { Client } = require('pg');
const { options, logger, schema, DATABASE_URL } = require('./common');

const BULK = 1000;

async function main() {
  const { mode, n, warmups } = senderArgs();
  if (mode === 'migrate') {
    await runMigrations({ ...options, logger });
    return {};
  }
  const utils = await makeWorkerUtils({ connectionString: options.connectionString, schema, logger });
  await utils.migrate();
  const out = { mode, n };
  const t0 = performance.now();
  if (mode === 'single') {
    for (let i = 0; i < n; i++) await utils.addJob('noop', {});
  } else if (mode === 'bulk' || mode === 'w4') {
    for (let i = 0; i < n; i += BULK) {
      const specs = [];
      for (let j = i; j < Math.min(n, i + BULK); j++) {
        specs.push(
          mode === 'w4'
            ? { identifier: 'sleep', payload: { id: `w4-${String(j).padStart(5, '0')}`, ms: 50 } }
            : { identifier: 'noop', payload: {} },
        );
      }
      await utils.addJobs(specs);
    }
  } else if (mode === 'latency') {
    const pg = new Client({ connectionString: DATABASE_URL });
    await pg.connect();
    const lat = [];
    for (let i = 0; i < n + warmups; i++) {
      const s = performance.now();
      const job = await utils.addJob('noop', {});
      for (;;) {
        const { rowCount } = await pg.query({
          name: 'exists',
          text: `SELECT 1 FROM "${schema}"._private_jobs WHERE id = $1`,
          values: [job.id],
        });
        if (rowCount === 0) break;
        if (performance.now() - s > 10_000) throw new Error(`job ${job.id} not done within 10 s`);
        await new Promise((r) => setTimeout(r, 1));
      }
      if (i >= warmups) lat.push(performance.now() - s);
    }
    out.latencies = lat;
    await pg.end();
  } else throw new Error(`unknown mode ${mode}`);
  out.ms = performance.now() - t0;
  await utils.release();
  return out;
}

runChild(main);
