'use strict';
/**
 * The floor under a W1 drain: only what must be done per task, with Celeriac's wire formats and
 * statements, and no worker framework around it (issue 21, session 6, engineer "floor").
 *
 *   BENCH_NS=floor node bench/diag/drain-floor.js [--ignore-result] [--prefetch 250] [--in-flight 1]
 *
 * Not meant to be run by hand: bench/diag/drain-cpu.js starts it as the "floor" and
 * "floor-ignore-result" systems, on the queue the bench's Celeriac sender filled (Redis DB 1,
 * prefix bench_<ns>:celeriac:, schema bench_celeriac_<ns>), and measures it exactly as it measures
 * the real worker. Per task it does:
 *
 *   - fetch: the worker's own fetch script (src/broker/lua/fetch-n.lua, registered with ioredis
 *     defineCommand as the broker does), up to the free room as the worker computes it (prefetch
 *     250 = 50 × (1 + 4) for unfinished tasks, at most 4 × 250 finished awaiting commit and ack),
 *     one fetch in flight;
 *   - decode: JSON.parse of the envelope, base64 of the body, JSON.parse of the body (Celery's
 *     protocol 2: [args, kwargs, embed]), the task name and id from the headers;
 *   - run: a no-op function;
 *   - record (unless --ignore-result): the SUCCESS row as the result store sends it for a row the
 *     sender already recorded as PENDING (src/results/sql.ts updateKnownResults, the batch as one
 *     JSON parameter, at most 2,000 rows, one batch in flight, sent on the next setImmediate, the
 *     database's default synchronous_commit); a batch the narrow update did not fully take goes
 *     through upsertResults, as BatchWriter does;
 *   - ack after the state is committed (acksLate): one HDEL of the batch's delivery tags from the
 *     consumer's held hash, as the broker's ack sends it. With --ignore-result the acks of one
 *     loop turn go as one HDEL right after the tasks ran.
 *
 * What it leaves out is the framework: task registry and options, the task context, limits,
 * revocation, events, the lease and its renewal, recovery, retries, the back-pressure caps, the
 * result notices, logging. What the real worker spends above this process's CPU per task is
 * therefore framework (cuttable in principle); what this process spends is the floor for a worker
 * written in Node with ioredis and pg.
 *
 * Prints `BENCH_T0 <ms>` once its modules are loaded (nothing connected yet), as the bench's
 * workers do, and `BENCH_READY` once connected. Runs until SIGTERM.
 */
require('../../bin/register-ts').register();
const { Buffer } = require('node:buffer');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const Redis = require('ioredis');
const { Client } = require('pg');
const { NS, DATABASE_URL, REDIS_HOST, REDIS_PORT } = require('../systems/ns');
const { Keys } = require('../../src/broker/keys');
const { updateKnownResults, upsertResults } = require('../../src/results/sql');
const { stateSeq } = require('../../src/results/state-rules');

const argv = process.argv.slice(2);
const ignoreResult = argv.includes('--ignore-result');
const prefetch = Number(argv[argv.indexOf('--prefetch') + 1] || 250) || 250;
const MAX_BATCH = 2000; // ResultStore.maxBatch
const FINISHING_FACTOR = 4; // src/worker/worker.ts
const CONSUMER = `floor-${process.pid}`;
const WORKER_NAME = `celery@floor-${process.pid}`;
const SUCCESS_SEQ = stateSeq('SUCCESS', 0);

const keys = new Keys(NS.celeriac.keyPrefix, NS.celeriac.redisDb);
const fetchKeys = [keys.held(CONSUMER), keys.redeliveries, ...keys.consumeOrder(['celery'])];
const heldKey = keys.held(CONSUMER);
const updateSql = updateKnownResults(NS.celeriac.schema);
const upsertSql = upsertResults(NS.celeriac.schema);
const fetchLua = readFileSync(join(__dirname, '..', '..', 'src', 'broker', 'lua', 'fetch-n.lua'), 'utf8');

process.stdout.write(`BENCH_T0 ${Date.now()} ${process.hrtime.bigint() / 1000n}\n`);

const redis = new Redis({ host: REDIS_HOST, port: REDIS_PORT, db: NS.celeriac.redisDb });
redis.defineCommand('floorFetch', { lua: fetchLua });
// --in-flight N: result batches in flight at once, each on its own connection (the store keeps one).
const inFlight = Math.max(1, Number(argv[argv.indexOf('--in-flight') + 1]) || 1);
const clients = Array.from(
  { length: inFlight },
  () => new Client({ connectionString: DATABASE_URL, application_name: 'celeriac-floor' }),
);
const idle = [...clients];

let held = 0; // messages fetched and not yet acked: the prefetch window
let fetching = false;
let writeScheduled = false;
const pendingRows = []; // finished, not yet sent to Postgres
const pendingTags = [];
let ackTags = []; // ignoreResult: ran, not yet acked
let ackScheduled = false;
let stopping = false;
const stats = { tasks: 0, batches: 0, upserts: 0, fetches: 0, emptyFetches: 0 };

const noop = () => null;

function fail(err) {
  process.stderr.write(`floor: ${err.stack ?? err}\n`);
  process.exit(1);
}

/** Takes up to the free room from the queue (one script, as the broker's fetch), then runs what it got. */
function fetchMore() {
  // The worker's room (src/worker/worker.ts loop): prefetch bounds unfinished tasks, and finished
  // ones awaiting their commit and ack are capped at FINISHING_FACTOR × prefetch. Tasks here run
  // as soon as they arrive, so everything held is finished.
  const room = Math.min(prefetch, FINISHING_FACTOR * prefetch - held);
  if (fetching || stopping || room <= 0) return;
  fetching = true;
  redis.floorFetch(fetchKeys.length, ...fetchKeys, room).then((flat) => {
    fetching = false;
    stats.fetches++;
    if (flat.length === 0) {
      stats.emptyFetches++;
      // A preloaded queue is empty only at the end: look again shortly (the harness stops us).
      if (held === 0) setTimeout(fetchMore, 5);
      return;
    }
    // The script's reply (fetch-n.lua): counted flag, then per key its index, count, and each
    // message's raw, handle (and redeliveries when counted).
    const step = flat[0] === 1 ? 3 : 2;
    for (let i = 1; i < flat.length;) {
      const end = i + 2 + flat[i + 1] * step;
      for (i += 2; i < end; i += step) {
        held++;
        runOne(flat[i], flat[i + 1]);
      }
    }
    if (ignoreResult) scheduleAck();
    else scheduleWrite();
    fetchMore();
  }, fail);
}

/** Decode as the worker must (envelope, body), run the no-op, queue its final state. */
function runOne(raw, tag) {
  const env = JSON.parse(raw);
  const headers = env.headers;
  const [args, kwargs] = JSON.parse(Buffer.from(env.body, 'base64').toString('utf8'));
  if (headers.task !== 'bench.noop') throw new Error(`floor: unexpected task ${headers.task}`);
  stats.tasks++;
  const started = Date.now();
  noop(args, kwargs);
  if (ignoreResult) {
    ackTags.push(tag);
    return;
  }
  const done = Date.now();
  // Keyed as the statements unpack it (src/results/sql.ts RECORD_KEY), dates as epoch ms.
  pendingRows.push({
    id: headers.id,
    st: 'SUCCESS',
    sq: SUCCESS_SEQ,
    r: null,
    w: WORKER_NAME,
    re: 0,
    ds: started,
    dd: done,
  });
  pendingTags.push(tag);
}

function scheduleAck() {
  if (ackScheduled) return;
  ackScheduled = true;
  setImmediate(() => {
    ackScheduled = false;
    const tags = ackTags;
    ackTags = [];
    redis.hdel(heldKey, ...tags).then(() => {
      held -= tags.length;
      fetchMore();
    }, fail);
  });
}

/** One batch in flight (by default); the next one goes on the loop turn after it commits (ResultStore's flush). */
function scheduleWrite() {
  if (writeScheduled || idle.length === 0 || pendingRows.length === 0) return;
  writeScheduled = true;
  setImmediate(() => {
    writeScheduled = false;
    const pg = idle.pop();
    const rows = pendingRows.splice(0, MAX_BATCH);
    const tags = pendingTags.splice(0, rows.length);
    const json = JSON.stringify(rows);
    stats.batches++;
    pg.query({ name: 'floor_update_known', text: updateSql, values: [json] })
      .then(({ rows: [{ n }] }) => {
        if (n === rows.length) return undefined;
        stats.upserts++;
        return pg.query({ name: 'floor_upsert', text: upsertSql, values: [json] });
      })
      .then(() => redis.hdel(heldKey, ...tags)) // ack only what is committed
      .then(() => {
        held -= tags.length;
        idle.push(pg);
        scheduleWrite();
        fetchMore();
      }, fail);
  });
}

async function main() {
  await Promise.all([...(ignoreResult ? [] : clients.map((c) => c.connect())), redis.ping()]);
  process.stdout.write('BENCH_READY\n');
  fetchMore();
}

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    stopping = true;
    process.stdout.write(`floor: ${JSON.stringify(stats)}\n`);
    // Anything still held stays in the held hash (nothing is lost); the bench wipes the keys.
    redis.disconnect();
    void Promise.all(clients.map((c) => c.end())).finally(() => process.exit(0));
  });
}

main().catch(fail);
