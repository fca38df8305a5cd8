'use strict';
/** The harness's own connections (to count results and wipe state) and what it records about the machine. */
const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const os = require('node:os');
const { join } = require('node:path');
const Redis = require('ioredis');
const { Pool } = require('pg');
const { DATABASE_URL, REDIS_HOST, REDIS_PORT } = require('../systems/ns');

/**
 * Two harnesses at once on one machine would wipe each other's namespaces (and disturb each
 * other's figures), so a run holds a Postgres advisory lock for its whole length; another one
 * waits for it. The lock dies with the connection, so a killed run never leaves it behind.
 */
const LOCK_KEY = 0x63656c62; // 'celb'

async function acquireRunLock(client, waitMs, log) {
  const deadline = Date.now() + waitMs;
  let told = 0;
  for (;;) {
    const { rows } = await client.query('SELECT pg_try_advisory_lock($1) AS ok', [LOCK_KEY]);
    if (rows[0].ok) return;
    if (Date.now() > deadline)
      throw new Error(
        `another benchmark run held the lock for ${Math.round(waitMs / 60_000)} min; giving up (see pg_locks, objid ${LOCK_KEY})`,
      );
    if (Date.now() - told > 30_000) {
      const { rows: who } = await client.query(
        `SELECT a.pid, a.backend_start FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.objid = $1`,
        [LOCK_KEY],
      );
      log(
        `another benchmark run is in progress (Postgres backend ${who[0]?.pid ?? '?'}, since ${who[0]?.backend_start?.toISOString?.() ?? '?'}); waiting for it`,
      );
      told = Date.now();
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function makeEnv({ childTimeoutMs, lockWaitMs = 30 * 60_000, log = () => {} }) {
  const { Client } = require('pg');
  const lock = new Client({ connectionString: DATABASE_URL, application_name: 'celeriac-bench-lock' });
  await lock.connect();
  await acquireRunLock(lock, lockWaitMs, log);
  const pg = new Pool({ connectionString: DATABASE_URL, max: 2, application_name: 'celeriac-bench' });
  const clients = new Map();
  const redis = (db) => {
    if (!clients.has(db))
      clients.set(
        db,
        new Redis({ host: REDIS_HOST, port: REDIS_PORT, db, lazyConnect: false, maxRetriesPerRequest: 2 }),
      );
    return clients.get(db);
  };
  /** Deletes exactly the keys under a prefix, never a whole database. */
  const deleteKeys = async (db, prefix) => {
    const r = redis(db);
    const pattern = prefix.replace(/[*?[\]\\]/g, '\\$&') + '*';
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.unlink(...keys);
    } while (cursor !== '0');
  };
  await pg.query('SELECT 1');
  await redis(0).ping();
  return {
    pg,
    redis,
    deleteKeys,
    childTimeoutMs,
    async close() {
      if (this.closed) return;
      this.closed = true;
      await pg.end();
      await lock.end(); // releases the run lock
      for (const c of clients.values()) c.disconnect();
    },
  };
}

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 }).trim();
  } catch {
    return null;
  }
}

function pkgVersion(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

async function describeMachine(env) {
  const root = join(__dirname, '..', '..');
  const redisInfo = await env.redis(0).info('server');
  const pgVersion = (await env.pg.query('SHOW server_version')).rows[0].server_version;
  const py = sh('/usr/bin/python3', [
    '-c',
    'import sys,celery,kombu,redis,sqlalchemy,psycopg2;print(sys.version.split()[0],celery.__version__,kombu.__version__,redis.__version__,sqlalchemy.__version__,psycopg2.__version__.split()[0])',
  ]);
  const [python, celery, kombu, redisPy, sqlalchemy, psycopg2] = (py ?? '').split(' ');
  const rev = sh('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
  const dirty = sh('git', ['-C', root, 'status', '--porcelain', '--', 'src']);
  const nm = join(__dirname, '..', 'node_modules');
  return {
    date: new Date().toISOString(),
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel: `${os.type()} ${os.release()}`,
    loadAvg: os.loadavg().map((x) => +x.toFixed(2)),
    versions: {
      node: process.version,
      redis: /redis_version:(\S+)/.exec(redisInfo)?.[1] ?? 'unknown',
      postgres: pgVersion,
      celeriac: `${pkgVersion(root)} (${rev ?? 'no git'}${dirty ? ', uncommitted changes in src/' : ''})`,
      bullmq: pkgVersion(join(nm, 'bullmq')),
      'graphile-worker': pkgVersion(join(nm, 'graphile-worker')),
      'ioredis (bench)': pkgVersion(join(nm, 'ioredis')),
      'ioredis (Celeriac)': pkgVersion(join(root, 'node_modules', 'ioredis')),
      'pg (bench / Celeriac)': `${pkgVersion(join(nm, 'pg'))} / ${pkgVersion(join(root, 'node_modules', 'pg'))}`,
      'typeorm (Celeriac)': pkgVersion(join(root, 'node_modules', 'typeorm')),
      python: python ?? 'missing',
      celery: celery ?? 'missing',
      kombu,
      'redis-py': redisPy,
      sqlalchemy,
      psycopg2,
    },
  };
}

/**
 * What Celeriac code a run measured: git HEAD plus a hash of every file under src/, bin/ and
 * migrations/ as they are on disk. Other people may edit the same working tree while a long run
 * goes on; comparing this across runs shows it.
 */
function celeriacFingerprint() {
  const { createHash } = require('node:crypto');
  const { readdirSync, statSync } = require('node:fs');
  const root = join(__dirname, '..', '..');
  const hash = createHash('sha1');
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(path.slice(root.length)).update(readFileSync(path));
    }
  };
  for (const d of ['src', 'bin', 'migrations']) walk(join(root, d));
  return { head: sh('git', ['-C', root, 'rev-parse', '--short', 'HEAD']), tree: hash.digest('hex').slice(0, 10) };
}

module.exports = { makeEnv, describeMachine, celeriacFingerprint };
