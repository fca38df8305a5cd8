'use strict';
/**
 * W3 for Celery 5 (bench/workloads/w3.js): django-celery-beat's DatabaseScheduler
 * (`celery -A beatapp beat -S django_celery_beat.schedulers:DatabaseScheduler`) with its tables in
 * the benchmark's Postgres (beatsettings.py: schema bench_celery via search_path; `django migrate`
 * makes them), rows written in bulk with SQL as for Celeriac, and a prefork worker (-c 2).
 * django-celery-beat does not tell a run which slot it is for, so the records carry no slot and
 * the harness assigns a schedule's runs to its slots in order. last_run_at is set so the first
 * slot is the planned one: for crontab the insert time (next match after it), for intervals
 * start_time − period (due at start_time).
 */
const { Child } = require('../../lib/proc');
const { NS, DATABASE_URL, REDIS_HOST, REDIS_PORT } = require('../ns');

const S = `"${NS.celery.schema}"`;
const cwd = __dirname;
const PYTHON = '/usr/bin/python3';
const childEnv = (name) => ({
  PYTHONUNBUFFERED: '1',
  PYTHONDONTWRITEBYTECODE: '1',
  BENCH_BROKER_URL: `redis://${REDIS_HOST}:${REDIS_PORT}/${NS.celery.redisDb}`,
  BENCH_KEYPREFIX: NS.celery.keyPrefix,
  BENCH_RESULT_URL: 'db+' + DATABASE_URL.replace(/^postgres:/, 'postgresql:'),
  BENCH_SCHEMA: NS.celery.schema,
  BENCH_DATABASE_URL: DATABASE_URL,
  BENCH_EXEC_URL: `redis://${REDIS_HOST}:${REDIS_PORT}/${NS.exec.redisDb}`,
  BENCH_EXEC_KEY: NS.exec.keyPrefix + name + ':',
  BENCH_ACKS_LATE: '1',
});

module.exports = {
  kinds: ['burst', 'spread'],
  maxN: 100_000,
  maxNWhy: 'django-celery-beat already falls behind at 100,000 (888 of 200,000 sent in the last full run)',
  leadMs: (plan) => 20_000 + plan.n * 0.5,
  slotsInOrder: true,
  describe:
    'django-celery-beat 2.4 DatabaseScheduler (one `celery beat` process, Django ORM on Postgres); worker `-P prefork -c 2`; rows inserted with SQL',
  async reset(env, plan) {
    const sysName = plan.sysName;
    await env.pg.query(`CREATE SCHEMA IF NOT EXISTS ${S}`);
    const c = new Child(
      `${sysName}-w3-migrate`,
      PYTHON,
      ['-m', 'django', 'migrate', '--settings', 'beatsettings', '-v', '0'],
      { cwd, env: childEnv(sysName), timeoutMs: 120_000 },
    );
    const { code } = await c.exited;
    if (code !== 0) throw new Error(`django migrate failed${c.tailText()}`);
    await env.pg.query(`DELETE FROM ${S}.django_celery_beat_periodictask`);
    await env.pg.query(`DELETE FROM ${S}.django_celery_beat_crontabschedule`);
    await env.pg.query(`DELETE FROM ${S}.django_celery_beat_intervalschedule`);
  },
  async setup(env, plan) {
    const cols = `name, task, args, kwargs, enabled, total_run_count, date_changed, description, one_off, headers`;
    const vals = `'w3-' || g, 'bench.beat', '[' || g || ']', '{}', true, 0, now(), '', false, '{}'`;
    if (plan.kind === 'burst') {
      const d = new Date(plan.dueMs);
      await env.pg.query(
        `WITH c AS (INSERT INTO ${S}.django_celery_beat_crontabschedule (minute, hour, day_of_week, day_of_month, month_of_year, timezone)
                    VALUES ($1, $2, '*', '*', '*', 'UTC') RETURNING id)
         INSERT INTO ${S}.django_celery_beat_periodictask (${cols}, crontab_id, last_run_at)
         SELECT ${vals}, c.id, now() FROM c, generate_series(0, $3 - 1) g`,
        [String(d.getUTCMinutes()), String(d.getUTCHours()), plan.n],
      );
    } else {
      await env.pg.query(
        `WITH i AS (INSERT INTO ${S}.django_celery_beat_intervalschedule (every, period) VALUES ($1, 'seconds') RETURNING id),
              r AS (SELECT g, to_timestamp(($2::bigint + floor(g::float8 * $3 / $4))::float8 / 1000) AS st FROM generate_series(0, $4 - 1) g)
         INSERT INTO ${S}.django_celery_beat_periodictask (${cols}, interval_id, start_time, last_run_at)
         SELECT ${vals}, i.id, r.st, r.st - make_interval(secs => $1) FROM i, r`,
        [plan.periodMs / 1000, plan.t0Ms, plan.periodMs, plan.n],
      );
    }
    await env.pg.query(
      `INSERT INTO ${S}.django_celery_beat_periodictasks (ident, last_update) VALUES (1, now()) ON CONFLICT (ident) DO UPDATE SET last_update = now()`,
    );
  },
  start(env, tag, plan) {
    const e = childEnv(plan.sysName);
    const beat = new Child(
      `${tag}-beat`,
      PYTHON,
      [
        '-m',
        'celery',
        '-A',
        'beatapp',
        'beat',
        '-S',
        'django_celery_beat.schedulers:DatabaseScheduler',
        '-l',
        'WARNING',
        '--pidfile=',
      ],
      {
        cwd,
        env: { ...e, BENCH_ROLE: 'beat' },
        timeoutMs: plan.timeoutMs,
      },
    );
    const args = [
      '-m',
      'celery',
      '-A',
      'beatapp',
      'worker',
      '-P',
      'prefork',
      '-c',
      '2',
      '-Q',
      'bench',
      '-l',
      'WARNING',
      '--without-gossip',
      '--without-mingle',
      '--without-heartbeat',
      '-n',
      'bench-w3@%h',
    ];
    const worker = new Child(`${tag}-worker`, PYTHON, args, {
      cwd,
      env: { ...e, BENCH_ROLE: 'worker' },
      timeoutMs: plan.timeoutMs,
    });
    return { beat, worker };
  },
};
