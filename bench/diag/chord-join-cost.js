'use strict';
/**
 * What W5's chord joins cost the worker, apart from everything else a member does: N joins of one
 * chord through RedisBroker.chordJoin, `-c` at a time as a worker's concurrent members finish
 * (each wave asked for together, as members whose results commit in one batch are), timed and
 * CPU-counted (process.cpuUsage) in this process only.
 *
 *   BENCH_NS=<you> node bench/diag/chord-join-cost.js [-n 10000] [-c 50] [--rounds 5]
 *
 * Uses the bench's Celeriac Redis database under its own key prefix and deletes its keys at the
 * end. Prints one JSON line per round and the medians. Takes no lock: it loads Redis lightly.
 */
process.env.CELERIAC_FROM_SOURCE = '1';
require('../../bin/register-ts').register();
const { randomUUID } = require('node:crypto');
const { createBroker, parseBrokerUrl } = require('../../src/broker');
const { REDIS_HOST, REDIS_PORT, NS } = require('../systems/ns');

const o = { n: 10_000, c: 50, rounds: 5 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '-n') o.n = Number(process.argv[++i]);
  else if (a === '-c') o.c = Number(process.argv[++i]);
  else if (a === '--rounds') o.rounds = Number(process.argv[++i]);
  else throw new Error(`unknown flag ${a}: -n N, -c C, --rounds K`);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const prefix = `${NS.celeriac.keyPrefix}diag-chord-join:`;
  const broker = createBroker(parseBrokerUrl(`redis://${REDIS_HOST}:${REDIS_PORT}/${NS.celeriac.redisDb}`), prefix);
  await broker.connect();
  const rounds = [];
  try {
    for (let r = 0; r <= o.rounds; r++) {
      const group = randomUUID();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let done = 0; done < o.n; done += o.c) {
        const wave = Array.from({ length: Math.min(o.c, o.n - done) }, (_, i) => `m${done + i}`);
        await Promise.all(wave.map((m) => broker.chordJoin(group, m, false, 60_000)));
      }
      const cpu = process.cpuUsage(cpu0);
      const round = { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 };
      await broker.redis.del(broker.keys.chord(group, 'done'), broker.keys.chord(group, 'failed'));
      if (r > 0) rounds.push(round); // the first round warms up (script load, JIT)
    }
  } finally {
    await broker.close();
  }
  console.log(
    JSON.stringify({
      n: o.n,
      c: o.c,
      ms: rounds.map((x) => Math.round(x.ms)),
      cpuMs: rounds.map((x) => Math.round(x.cpuMs)),
      medianMs: Math.round(median(rounds.map((x) => x.ms))),
      medianCpuMs: Math.round(median(rounds.map((x) => x.cpuMs))),
    }),
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
