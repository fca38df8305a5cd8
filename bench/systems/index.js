'use strict';
/**
 * One adapter per system under test. Each says how to start its worker and its sender (always
 * separate processes), how many results are visible in its store, how to wipe its state between
 * runs, and the settings the report prints next to its figures.
 */
const { join } = require('node:path');
const { Child } = require('../lib/proc');
const { NS, DATABASE_URL, REDIS_HOST, REDIS_PORT } = require('./ns');

const ROOT = join(__dirname, '..', '..');
const HERE = __dirname;
const PYTHON = '/usr/bin/python3'; // Debian's, with python3-celery; `python3` on PATH may be another one.

const celeriacEnv = { CELERIAC_FROM_SOURCE: '1' };

/**
 * RabbitMQ rows: the same worker and sender beside the same Celery, on the shared RabbitMQ, each
 * system in a vhost of its own (made at setup with rabbitmqctl, deleted at teardown), its queues
 * purged between runs.
 */
const amqpUrl = (vhost) => `${NS.amqp.url}/${vhost}`;
async function rabbitmqctl(...args) {
  const { execFile } = require('node:child_process');
  await new Promise((resolve, reject) =>
    execFile('rabbitmqctl', ['-q', ...args], { timeout: 120_000 }, (err) => (err ? reject(err) : resolve())),
  );
}
async function makeVhost(vhost) {
  await rabbitmqctl('add_vhost', vhost).catch(() => {}); // already there from an earlier run
  await rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
}
async function purgeQueues(vhost, queues) {
  const amqp = require('amqplib');
  const conn = await amqp.connect(amqpUrl(vhost));
  conn.on('error', () => {});
  try {
    for (const q of queues) {
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      await ch.purgeQueue(q).catch(() => {}); // not declared yet: nothing to purge (the channel closes)
    }
  } finally {
    await conn.close().catch(() => {});
  }
}

/** Celeriac on RabbitMQ: the Redis adapter with another broker URL, vhost and W4 key. */
function celeriacOnRabbit(base) {
  const vhost = NS.amqp.celeriacVhost;
  return {
    ...base,
    childEnv: { ...celeriacEnv, BENCH_BROKER_URL: amqpUrl(vhost), BENCH_SYSTEM: 'celeriac-amqp' },
    name: 'celeriac-amqp',
    label: 'Celeriac (RabbitMQ)',
    family: 'celeriac',
    transport: 'amqp', // its own section of the report, beside Celery on the same broker
    workloads: ['w1', 'w2', 'w4'],
    settings:
      base.settings +
      '; broker RabbitMQ 3.10 (amqplib, publisher confirms, manual acks, basic.qos 250 global), chord/registry state in Postgres',
    w4WindowMs: 30_000,
    w4QuickWindowMs: 8_000,
    async setup(e) {
      await makeVhost(vhost);
      await base.setup(e);
    },
    async reset(e) {
      await e.pg.query(
        `TRUNCATE "${NS.celeriac.schema}".celeriac_task_result, "${NS.celeriac.schema}".celeriac_group_result`,
      );
      await purgeQueues(vhost, ['celery']);
    },
    async teardown(e) {
      await rabbitmqctl('delete_vhost', vhost).catch(() => {});
      await base.teardown(e);
    },
    execKey: NS.exec.keyPrefix + 'celeriac-amqp:',
    beat: undefined,
  };
}

const celeriac = {
  name: 'celeriac',
  label: 'Celeriac',
  family: 'celeriac',
  ratioRow: true, // a "÷ best peer" row under W1 and W2 (so do the built and RabbitMQ copies; not the variants)
  bulk: '`celeriac.sendMany`, 1,000 tasks per call (one Redis round trip each; their PENDING rows are written behind the sends, and their commit is timed apart)',
  settings:
    'async pool, `-c 50`, prefetch multiplier 4 (250 messages held), acksLate, lease 5 s, events on, PENDING recorded at send, ' +
    'results in Postgres (batched upserts); run from source (`CELERIAC_FROM_SOURCE=1`, @swc/core); W2 waits with `AsyncResult.get()`',
  w4WindowMs: 30_000,
  w4QuickWindowMs: 8_000, // lease 5 s + 1 s recovery check + margin
  async setup() {
    const c = new Child(
      'celeriac-migrate',
      process.execPath,
      [join(ROOT, 'bin', 'celeriac.js'), 'migrate', '--app', join(HERE, 'celeriac', 'app.ts')],
      {
        cwd: ROOT,
        env: celeriacEnv,
        timeoutMs: 60_000,
      },
    );
    const { code } = await c.exited;
    if (code !== 0) throw new Error(`celeriac migrate failed${c.tailText()}`);
  },
  async reset(env) {
    await env.pg.query(
      `TRUNCATE "${NS.celeriac.schema}".celeriac_task_result, "${NS.celeriac.schema}".celeriac_group_result`,
    );
    await env.deleteKeys(NS.celeriac.redisDb, NS.celeriac.keyPrefix);
  },
  async teardown(env) {
    await env.pg.query(`DROP SCHEMA IF EXISTS "${NS.celeriac.schema}" CASCADE`);
    await env.deleteKeys(NS.celeriac.redisDb, NS.celeriac.keyPrefix);
  },
  worker(env, tag, { profileDir } = {}) {
    const prof = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    // BENCH_CELERIAC_WORKER_ARGS: extra CLI flags for diagnostics (e.g. --prefetch-multiplier 20); the benchmark sets none.
    const extra = (process.env.BENCH_CELERIAC_WORKER_ARGS ?? '').split(' ').filter(Boolean);
    return new Child(
      `${tag}-worker`,
      process.execPath,
      [
        ...prof,
        join(ROOT, 'bin', 'celeriac.js'),
        'worker',
        '--app',
        join(HERE, 'celeriac', 'app.ts'),
        '-c',
        '50',
        ...extra,
      ],
      {
        cwd: ROOT,
        env: { ...(this.childEnv ?? celeriacEnv), BENCH_ROLE: 'worker' },
        timeoutMs: env.childTimeoutMs,
      },
    );
  },
  sender(env, tag, mode, n, warmups = 0) {
    return new Child(
      `${tag}-sender-${mode}`,
      process.execPath,
      [join(HERE, 'celeriac', 'sender.js'), mode, String(n), String(warmups)],
      {
        cwd: ROOT,
        env: this.childEnv ?? celeriacEnv,
        timeoutMs: env.childTimeoutMs,
      },
    );
  },
  async doneCount(env) {
    const { rows } = await env.pg.query({
      name: 'celeriac-done',
      text: `SELECT count(*)::int AS n FROM "${NS.celeriac.schema}".celeriac_task_result WHERE status = 'SUCCESS'`,
    });
    return rows[0].n;
  },
  execKey: NS.exec.keyPrefix + 'celeriac:',
  beat: require('./celeriac/beat'), // W3
};

const bullmq = {
  name: 'bullmq',
  label: 'BullMQ',
  family: 'bullmq',
  bulk: '`queue.addBulk`, 1,000 jobs per call',
  settings:
    '`concurrency: 50`, `removeOnComplete: false` and `removeOnFail: false` (every result kept in Redis), lockDuration 30 s and stalledInterval 30 s (defaults); ' +
    'W2 waits with `job.waitUntilFinished(queueEvents)`; msgpackr-extract (optional native addon) not built, as npm 11 holds back its install script: msgpackr uses its JS fallback',
  w4WindowMs: 90_000,
  async setup() {},
  async reset(env) {
    await env.deleteKeys(NS.bullmq.redisDb, NS.bullmq.keyPrefix);
  },
  async teardown(env) {
    await env.deleteKeys(NS.bullmq.redisDb, NS.bullmq.keyPrefix);
  },
  worker(env, tag) {
    return new Child(`${tag}-worker`, process.execPath, [join(HERE, 'bullmq', 'worker.js')], {
      cwd: HERE,
      timeoutMs: env.childTimeoutMs,
    });
  },
  sender(env, tag, mode, n, warmups = 0) {
    return new Child(
      `${tag}-sender-${mode}`,
      process.execPath,
      [join(HERE, 'bullmq', 'sender.js'), mode, String(n), String(warmups)],
      { cwd: HERE, timeoutMs: env.childTimeoutMs },
    );
  },
  async doneCount(env) {
    return env.redis(NS.bullmq.redisDb).zcard(`${NS.bullmq.prefix}:${NS.bullmq.queue}:completed`);
  },
  execKey: NS.exec.keyPrefix + 'bullmq:',
  beat: require('./bullmq/beat'), // W3
};

function graphile(batched) {
  const name = batched ? 'graphile-batched' : 'graphile';
  const schema = NS.graphile.schema;
  const childEnv = { BENCH_GRAPHILE_BATCHED: batched ? '1' : '0' };
  return {
    name,
    label: batched ? 'graphile-worker (batched)' : 'graphile-worker',
    family: 'graphile',
    bulk: '`workerUtils.addJobs` (one `add_jobs` call), 1,000 jobs per call',
    settings:
      "`concurrency: 24`, `maxPoolSize: 25` (graphile-worker's perfTest settings), " +
      (batched
        ? '`localQueue: { size: 500 }`, `completeJobBatchDelay: 0`, `failJobBatchDelay: 0`'
        : 'no local queue, unbatched completes (`localQueue.size` and batch delays at their default -1)') +
      '; a completed job is deleted and no result is stored (by design), so "result visible" means "job row gone"; ' +
      "W2 polls for that every 1 ms; crashed workers' jobs stay locked 4 h (default). 0.18.0 declares node >= 22.18; it ran here on node 20 without error",
    w4WindowMs: 30_000,
    async setup(env) {
      const c = this.sender(env, `${name}-setup`, 'migrate', 0);
      await c.result(60_000);
    },
    async reset(env) {
      await env.pg.query(`DELETE FROM "${schema}"._private_jobs`);
      await env.pg.query(`DELETE FROM "${schema}"._private_job_queues`);
    },
    async teardown(env) {
      await env.pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
    worker(env, tag) {
      return new Child(`${tag}-worker`, process.execPath, [join(HERE, 'graphile', 'worker.js')], {
        cwd: HERE,
        env: childEnv,
        timeoutMs: env.childTimeoutMs,
      });
    },
    sender(env, tag, mode, n, warmups = 0) {
      return new Child(
        `${tag}-sender-${mode}`,
        process.execPath,
        [join(HERE, 'graphile', 'sender.js'), mode, String(n), String(warmups)],
        {
          cwd: HERE,
          env: childEnv,
          timeoutMs: env.childTimeoutMs,
        },
      );
    },
    async doneCount(env, total) {
      const { rows } = await env.pg.query({
        name: 'graphile-left',
        text: `SELECT count(*)::int AS n FROM "${schema}"._private_jobs`,
      });
      return total - rows[0].n;
    },
    execKey: NS.exec.keyPrefix + name + ':',
    ...(batched ? {} : { beat: require('./graphile/beat') }), // W3: one crontab scheduler, measured once
  };
}

function celery(pool, transport = 'redis') {
  const onRabbit = transport === 'amqp';
  const name = `celery-${pool}${onRabbit ? '-amqp' : ''}`;
  const ns = NS.celery;
  const concurrency = pool === 'prefork' ? 2 : 8;
  const execKey = NS.exec.keyPrefix + name + ':';
  const childEnv = {
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    BENCH_BROKER_URL: onRabbit ? amqpUrl(NS.amqp.celeryVhost) : `redis://${REDIS_HOST}:${REDIS_PORT}/${ns.redisDb}`,
    BENCH_KEYPREFIX: ns.keyPrefix,
    BENCH_RESULT_URL: 'db+' + DATABASE_URL.replace(/^postgres:/, 'postgresql:'),
    BENCH_SCHEMA: ns.schema,
    BENCH_EXEC_URL: `redis://${REDIS_HOST}:${REDIS_PORT}/${NS.exec.redisDb}`,
    BENCH_EXEC_KEY: execKey,
    BENCH_ACKS_LATE: '1',
    // Celery 5.2's threads pool sends acks (and fetches more) only when its event loop next wakes
    // for network I/O (celery/celery#6941): with task_acks_late it stalled here on its prefetch
    // window (32 tasks, then seconds of nothing; 5 tasks/s). The workaround, a repeating
    // 0.1 s timer in the consumer, is applied to the threads pool (benchapp.py, worker_ready).
    BENCH_THREADS_WAKE: pool === 'threads' ? '0.1' : '0',
  };
  const cwd = join(HERE, 'celery');
  return {
    name,
    label: `Celery 5 (${pool}${onRabbit ? ', RabbitMQ' : ''})`,
    family: 'celery',
    ...(onRabbit ? { transport: 'amqp', workloads: ['w1', 'w2', 'w4'] } : {}),
    bulk: null,
    settings:
      `\`-P ${pool} -c ${concurrency}\`${pool === 'prefork' ? " (the CPU count, Celery's default)" : ''}, prefetch multiplier 4 (default), ` +
      '`task_acks_late`, ' +
      (pool === 'threads'
        ? 'plus the celery/celery#6941 workaround (a 0.1 s no-op timer in the consumer; without it the 5.2 threads pool stalls on unsent late acks: 5 tasks/s), '
        : '') +
      'result backend `db+postgresql://` (SQLAlchemy) with `result_extended`, ' +
      (onRabbit ? 'broker RabbitMQ 3.10 (py-amqp 5.1.1), ' : 'visibility_timeout 60 s (default 3600 s), ') +
      '`--without-gossip --without-mingle --without-heartbeat`, task events off (default); W2 waits with `AsyncResult.get(interval=0.005)` (default 0.5 s)',
    w4WindowMs: 150_000,
    async setup(env) {
      if (onRabbit) await makeVhost(NS.amqp.celeryVhost);
      await env.pg.query(`CREATE SCHEMA IF NOT EXISTS "${ns.schema}"`);
    },
    async reset(env) {
      await env.pg.query(
        `DO $$ BEGIN IF to_regclass('"${ns.schema}".celery_taskmeta') IS NOT NULL THEN TRUNCATE "${ns.schema}".celery_taskmeta; END IF; END $$`,
      );
      if (onRabbit) await purgeQueues(NS.amqp.celeryVhost, ['bench']);
      else await env.deleteKeys(ns.redisDb, ns.keyPrefix);
    },
    async teardown(env) {
      await env.pg.query(`DROP SCHEMA IF EXISTS "${ns.schema}" CASCADE`);
      if (onRabbit) await rabbitmqctl('delete_vhost', NS.amqp.celeryVhost).catch(() => {});
      else await env.deleteKeys(ns.redisDb, ns.keyPrefix);
    },
    worker(env, tag) {
      const args = [
        '-m',
        'celery',
        '-A',
        'benchapp',
        'worker',
        '-P',
        pool,
        '-c',
        String(concurrency),
        '-Q',
        'bench',
        '-l',
        'WARNING',
      ];
      args.push('--without-gossip', '--without-mingle', '--without-heartbeat', '-n', `bench-${pool}@%h`);
      return new Child(`${tag}-worker`, PYTHON, args, { cwd, env: childEnv, timeoutMs: env.childTimeoutMs });
    },
    sender(env, tag, mode, n, warmups = 0) {
      return new Child(`${tag}-sender-${mode}`, PYTHON, ['sender.py', mode, String(n), String(warmups)], {
        cwd,
        env: childEnv,
        timeoutMs: env.childTimeoutMs,
      });
    },
    async doneCount(env) {
      const { rows: t } = await env.pg.query(`SELECT to_regclass('"${ns.schema}".celery_taskmeta') IS NOT NULL AS ok`);
      if (!t[0].ok) return 0; // the worker creates its tables on first use
      const { rows } = await env.pg.query({
        name: 'celery-done',
        text: `SELECT count(*)::int AS n FROM "${ns.schema}".celery_taskmeta WHERE status = 'SUCCESS'`,
      });
      return rows[0].n;
    },
    execKey,
    ...(pool === 'prefork' && !onRabbit ? { beat: require('./celery/beat') } : {}), // W3: one beat, measured once
    /** For other senders of this system (W5's chord.py): same directory and environment. */
    cwd,
    childEnv,
  };
}

/**
 * W1 only: the same worker and sender with `bench.noop` defined with ignoreResult, so no result
 * row is written, as graphile-worker keeps none (issue 21's like-for-like drain). No row to count,
 * so a task is done when its message is acked: none left in the queue, the redelivered list or
 * held by a worker (its held hash, or its processing list for a blocking fetch; acksLate acks
 * after the task ran), as graphile's job row is gone.
 */
const celeriacIgnoreResult = {
  ...celeriac,
  name: 'celeriac-ignore-result',
  label: 'Celeriac (ignoreResult)',
  ratioRow: false, // its target is beside graphile-worker batched (Targets)
  workloads: ['w1'],
  childEnv: { ...celeriacEnv, BENCH_IGNORE_RESULT: '1' },
  settings:
    celeriac.settings +
    '; W1 only: `bench.noop` with ignoreResult (no PENDING or result row); done = message acked (queue and redelivered lists empty, nothing held)',
  async doneCount(env, total) {
    const r = env.redis(NS.celeriac.redisDb);
    const p = NS.celeriac.keyPrefix;
    const lists = [`${p}celery`, `${p}celeriac:redelivered:celery`];
    const hashes = [];
    for (const [pattern, into] of [
      [`${p}celeriac:processing:*`, lists],
      [`${p}celeriac:held:*`, hashes],
    ]) {
      let cursor = '0';
      do {
        let found;
        [cursor, found] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        into.push(...found);
      } while (cursor !== '0');
    }
    const lens = await Promise.all([...lists.map((k) => r.llen(k)), ...hashes.map((k) => r.hlen(k))]);
    return total - lens.reduce((a, b) => a + b, 0);
  },
  beat: undefined,
};

/**
 * W1 and W2 on the built package (issue 21), as an app that installed it runs it: an installed
 * copy's `bin/celeriac.js worker` runs dist/ with the app compiled to JavaScript, so no TypeScript
 * loader and no src/ (systems/celeriac/dist.js lays it out at setup, after `npm run build`).
 */
const celeriacDist = {
  ...celeriac,
  name: 'celeriac-dist',
  label: 'Celeriac (built)',
  workloads: ['w1', 'w1l', 'w2'],
  childEnv: {},
  settings: celeriac.settings.replace(
    'run from source (`CELERIAC_FROM_SOURCE=1`, @swc/core)',
    'the built package: an installed copy (dist/, `bin/celeriac.js worker`) and the app compiled to CommonJS',
  ),
  async setup() {
    const { installDist } = require('./celeriac/dist');
    const suffix = NS.celeriac.schema.slice('bench_celeriac'.length);
    this.dist = installDist(ROOT, suffix);
    const c = new Child('celeriac-dist-migrate', process.execPath, [this.dist.bin, 'migrate', '--app', this.dist.app], {
      cwd: this.dist.dir,
      env: {},
      timeoutMs: 60_000,
    });
    const { code } = await c.exited;
    if (code !== 0) throw new Error(`celeriac migrate (built) failed${c.tailText()}`);
  },
  async teardown(env) {
    await celeriac.teardown(env);
    if (this.dist) require('node:fs').rmSync(this.dist.dir, { recursive: true, force: true });
  },
  worker(env, tag, { profileDir } = {}) {
    const prof = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const extra = (process.env.BENCH_CELERIAC_WORKER_ARGS ?? '').split(' ').filter(Boolean);
    const nodeFlags = (process.env.BENCH_CELERIAC_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    return new Child(
      `${tag}-worker`,
      process.execPath,
      [...nodeFlags, ...prof, this.dist.bin, 'worker', '--app', this.dist.app, '-c', '50', ...extra],
      { cwd: this.dist.dir, env: { BENCH_ROLE: 'worker' }, timeoutMs: env.childTimeoutMs },
    );
  },
  sender(env, tag, mode, n, warmups = 0) {
    return new Child(
      `${tag}-sender-${mode}`,
      process.execPath,
      [join(HERE, 'celeriac', 'sender.js'), mode, String(n), String(warmups)],
      { cwd: this.dist.dir, env: { BENCH_CELERIAC_APP: this.dist.app }, timeoutMs: env.childTimeoutMs },
    );
  },
  beat: undefined,
};

/**
 * Celeriac with resultBatchesInFlight 2 (src/results/batches-in-flight.ts), run only when named
 * beside `celeriac`: the two then alternate within one run, under one run lock, for the
 * comparison of 1 and 2 in one tree (bench/ANALYSIS.md, seventh round).
 */
const celeriacBatches2 = {
  ...celeriac,
  name: 'celeriac-batches2',
  label: 'Celeriac (2 result batches in flight)',
  ratioRow: false,
  childEnv: { ...celeriacEnv, BENCH_RESULT_BATCHES: '2' },
  settings: celeriac.settings + '; resultBatchesInFlight 2',
};

const all = [
  celeriac,
  celeriacBatches2,
  celeriacIgnoreResult,
  celeriacDist,
  bullmq,
  graphile(false),
  graphile(true),
  celery('prefork'),
  celery('threads'),
  // The RabbitMQ rows (issue 18): in the full run's default set (bench/lib/args.js), not in --quick's.
  celeriacOnRabbit(celeriac),
  celery('prefork', 'amqp'),
];
const byName = Object.fromEntries(all.map((s) => [s.name, s]));

module.exports = { all, byName, ROOT, PYTHON };
