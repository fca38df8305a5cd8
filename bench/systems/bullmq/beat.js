'use strict';
/**
 * W3 for BullMQ (bench/workloads/w3.js): job schedulers (`queue.upsertJobScheduler`), run by the
 * worker process itself (beat-child.js). A run's send is the `waiting` event of its job in the
 * queue's event stream (an XADD stamped by Redis when the delayed job was promoted, or added
 * runnable): poll() reads the stream as the run goes and trims what it has read, so 100,000
 * schedulers a minute do not pile up events.
 */
const { join } = require('node:path');
const { Child } = require('../../lib/proc');
const { NS } = require('../ns');

const ns = NS.bullmq;
const EVENTS = `${ns.prefix}:${ns.queue}:events`;

module.exports = {
  kinds: ['burst', 'spread'],
  maxN: 100_000,
  maxNWhy:
    'not tried (optional in issue 21): its scheduler is its worker, which would have to run 16,700 jobs a second beside Redis on this 2-core machine',
  leadMs: (plan) => 15_000 + plan.n * 0.3,
  describe:
    "job schedulers inside the worker (`concurrency: 50`), upserted 500 at a time; send = the job's `waiting` event (Redis stream id)",
  async reset(env) {
    await env.deleteKeys(ns.redisDb, ns.keyPrefix);
  },
  async setup(env, plan) {
    const c = new Child(`${plan.tag}-setup`, process.execPath, [join(__dirname, 'beat-child.js'), 'setup'], {
      cwd: join(__dirname, '..', '..'),
      env: { BENCH_W3_PLAN: JSON.stringify(plan) },
      timeoutMs: 300_000,
    });
    await c.result(300_000);
  },
  start(env, tag, plan) {
    const worker = new Child(`${tag}-worker`, process.execPath, [join(__dirname, 'beat-child.js'), 'worker'], {
      cwd: join(__dirname, '..', '..'),
      timeoutMs: plan.timeoutMs,
    });
    return { beat: null, worker };
  },
  /** Appends `i|due|sent|jobId` for every scheduler job that became runnable since the last call. */
  async poll(env, state) {
    const r = env.redis(ns.redisDb);
    state.lastId ??= '0-0';
    for (;;) {
      const entries = await r.xrange(EVENTS, `(${state.lastId}`, '+', 'COUNT', 20_000);
      if (entries.length === 0) return;
      for (const [id, fields] of entries) {
        state.lastId = id;
        const f = {};
        for (let k = 0; k < fields.length; k += 2) f[fields[k]] = fields[k + 1];
        if (f.event !== 'waiting' || !f.jobId?.startsWith('repeat:w3-')) continue;
        const [, sched, due] = f.jobId.split(':');
        state.sent.push(`${sched.slice(3)}|${due}|${id.split('-')[0]}|${f.jobId}`);
      }
      await r.xtrim(EVENTS, 'MINID', state.lastId);
    }
  },
};
