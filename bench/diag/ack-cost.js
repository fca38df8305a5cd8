'use strict';
/**
 * What fetching and acking cost the worker's process, apart from everything else W1 measures:
 *
 *   node bench/diag/ack-cost.js [rounds=6] [batch=50] [src=../../src]
 *
 * Sends 10,000 no-op task messages to a scratch queue on the bench's Redis, then takes them with
 * the Redis broker's own `fetch` (batches of `batch`, as the worker's prefetch does) and lets go of
 * each batch with `ack` (as the acker sends one event-loop turn's acks), timing this process's CPU
 * around each call. Prints CPU ms per 1,000 messages for ack and fetch, one pair per round after
 * the first (warm-up). `src` points at another checkout's src/ to compare two versions of the
 * transport on the same machine in one sitting (issue 21: an ack by delivery tag against LREM of
 * the whole envelope).
 */
require('../../bin/register-ts').register();
const { resolve } = require('node:path');
const { randomUUID } = require('node:crypto');

const rounds = Number(process.argv[2] ?? 6);
const batch = Number(process.argv[3] ?? 50);
const src = resolve(__dirname, process.argv[4] ?? '../../src');
const { createBroker, parseBrokerUrl } = require(`${src}/broker/index`);
const { encodeTask } = require(`${src}/broker/message`);
const { outgoingTask } = require('../../test/outgoing');

const cpuMs = (since) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

(async () => {
  const prefix = `bench-ack-${process.pid}:`;
  const broker = createBroker(parseBrokerUrl(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0'), prefix);
  await broker.connect();
  const consumer = 'ack-cost';
  await broker.registerConsumer(consumer, 60_000);
  const messages = Array.from({ length: 1000 }, () => {
    const id = randomUUID();
    return {
      queue: 'q',
      priority: 0,
      raw: encodeTask(outgoingTask({ id, task: 'bench.noop', args: [id], queue: 'q' })),
    };
  });
  const rows = [];
  for (let r = 0; r < rounds; r++) {
    let ack = 0;
    let fetch = 0;
    for (let k = 0; k < 10; k++) {
      await broker.send(messages);
      for (;;) {
        let t = process.cpuUsage();
        const got = await broker.fetch(consumer, ['q'], batch, 0);
        fetch += cpuMs(t);
        if (got.length === 0) break;
        t = process.cpuUsage();
        await broker.ack(
          consumer,
          got.map((d) => ({ raw: d.raw })),
        );
        ack += cpuMs(t);
      }
    }
    if (r > 0) rows.push(`ack ${(ack / 10).toFixed(1)} · fetch ${(fetch / 10).toFixed(1)}`);
  }
  await broker.unregisterConsumer(consumer);
  await broker.close();
  console.log(`${src}: CPU ms per 1,000 messages (batches of ${batch}), one round a line:\n  ${rows.join('\n  ')}`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
