'use strict';
/** CPU time (user + system) of processes, from /proc/<pid>/stat, in ms. */
const { readFileSync, readdirSync } = require('node:fs');

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** pid → CPU ms so far. */
function cpuByPid(pids) {
  const out = new Map();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(fields[11]) + Number(fields[12])) * TICK_MS); // utime, stime
    } catch {
      /* exited */
    }
  }
  return out;
}

function cpuMsOf(pids) {
  let total = 0;
  for (const ms of cpuByPid(pids).values()) total += ms;
  return total;
}

/**
 * CPU used between two cpuByPid() snapshots: processes seen twice count their difference,
 * processes born in between count whole; one that exited in between is lost (an undercount).
 */
function cpuDelta(before, after) {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** Every process whose command name is one of `names` (e.g. postgres, redis-server). */
function pidsNamed(...names) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (names.includes(readFileSync(`/proc/${d}/comm`, 'utf8').trim())) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Snapshot of the shared services, so a run can say what its work cost Redis, RabbitMQ and Postgres. */
function servicesCpu() {
  return {
    redis: cpuByPid(pidsNamed('redis-server')),
    rabbitmq: cpuByPid(pidsNamed('beam.smp')), // the Erlang VM RabbitMQ runs in
    postgres: cpuByPid(pidsNamed('postgres')),
  };
}

module.exports = { cpuByPid, cpuMsOf, cpuDelta, pidsNamed, servicesCpu };
