'use strict';
/**
 * W3 beat (issue 8). Per shape, per system: schedules written to the system's own store, its
 * scheduler and a worker started as children of the harness, then watched:
 *
 *   burst-N    N crontab schedules `M H * * *`, all due at the same minute (the first whole minute
 *              far enough ahead for set-up and start-up); watched until all N started, or 90 s
 *   spread-N   N interval schedules of 60 s whose start times spread evenly over a minute that
 *              begins a minute after the beat is up (that first minute, with N rows and nothing
 *              due, is the idle window); watched for --w3-minutes minutes plus 30 s of grace.
 *              N takes k and m (spread-1m); a system's adapter may cap N (maxN, with its reason),
 *              and Celeriac's replaces the worker by a queue drain from 1m (systems/celeriac/drain.js)
 *   --quick    spread-50 with a 10 s period, 2 periods (burst-50 due at the next minute for a
 *              system without interval schedules): a smoke test, its figures mean nothing
 *
 * Records, in Redis DB 4 under bench:exec:<system>:w3:…: every run's start (`start`: schedule,
 * slot, start instant, task id), written by the task, and every send (`sent`: schedule, slot, send
 * instant), written by the beat after the send (Celeriac: afterPublish; Celery: after_task_publish),
 * or read from the system's own trace (BullMQ: the job's `waiting` event; graphile-worker: the job
 * row's created_at). A system that does not say which slot a run is for (django-celery-beat) has
 * its runs assigned to its slots in order.
 *
 * Figures: send and start lateness (instant − slot) p50/p99/max over the expected slots (slots due
 * before the window ends); missed = expected slots with no start by the end of the watch;
 * duplicates = slots that started more than once; sendMissed = expected slots never sent; unexpected = runs for slots that are not in the
 * plan; beat CPU (utime+stime of the beat's process tree, /proc) in the idle window and while
 * runs are due, as % of one core; start-up = spawn → the beat's ready line (Celeriac also: spawn →
 * every row planned). For BullMQ and graphile-worker the scheduler is the worker process, so its
 * CPU includes running the tasks.
 */
const { sleep, until } = require('../lib/proc');
const { cpuDelta } = require('../lib/cpu');
const { percentile } = require('../lib/stats');
const { NS } = require('../systems/ns');

/** Systems whose scheduler another system already measures. */
const SAME_SCHEDULER = {
  'graphile-batched': 'same crontab scheduler as graphile-worker (batching changes the worker only); W3 runs it once',
  'celery-threads': 'same beat (django-celery-beat) as Celery (prefork); W3 runs it once',
};

function parseShape(name) {
  const m = /^(burst|spread)-(\d+)([km]?)$/.exec(name);
  if (!m)
    throw new Error(`W3 shape '${name}': expected burst-<n> or spread-<n> (e.g. burst-1k, spread-100k, spread-1m)`);
  return { name, kind: m[1], n: Number(m[2]) * { '': 1, k: 1000, m: 1_000_000 }[m[3]] };
}

async function run(sys, env, opts) {
  if (!sys.beat) return { skipped: SAME_SCHEDULER[sys.name] ?? 'no W3 adapter' };
  const out = { shapes: {} };
  const failed = [];
  for (const name of opts.w3Shapes) {
    let shape = parseShape(name);
    if (sys.beat.maxN !== undefined && shape.n > sys.beat.maxN) {
      out.shapes[name] = {
        skipped: `not run above ${sys.beat.maxN.toLocaleString('en')} schedules: ${sys.beat.maxNWhy}`,
      };
      continue;
    }
    if (!sys.beat.kinds.includes(shape.kind)) {
      if (!opts.quick) {
        out.shapes[name] = { skipped: `not applicable: ${sys.beat.notApplicable}` };
        continue;
      }
      shape = { ...shape, kind: 'burst', name: `burst-${shape.n}` };
    }
    try {
      out.shapes[shape.name] = await runShape(sys, env, opts, shape);
    } catch (err) {
      out.shapes[shape.name] = { error: err.message };
      failed.push(`${shape.name}: ${err.message}`);
    }
  }
  if (failed.length) throw new Error(`W3 ${failed.join('; ')}`);
  return out;
}

async function runShape(sys, env, opts, shape) {
  const b = sys.beat;
  const quick = opts.quick;
  const tag = `${sys.name}-w3-${shape.name}`;
  const exec = env.redis(NS.exec.redisDb);
  const keys = { start: sys.execKey + 'w3:start', sent: sys.execKey + 'w3:sent' };
  const base = { sysName: sys.name, tag, kind: shape.kind, n: shape.n };
  await sys.reset(env);
  await b.reset(env, base);
  await exec.del(keys.start, keys.sent);

  // When the runs fall due: far enough ahead for set-up and start-up (and, for the spread, a
  // whole idle minute after that).
  const lead = quick ? 10_000 : b.leadMs(base);
  const now = Date.now();
  let plan;
  let slotsOf;
  if (shape.kind === 'burst') {
    const dueMs = Math.ceil((now + lead) / 60_000) * 60_000;
    plan = { ...base, dueMs, firstDueMs: dueMs, windowEndMs: dueMs + 1, graceMs: quick ? 20_000 : 90_000 };
    slotsOf = () => [dueMs];
  } else {
    const periodMs = quick ? 10_000 : 60_000;
    const periods = quick ? 2 : opts.w3Minutes;
    const idleMs = quick ? 0 : 60_000;
    const t0Ms = Math.ceil((now + lead + idleMs) / 1000) * 1000;
    plan = {
      ...base,
      periodMs,
      t0Ms,
      firstDueMs: t0Ms,
      windowEndMs: t0Ms + periods * periodMs,
      graceMs: quick ? 8_000 : 30_000,
    };
    slotsOf = (i) => {
      const first = t0Ms + Math.floor((i * periodMs) / shape.n);
      return Array.from({ length: periods }, (_, k) => first + k * periodMs);
    };
  }
  plan.timeoutMs = plan.windowEndMs + plan.graceMs - now + 180_000;
  const out = { n: shape.n, kind: shape.kind, expected: shape.n * slotsOf(0).length, leadMs: plan.firstDueMs - now };

  const t = Date.now();
  await b.setup(env, plan);
  out.setupMs = Date.now() - t;
  if (Date.now() > plan.firstDueMs - 2000)
    throw new Error(`set-up took ${out.setupMs} ms, past the first due instant: raise leadMs`);

  const spawnAt = Date.now();
  const { beat, worker } = b.start(env, tag, plan);
  const beatProc = beat ?? worker;
  const sentState = { sent: [] };
  try {
    const ready = await beatProc.waitFor('READY', Math.max(60_000, plan.windowEndMs - Date.now()));
    out.startupMs = ready.at - spawnAt;
    if (b.planned) {
      const ok = await until(() => b.planned(env), {
        timeoutMs: Math.max(10_000, plan.windowEndMs - Date.now()),
        stepMs: 50,
      });
      out.plannedMs = ok ? Date.now() - spawnAt : null;
    }
    if (beat) await worker.waitFor('READY', 120_000);

    // Idle: the beat is up, every row is in place, nothing is due yet.
    const idleFrom = Date.now() + 1000;
    const idleTo = plan.firstDueMs - 1000;
    let snap;
    if (idleTo - idleFrom >= (quick ? 3000 : 10_000)) {
      await sleep(idleFrom - Date.now());
      const s0 = beatProc.cpuSnapshot();
      await sleep(idleTo - Date.now());
      snap = beatProc.cpuSnapshot();
      out.idleWindowMs = Date.now() - idleFrom;
      out.idleCpuPct = (cpuDelta(s0, snap) / out.idleWindowMs) * 100;
    } else {
      await sleep(Math.max(0, idleTo - Date.now()));
      snap = beatProc.cpuSnapshot();
    }

    // Due: watch until every burst run started (then 2 s more, for duplicates) or the window and
    // its grace are over.
    const busyFrom = Date.now();
    const watchEnd = plan.windowEndMs + plan.graceMs;
    let busyTo = null;
    let busySnap = null;
    let allStartedAt = null;
    while (Date.now() < watchEnd) {
      await sleep(250);
      if (b.poll) await b.poll(env, sentState);
      if (beatProc.exitInfo)
        throw new Error(
          `${beatProc.name} exited (code ${beatProc.exitInfo.code}) during the run${beatProc.tailText()}`,
        );
      if (!busySnap && Date.now() >= plan.windowEndMs && shape.kind === 'spread') {
        busySnap = beatProc.cpuSnapshot();
        busyTo = Date.now();
      }
      if (shape.kind === 'burst' && Date.now() > plan.dueMs) {
        if (allStartedAt === null && (await exec.llen(keys.start)) >= shape.n) {
          allStartedAt = Date.now();
          busySnap = beatProc.cpuSnapshot();
          busyTo = Date.now();
        }
        if (allStartedAt !== null && Date.now() - allStartedAt >= 2000) break;
      }
    }
    if (!busySnap) {
      busySnap = beatProc.cpuSnapshot();
      busyTo = Date.now();
    }
    out.busyCpuMs = cpuDelta(snap, busySnap);
    out.busyWindowMs = busyTo - busyFrom;
    out.busyCpuPct = (out.busyCpuMs / out.busyWindowMs) * 100;
    out.peakRssMiB = beatProc.peakRssKb() / 1024;
  } finally {
    if (beat) await beat.stop();
    if (b.poll) await b.poll(env, sentState).catch(() => {});
    await worker.stop();
  }

  const starts = (await readList(exec, keys.start)).map(parseRecord);
  const sents = [...(await readList(exec, keys.sent)), ...sentState.sent].map(parseRecord);
  await exec.del(keys.start, keys.sent);
  const st = analyze(starts, shape.n, slotsOf, plan.windowEndMs, b.slotsInOrder);
  const se = analyze(sents, shape.n, slotsOf, plan.windowEndMs, b.slotsInOrder);
  Object.assign(out, {
    started: st.found,
    missed: st.missed,
    duplicates: st.duplicates,
    unexpected: st.unexpected,
    startP50: percentile(st.lateness, 50),
    startP99: percentile(st.lateness, 99),
    startMax: percentile(st.lateness, 100),
    sent: se.found,
    sendMissed: se.missed,
    sentDuplicates: se.duplicates,
    sendP50: percentile(se.lateness, 50),
    sendP99: percentile(se.lateness, 99),
    sendMax: percentile(se.lateness, 100),
  });
  return out;
}

/** A whole list, read in slices: at a million schedules one LRANGE reply would be ~200 MB. */
async function readList(redis, key) {
  const out = [];
  for (let from = 0; ; from += 200_000) {
    const part = await redis.lrange(key, from, from + 199_999);
    for (const x of part) out.push(x); // not push(...part): 200,000 arguments overflow the stack
    if (part.length < 200_000) return out;
  }
}

/** `schedule|slot ms (may be empty)|instant ms|task id` */
function parseRecord(line) {
  const [i, due, at, id] = line.split('|');
  return { i: Number(i), due: due === '' ? null : Number(due), at: Number(at), id };
}

/**
 * Matches records to the plan's slots. With `inOrder` (the record has no slot), each schedule's
 * distinct task ids, by time, take its slots in order; a task id seen twice is a duplicate.
 */
function analyze(records, n, slotsOf, windowEndMs, inOrder) {
  const bySlot = new Map();
  if (inOrder) {
    const bySched = new Map();
    const seen = new Map();
    for (const r of records) seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
    for (const r of records.sort((a, b) => a.at - b.at)) {
      if (!bySched.has(r.i)) bySched.set(r.i, []);
      const list = bySched.get(r.i);
      if (!list.some((x) => x.id === r.id)) list.push(r);
    }
    for (const [i, list] of bySched) {
      const slots = slotsOf(i);
      list.forEach((r, k) => {
        const due = k < slots.length ? slots[k] : Infinity;
        bySlot.set(`${i}@${due}`, { at: r.at, count: seen.get(r.id) });
      });
    }
  } else {
    for (const r of records) {
      const key = `${r.i}@${r.due}`;
      const cur = bySlot.get(key);
      if (cur) {
        cur.count++;
        cur.at = Math.min(cur.at, r.at);
      } else bySlot.set(key, { at: r.at, count: 1, due: r.due });
    }
  }
  const lateness = [];
  let missed = 0;
  let duplicates = 0;
  let expectedFound = 0;
  const expected = new Set();
  for (let i = 0; i < n; i++) {
    for (const due of slotsOf(i)) {
      const key = `${i}@${due}`;
      expected.add(key);
      const hit = bySlot.get(key);
      if (!hit) {
        missed++;
        continue;
      }
      expectedFound++;
      lateness.push(hit.at - due);
      if (hit.count > 1) duplicates++;
    }
  }
  let unexpected = 0;
  if (!inOrder) for (const [key, v] of bySlot) if (!expected.has(key) && v.due < windowEndMs) unexpected++;
  return { lateness, missed, duplicates, unexpected, found: expectedFound };
}

module.exports = { name: 'w3', run, parseShape, analyze };
