#!/usr/bin/env node
'use strict';
/**
 * Diagnostic for beat's throughput targets, on the real Celeriac from source (bin/register-ts.js),
 * in its own schema (diag_beat, or $DIAG_BEAT_SCHEMA) and Redis key prefix (diag:beat:, or
 * $DIAG_BEAT_PREFIX; db 0). Beats run in child
 * processes (this file with --child), so the parent's polling of Redis does not share their
 * event loop, and --cpu-prof profiles only the beat.
 *
 *   node bench/diag/beat-burst.js burst  [-n 10000] [--trials 3] [--beats 1] [--lead 20] [--cpu-prof]
 *       N crontab rows due at the same minute. Each beat's clock runs ahead of the system clock so
 *       that the minute arrives `lead` seconds after start (no waiting for a real minute); the
 *       parent polls LLEN every 2 ms and reports due→first and due→all sent, then checks that
 *       every run reached Redis exactly once (unique task ids, total_run_count, empty outbox).
 *   node bench/diag/beat-burst.js spread [-n 100000] [--seconds 120] [--warmup 15] [--cpu-prof]
 *       N interval rows (every 60 s, or --every S; start times spread over a minute an hour ago;
 *       with S ≥ 7200 no first slot falls in the next hour, so start-up measures planning alone). Reports start-up
 *       (spawn → started, spawn → every row planned), send lateness p50/p99/max of each message
 *       (time the parent popped it from Redis, polling every 5 ms, minus its scheduled_at), and the
 *       beat process's CPU per minute (plus its Postgres backends').
 *   node bench/diag/beat-burst.js idle   [-n 100000] [--seconds 60]
 *       N crontab rows none of which is due in the window: start-up and CPU per idle minute.
 *
 * Other flags: --batch-size B (beat's batchSize), --no-pending (trackPending off), --memory (spread/idle:
 * the beat's V8 heap spaces, external memory and array buffers each second, printed at its peak RSS;
 * and a sampling heap profile of what is live 20 s into the due window), --keep (leave
 * the rows for a second run: a restart with nothing stale), --restart (spread/idle: reuse the
 * rows of a --keep run). Profiles go to $TMPDIR/celeriac-beat-prof/. Takes the benchmark's advisory lock if
 * it is free (and says so when it is not: figures are then shared with another run).
 */
const { spawn } = require('node:child_process');
const { readFileSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..', '..');
const DATABASE_URL = process.env.DIAG_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.DIAG_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
// DIAG_BEAT_SCHEMA / DIAG_BEAT_PREFIX: another schema and key prefix, so two engineers' runs keep apart.
const SCHEMA = process.env.DIAG_BEAT_SCHEMA ?? 'diag_beat';
const PREFIX = process.env.DIAG_BEAT_PREFIX ?? 'diag:beat:';
const QUEUE = 'diag';
const TASK = 'diag.ping';
const PROF_DIR = join(require('node:os').tmpdir(), 'celeriac-beat-prof');

function parseArgs(argv) {
  const o = {
    mode: argv[0],
    n: undefined,
    trials: 3,
    beats: 1,
    lead: 20,
    seconds: undefined,
    warmup: 15,
    every: 60,
    cpuProf: false,
    memory: false,
    batchSize: undefined,
    pending: true,
    keep: false,
    restart: false,
  };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    const next = () => Number(argv[++i]);
    if (a === '-n') o.n = next();
    else if (a === '--memory') o.memory = true;
    else if (a === '--trials') o.trials = next();
    else if (a === '--beats') o.beats = next();
    else if (a === '--lead') o.lead = next();
    else if (a === '--seconds') o.seconds = next();
    else if (a === '--warmup') o.warmup = next();
    else if (a === '--every') o.every = next();
    else if (a === '--batch-size') o.batchSize = next();
    else if (a === '--cpu-prof') o.cpuProf = true;
    else if (a === '--no-pending') o.pending = false;
    else if (a === '--keep') o.keep = true;
    else if (a === '--restart') o.restart = true;
    else throw new Error(`unknown flag ${a}`);
  }
  o.n ??= o.mode === 'burst' ? 10_000 : 100_000;
  o.seconds ??= o.mode === 'spread' ? 120 : 60;
  if (!['burst', 'spread', 'idle'].includes(o.mode))
    throw new Error('usage: beat-burst.js burst|spread|idle [flags] (see the header)');
  return o;
}

// ---------------------------------------------------------------- the beat child

async function child(opts) {
  require(join(ROOT, 'bin', 'register-ts')).register();
  const { Celeriac, task } = require(join(ROOT, 'src'));
  const out = (e) => process.stdout.write(JSON.stringify(e) + '\n');
  const app = new Celeriac({
    databaseUrl: DATABASE_URL,
    brokerUrl: REDIS_URL,
    schema: SCHEMA,
    keyPrefix: PREFIX,
    trackPending: opts.pending,
    logger: {
      log: (level, message, fields) =>
        level !== 'info' &&
        level !== 'debug' &&
        process.stderr.write(`${level} ${message} ${JSON.stringify(fields ?? {})}\n`),
    },
  });
  task(TASK, () => null, { queue: QUEUE });
  const clock = { now: () => Date.now() + opts.offsetMs };
  const beat = app.beat({ name: opts.name, clock, ...(opts.batchSize ? { batchSize: opts.batchSize } : {}) });
  beat.on('sent', (runs) => out({ event: 'sent', at: clock.now(), runs: runs.length }));
  beat.on('error', (err) => out({ event: 'error', message: err.message }));
  if (opts.memory) {
    // What the beat's resident memory is made of, each second: V8's heap spaces (used / reserved),
    // external memory and array buffers (pg's and ioredis's socket buffers).
    const v8 = require('node:v8');
    const mib = (b) => Math.round(b / 1048576);
    setInterval(() => {
      const m = process.memoryUsage();
      const spaces = {};
      for (const sp of v8.getHeapSpaceStatistics())
        spaces[sp.space_name] = `${mib(sp.space_used_size)}/${mib(sp.space_size)}`;
      out({
        event: 'mem',
        rss: mib(m.rss),
        heapUsed: mib(m.heapUsed),
        heapTotal: mib(m.heapTotal),
        external: mib(m.external),
        arrayBuffers: mib(m.arrayBuffers),
        spaces,
      });
    }, 1000).unref();
    // And which allocation sites the live heap comes from: sampled from the start, written when
    // the parent sends SIGUSR2 (in the middle of the due minute), as a .heapprofile DevTools opens.
    const inspector = require('node:inspector');
    const session = new inspector.Session();
    session.connect();
    session.post('HeapProfiler.startSampling', { samplingInterval: 16384 });
    process.on('SIGUSR2', () =>
      session.post('HeapProfiler.getSamplingProfile', (err, res) => {
        if (err) return out({ event: 'error', message: err.message });
        mkdirSync(PROF_DIR, { recursive: true });
        const file = join(PROF_DIR, `${opts.name}-${Date.now()}.heapprofile`);
        require('node:fs').writeFileSync(file, JSON.stringify(res.profile));
        out({ event: 'heap-profile', file });
      }),
    );
  }
  const t0 = Date.now();
  await beat.start();
  out({ event: 'started', ms: Date.now() - t0 });
  process.on('SIGTERM', async () => {
    await beat.stop();
    await app.close();
    process.exit(0);
  });
}

// ---------------------------------------------------------------- the parent

function spawnBeat(opts, name, offsetMs) {
  const args = [];
  if (opts.cpuProf) {
    mkdirSync(PROF_DIR, { recursive: true });
    args.push(
      '--cpu-prof',
      `--cpu-prof-dir=${PROF_DIR}`,
      `--cpu-prof-name=${opts.mode}-${name}-${Date.now()}.cpuprofile`,
    );
  }
  const spawnedAt = Date.now();
  const c = spawn(
    process.execPath,
    [
      ...args,
      __filename,
      '--child',
      JSON.stringify({ name, offsetMs, batchSize: opts.batchSize, pending: opts.pending, memory: opts.memory }),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', CELERIAC_FROM_SOURCE: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  c.spawnedAt = spawnedAt;
  c.events = [];
  let buf = '';
  c.stdout.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const e = JSON.parse(line);
        e.recvAt = Date.now();
        c.events.push(e);
        if (e.event === 'error') console.log(`  [${name}] error: ${e.message}`);
      } catch {
        process.stdout.write(`  [${name}] ${line}\n`);
      }
    }
  });
  c.waitFor = (event, timeoutMs = 60_000) =>
    new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const check = () => {
        const e = c.events.find((x) => x.event === event);
        if (e) return resolve(e);
        if (c.exitCode !== null) return reject(new Error(`${name} exited (${c.exitCode}) before '${event}'`));
        if (Date.now() > deadline) return reject(new Error(`${name}: no '${event}' in ${timeoutMs} ms`));
        setTimeout(check, 10);
      };
      check();
    });
  c.stopBeat = () =>
    new Promise((resolve) => {
      if (c.exitCode !== null) return resolve();
      c.once('exit', resolve);
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 15_000).unref();
    });
  return c;
}

/** CPU seconds (user + system) of a process, from /proc. */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(parts[11]) + Number(parts[12])) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return 0;
  }
}

async function pgBackendCpu(pg) {
  const { rows } = await pg.query(
    `SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'celeriac-beat:diag-%' OR application_name = $1`,
    [`celeriac:${SCHEMA}`],
  );
  return rows.reduce((s, r) => s + cpuSeconds(r.pid), 0);
}

const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const median = (xs) => pct(xs, 50);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function prepareSchema() {
  require(join(ROOT, 'bin', 'register-ts')).register();
  const { Celeriac } = require(join(ROOT, 'src'));
  const app = new Celeriac({
    databaseUrl: DATABASE_URL,
    brokerUrl: REDIS_URL,
    schema: SCHEMA,
    keyPrefix: PREFIX,
    logger: { log() {} },
  });
  await app.migrate();
  await app.close();
}

async function reset(pg, redis) {
  await pg.query(`TRUNCATE "${SCHEMA}".celeriac_periodic_task, "${SCHEMA}".celeriac_interval_schedule, "${SCHEMA}".celeriac_crontab_schedule,
                   "${SCHEMA}".celeriac_solar_schedule, "${SCHEMA}".celeriac_clocked_schedule, "${SCHEMA}".celeriac_beat_outbox,
                   "${SCHEMA}".celeriac_beat_instance, "${SCHEMA}".celeriac_task_result CASCADE`);
  await clearRedis(redis);
}

async function clearRedis(redis) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', PREFIX + '*', 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

async function takeLock(pg) {
  const { rows } = await pg.query('SELECT pg_try_advisory_lock($1) AS ok', [0x63656c62]);
  if (!rows[0].ok) console.log('note: a benchmark run holds the bench lock; these figures share the machine with it');
}

async function waitPlanned(pg, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pg.query(
      `SELECT EXISTS (SELECT 1 FROM "${SCHEMA}".celeriac_periodic_task WHERE next_run_stale) AS stale`,
    );
    if (!rows[0].stale) return Date.now();
    if (Date.now() > deadline) throw new Error('rows still stale after ' + timeoutMs + ' ms');
    await sleep(50);
  }
}

async function burstTrial(opts, pg, redis, trial) {
  await reset(pg, redis);
  const lead = opts.lead * 1000;
  // The beats' clocks run ahead so that a minute boundary V arrives `lead` ms from now.
  const realDue = Date.now() + lead;
  const V = Math.ceil(realDue / 60_000) * 60_000 + 60_000;
  const offsetMs = V - realDue;
  const minute = new Date(V).getUTCMinutes();
  await pg.query(
    `WITH s AS (
       INSERT INTO "${SCHEMA}".celeriac_crontab_schedule (minute, hour, day_of_week, day_of_month, month_of_year, timezone)
       SELECT $1, '*', '*', '*', '*', 'UTC' FROM generate_series(1, $2) RETURNING id
     )
     INSERT INTO "${SCHEMA}".celeriac_periodic_task (name, task, crontab_id, args, kwargs)
     SELECT 'diag-' || id, $3, id, '[1, "two"]', '{"three": 3}' FROM s`,
    [String(minute), opts.n, TASK],
  );
  const beats = [];
  for (let k = 0; k < opts.beats; k++) beats.push(spawnBeat(opts, `diag-${k}`, offsetMs));
  await Promise.all(beats.map((b) => b.waitFor('started')));
  const plannedAt = await waitPlanned(pg);
  const startup = plannedAt - beats[0].spawnedAt;
  if (Date.now() > realDue - 2000) throw new Error(`start-up took ${startup} ms, past the lead; use a larger --lead`);
  const key = PREFIX + QUEUE;
  const cpu0 = beats.map((b) => cpuSeconds(b.pid));
  const pg0 = await pgBackendCpu(pg);
  await sleep(realDue - 500 - Date.now());
  let first = null;
  let all = null;
  const deadline = realDue + 30_000;
  while (Date.now() < deadline) {
    const len = await redis.llen(key);
    const now = Date.now();
    if (len > 0 && first === null) first = now - realDue;
    if (len >= opts.n) {
      all = now - realDue;
      break;
    }
    await sleep(2);
  }
  const cpu = beats.map((b, i) => cpuSeconds(b.pid) - cpu0[i]);
  const pgCpu = (await pgBackendCpu(pg)) - pg0;
  await sleep(300); // let a duplicate, if any, arrive
  const raws = await redis.lrange(key, 0, -1);
  const ids = new Set(raws.map((r) => /"id": ?"([^"]+)"/.exec(r)[1]));
  const {
    rows: [chk],
  } = await pg.query(
    `SELECT sum(total_run_count)::int AS runs, (SELECT count(*) FROM "${SCHEMA}".celeriac_beat_outbox)::int AS outbox FROM "${SCHEMA}".celeriac_periodic_task WHERE name LIKE 'diag-%'`,
  );
  const sentEvents = beats.flatMap((b) => b.events.filter((e) => e.event === 'sent').map((e) => ({ ...e, beat: b })));
  const lastSent = sentEvents.length ? Math.max(...sentEvents.map((e) => e.at - V)) : NaN;
  await Promise.all(beats.map((b) => b.stopBeat()));
  if (process.env.DIAG_VERBOSE)
    console.log('  sends (ms after due: runs): ' + sentEvents.map((e) => `${e.at - V}:${e.runs}`).join(' '));
  const ok = raws.length === opts.n && ids.size === opts.n && chk.runs === opts.n;
  console.log(
    `trial ${trial + 1}: start-up ${startup} ms; due→first ${first} ms, due→all ${all ?? 'TIMEOUT'} ms (beat's last 'sent' event +${lastSent} ms, ${sentEvents.length} batches); ` +
      `beat CPU ${cpu.map((c) => c.toFixed(2)).join('+')} s, its Postgres backends ${pgCpu.toFixed(2)} s; ` +
      `in Redis ${raws.length} (${ids.size} distinct), total_run_count ${chk.runs}, outbox ${chk.outbox} ${ok ? 'OK' : 'MISMATCH'}`,
  );
  return { all, first, startup, ok };
}

async function spreadOrIdle(opts, pg, redis) {
  if (!opts.restart) {
    await reset(pg, redis);
    if (opts.mode === 'spread') {
      // Start times on a grid one hour back, spread evenly over the minute: 60 s intervals then fall due at N/60 a second.
      await pg.query(
        `WITH s AS (INSERT INTO "${SCHEMA}".celeriac_interval_schedule (every, period) VALUES ($3, 'seconds') RETURNING id)
         INSERT INTO "${SCHEMA}".celeriac_periodic_task (name, task, interval_id, args, kwargs, start_time)
         SELECT 'diag-' || g, $2, s.id, '[1, "two"]', '{"three": 3}',
                date_trunc('minute', now()) - interval '1 hour' + (g * 60.0 / $1) * interval '1 second'
           FROM s, generate_series(0, $1 - 1) g`,
        [opts.n, TASK, opts.every],
      );
    } else {
      const hour = (new Date().getUTCHours() + 12) % 24;
      await pg.query(
        `WITH s AS (
           INSERT INTO "${SCHEMA}".celeriac_crontab_schedule (minute, hour, day_of_week, day_of_month, month_of_year, timezone)
           SELECT (g % 60)::text, $3::text, '*', '*', '*', 'UTC' FROM generate_series(1, $1) g RETURNING id
         )
         INSERT INTO "${SCHEMA}".celeriac_periodic_task (name, task, crontab_id) SELECT 'diag-' || id, $2, id FROM s`,
        [opts.n, TASK, hour],
      );
    }
  } else {
    await pg.query(`DELETE FROM "${SCHEMA}".celeriac_beat_instance`);
    await clearRedis(redis);
  }
  const b = spawnBeat(opts, 'diag-0', 0);
  const started = await b.waitFor('started', 120_000);
  const plannedAt = await waitPlanned(pg, 300_000);
  console.log(
    `start-up: spawn→started ${started.recvAt - b.spawnedAt} ms (beat.start() ${started.ms} ms); spawn→all rows planned ${plannedAt - b.spawnedAt} ms`,
  );
  const key = PREFIX + QUEUE;
  const late = [];
  const lateAfterWarmup = [];
  const warmEnd = plannedAt + opts.warmup * 1000;
  const end = Date.now() + opts.seconds * 1000;
  let cpuMark = cpuSeconds(b.pid);
  let pgMark = await pgBackendCpu(pg);
  let minuteStart = Date.now();
  const perMinute = [];
  let popped = 0;
  let heapSampled = !opts.memory;
  while (Date.now() < end) {
    if (!heapSampled && Date.now() > warmEnd + 20_000) {
      heapSampled = true;
      b.kill('SIGUSR2');
    }
    const raws = (await redis.lpop(key, 10_000)) ?? [];
    const now = Date.now();
    for (const r of raws) {
      const m = /"scheduled_at": ?"([^"]+)"/.exec(r);
      if (!m) continue;
      const slot = Date.parse(m[1]);
      late.push(now - slot);
      // Slots from before the beat was up are catch-up runs (late by design), not lateness.
      if (slot >= warmEnd) lateAfterWarmup.push(now - slot);
    }
    popped += raws.length;
    if (now - minuteStart >= 60_000) {
      const c = cpuSeconds(b.pid);
      const p = await pgBackendCpu(pg);
      perMinute.push({ beat: c - cpuMark, pg: p - pgMark, secs: (now - minuteStart) / 1000 });
      cpuMark = c;
      pgMark = p;
      minuteStart = now;
    }
    await sleep(5);
  }
  if (Date.now() - minuteStart > 10_000) {
    const c = cpuSeconds(b.pid);
    const p = await pgBackendCpu(pg);
    perMinute.push({ beat: c - cpuMark, pg: p - pgMark, secs: (Date.now() - minuteStart) / 1000 });
  }
  await b.stopBeat();
  if (opts.mode === 'spread') {
    const f = (xs) => `p50 ${pct(xs, 50)} ms, p99 ${pct(xs, 99)} ms, max ${pct(xs, 100)} ms`;
    console.log(
      `sent ${popped} in ${opts.seconds} s; lateness (pop time - scheduled_at, 5 ms polling): all ${f(late)}; slots from ${opts.warmup} s after all rows were planned (${lateAfterWarmup.length}): ${f(lateAfterWarmup)}`,
    );
  } else {
    console.log(`sent ${popped} (nothing should be due)`);
  }
  const mems = b.events.filter((e) => e.event === 'mem');
  if (mems.length) {
    const peak = mems.reduce((a, e) => (e.rss > a.rss ? e : a));
    const show = (e) =>
      `rss ${e.rss} MiB: heap ${e.heapUsed} used of ${e.heapTotal}, external ${e.external}, array buffers ${e.arrayBuffers}; spaces (used/size MiB) ${JSON.stringify(e.spaces)}`;
    console.log(
      `  memory at peak RSS (${Math.round((peak.recvAt - b.spawnedAt) / 1000)} s after spawn): ${show(peak)}`,
    );
    console.log(`  memory at the end: ${show(mems[mems.length - 1])}`);
    const heap = b.events.find((e) => e.event === 'heap-profile');
    if (heap) console.log(`  live heap by allocation site, 20 s into the due window: ${heap.file}`);
  }
  for (const m of perMinute)
    console.log(
      `  CPU over ${m.secs.toFixed(0)} s: beat ${((m.beat / m.secs) * 100).toFixed(1)}% of a core, its Postgres backends ${((m.pg / m.secs) * 100).toFixed(1)}%`,
    );
}

async function main() {
  if (process.argv[2] === '--child') return child(JSON.parse(process.argv[3]));
  const opts = parseArgs(process.argv.slice(2));
  const { Client } = require('pg');
  const Redis = require('ioredis');
  const pg = new Client({ connectionString: DATABASE_URL, application_name: 'celeriac-diag-beat' });
  await pg.connect();
  const redis = new Redis(REDIS_URL);
  try {
    await takeLock(pg);
    await prepareSchema();
    if (opts.mode === 'burst') {
      const rs = [];
      for (let t = 0; t < opts.trials; t++) rs.push(await burstTrial(opts, pg, redis, t));
      const alls = rs.map((r) => r.all ?? Infinity);
      console.log(
        `median over ${rs.length}: due→all ${median(alls)} ms, due→first ${median(rs.map((r) => r.first))} ms, start-up ${median(rs.map((r) => r.startup))} ms; exactly once: ${rs.every((r) => r.ok) ? 'yes' : 'NO'}`,
      );
    } else {
      await spreadOrIdle(opts, pg, redis);
    }
    if (!opts.keep) await reset(pg, redis);
  } finally {
    await pg.end();
    redis.disconnect();
  }
}

main().then(
  () => process.argv[2] !== '--child' && process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
