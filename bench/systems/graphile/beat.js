'use strict';
/** W3 for graphile-worker (bench/workloads/w3.js): a crontab inside the runner (beat-child.js); burst shape only. */
const { join } = require('node:path');
const { Child } = require('../../lib/proc');
const { NS } = require('../ns');

module.exports = {
  kinds: ['burst'],
  notApplicable: "graphile-worker's crontab has minute resolution and no interval schedules",
  leadMs: () => 15_000,
  describe:
    "crontab (`parsedCronItems`, no backfill) inside the runner (`concurrency: 24`, unbatched); send = the job row's created_at",
  async reset(env) {
    await env.pg.query(
      `DO $$ BEGIN IF to_regclass('"${NS.graphile.schema}"._private_known_crontabs') IS NOT NULL THEN DELETE FROM "${NS.graphile.schema}"._private_known_crontabs; END IF; END $$`,
    );
  },
  async setup() {},
  start(env, tag, plan) {
    const worker = new Child(`${tag}-worker`, process.execPath, [join(__dirname, 'beat-child.js')], {
      cwd: join(__dirname, '..', '..'),
      env: { BENCH_GRAPHILE_BATCHED: '0', BENCH_W3_PLAN: JSON.stringify(plan) },
      timeoutMs: plan.timeoutMs,
    });
    return { beat: null, worker };
  },
};
