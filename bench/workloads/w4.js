'use strict';
/**
 * W4 crash: N tasks of 50 ms queued; one worker starts; when ~30 % of them have finished
 * (issue 8: "~300 of 1,000") its whole process group gets SIGKILL and a second worker starts at
 * once. Each execution RPUSHes its task's bench id at start and at end (Redis DB 4), so runs are
 * counted per task: completed = result visible in the store at the end, lost = N − completed,
 * ran twice = ids started more than once, completed twice = ids that finished more than once.
 * Recovery = kill → all N results visible; the watch ends after the system's window (its
 * documented redelivery bound plus margin), and what is missing then is reported as lost.
 */
const { sleep } = require('../lib/proc');
const { tagFor } = require('./common');

function countById(list) {
  const m = new Map();
  for (const id of list) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

async function run(sys, env, opts, runIndex) {
  const n = opts.w4Tasks;
  const tag = tagFor(sys, 'w4', runIndex);
  const exec = env.redis(require('../systems/ns').NS.exec.redisDb);
  const windowMs = opts.quick ? (sys.w4QuickWindowMs ?? opts.w4QuickWindowMs) : sys.w4WindowMs;
  await sys.reset(env);
  await exec.del(sys.execKey + 'start', sys.execKey + 'end');
  await sys.sender(env, tag, 'w4', n).result(60_000 + n * 20);

  const first = sys.worker(env, `${tag}-first`);
  let second;
  const out = { n, windowMs };
  try {
    await first.waitFor('T0', 60_000);
    const killAt = Math.round(n * 0.3);
    const deadline = Date.now() + 60_000 + n * 100;
    let ended = 0;
    while ((ended = await exec.llen(sys.execKey + 'end')) < killAt) {
      if (Date.now() > deadline || first.exitInfo)
        throw new Error(`${sys.name}: only ${ended} of ${n} tasks ran before the kill point`);
      await sleep(2);
    }
    first.killGroup('SIGKILL');
    const tKill = Date.now();
    out.completedAtKill = ended;
    await first.exited;
    second = sys.worker(env, `${tag}-second`);
    let done = 0;
    for (;;) {
      done = await sys.doneCount(env, n);
      if (done >= n) {
        out.recoverySec = (Date.now() - tKill) / 1000;
        break;
      }
      if (Date.now() - tKill > windowMs) {
        out.recoverySec = null; // not recovered within the window
        break;
      }
      await sleep(20);
    }
    out.completed = done;
    out.lost = n - done;
    const starts = countById(await exec.lrange(sys.execKey + 'start', 0, -1));
    const ends = countById(await exec.lrange(sys.execKey + 'end', 0, -1));
    out.ranTwice = [...starts.values()].filter((c) => c > 1).length;
    out.completedTwice = [...ends.values()].filter((c) => c > 1).length;
    out.neverStarted = n - starts.size;
  } finally {
    first.killGroup('SIGKILL');
    if (second) await second.stop();
    await exec.del(sys.execKey + 'start', sys.execKey + 'end');
  }
  return out;
}

module.exports = { name: 'w4', run };
