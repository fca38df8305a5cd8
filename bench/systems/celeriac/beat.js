'use strict';
/**
 * W3 for Celeriac (bench/workloads/w3.js): schedules as rows in its beat tables, written in bulk
 * with SQL (100,000 rows through PeriodicTaskService would time the service, not beat); the insert
 * trigger marks every row stale, so the beat plans each one itself at start, as it would rows an
 * admin added. Then the real CLI: `celeriac beat --app app.ts` and `celeriac worker`.
 */
const { join } = require('node:path');
const { Child } = require('../../lib/proc');
const { NS } = require('../ns');

const ROOT = join(__dirname, '..', '..', '..');
const APP = join(__dirname, 'app.ts');
const S = `"${NS.celeriac.schema}"`;
const env0 = { CELERIAC_FROM_SOURCE: '1' };
/** From this many schedules on, ./drain.js stands in for the worker (it says why). */
const DRAIN_FROM = 1_000_000;

module.exports = {
  kinds: ['burst', 'spread'],
  // Set-up (rows inserted) and start-up (every row planned) before the first slot; at a million
  // rows the insert takes ~20 s and the planning ~20-50 s on this machine.
  leadMs: (plan) => 15_000 + plan.n * 0.1,
  describe:
    'beat: `celeriac beat` (one process); worker: `celeriac worker -c 50` (from 1,000,000 schedules: drain.js, which pops the queue and records each message as started); rows inserted with SQL, planned by the beat at start',
  async reset(env) {
    // TRUNCATE, not DELETE: a million rows' DELETE (and its dead tuples) would take longer than the run.
    await env.pg.query(
      `TRUNCATE ${S}.celeriac_periodic_task, ${S}.celeriac_beat_outbox, ${S}.celeriac_crontab_schedule,
                ${S}.celeriac_interval_schedule, ${S}.celeriac_beat_instance`,
    );
  },
  async setup(env, plan) {
    if (plan.kind === 'burst') {
      const d = new Date(plan.dueMs);
      await env.pg.query(
        `WITH c AS (INSERT INTO ${S}.celeriac_crontab_schedule (minute, hour, day_of_week, day_of_month, month_of_year, timezone)
                    VALUES ($1, $2, '*', '*', '*', 'UTC') RETURNING id)
         INSERT INTO ${S}.celeriac_periodic_task (name, task, crontab_id, args)
         SELECT 'w3-' || g, 'bench.beat', c.id, jsonb_build_array(g) FROM c, generate_series(0, $3 - 1) g`,
        [String(d.getUTCMinutes()), String(d.getUTCHours()), plan.n],
      );
    } else {
      await env.pg.query(
        `WITH i AS (INSERT INTO ${S}.celeriac_interval_schedule (every, period) VALUES ($1, 'seconds') RETURNING id)
         INSERT INTO ${S}.celeriac_periodic_task (name, task, interval_id, args, start_time)
         SELECT 'w3-' || g, 'bench.beat', i.id, jsonb_build_array(g), to_timestamp(($2::bigint + floor(g::float8 * $3 / $4))::float8 / 1000)
           FROM i, generate_series(0, $4 - 1) g`,
        [plan.periodMs / 1000, plan.t0Ms, plan.periodMs, plan.n],
      );
    }
  },
  /** Every row has its next run (the first tick after start plans the stale ones). */
  async planned(env) {
    const { rows } = await env.pg.query(
      `SELECT count(*)::int AS n FROM ${S}.celeriac_periodic_task WHERE next_run_stale`,
    );
    return rows[0].n === 0;
  },
  start(env, tag, plan) {
    const cli = join(ROOT, 'bin', 'celeriac.js');
    const beat = new Child(`${tag}-beat`, process.execPath, [cli, 'beat', '--app', APP], {
      cwd: ROOT,
      env: { ...env0, BENCH_ROLE: 'beat' },
      timeoutMs: plan.timeoutMs,
    });
    const worker =
      plan.n >= DRAIN_FROM
        ? new Child(`${tag}-drain`, process.execPath, [join(__dirname, 'drain.js')], {
            cwd: ROOT,
            timeoutMs: plan.timeoutMs,
          })
        : new Child(`${tag}-worker`, process.execPath, [cli, 'worker', '--app', APP, '-c', '50'], {
            cwd: ROOT,
            env: { ...env0, BENCH_ROLE: 'worker', BENCH_EXEC_AT_START: '1' },
            timeoutMs: plan.timeoutMs,
          });
    return { beat, worker };
  },
};
