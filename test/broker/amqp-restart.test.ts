import { join } from 'node:path';
import type { Celeriac } from '../../src';
import { BrokerUnavailableError } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { cleanup, eventually, makeApp } from '../helpers';
import { PrivateRabbit } from './private-rabbit';

/**
 * RabbitMQ killed (SIGKILL) and started again while tasks are being sent and run. Publisher
 * confirms mean a send that returned is in the broker (persistent, on a durable queue), so it
 * survives the crash; the worker's connection and channels come back by themselves, consume
 * again, and whatever it held unacked is redelivered. Counted: sends that returned and whose task
 * never finished (lost sends), and finished tasks without a result row (lost results).
 */
const rabbit = new PrivateRabbit(1);
let app: Celeriac;
let worker: Worker;

beforeAll(async () => {
  await rabbit.start();
  app = await makeApp('amqp_restart', { apps: [join(__dirname, '../fixtures/behave')], brokerUrl: rabbit.url });
  worker = app.worker({ name: 'restart@test', concurrency: 10 });
  await worker.start();
}, 180_000);

afterAll(async () => {
  await worker?.stop(1000).catch(() => {});
  if (app) await cleanup(app);
  await rabbit.dispose();
}, 60_000);

test('a RabbitMQ restart under load loses no confirmed send and no result', async () => {
  const TOTAL = 1000;
  const confirmed: string[] = [];
  let refused = 0;
  let next = 0;
  // Ten senders in a loop; a send the outage refused (it outlasted the send's retry window) is
  // sent again by the sender, as an application would: it was never confirmed, so never counted.
  const sender = async () => {
    while (next < TOTAL) {
      const n = next++;
      for (;;) {
        try {
          const r = await app.sendTask('behave.quick', [n]);
          confirmed.push(r.id);
          break;
        } catch (err) {
          if (!(err instanceof BrokerUnavailableError)) throw err;
          refused++;
        }
      }
    }
  };
  const senders = Promise.all(Array.from({ length: 10 }, sender));
  await eventually(() => expect(confirmed.length).toBeGreaterThanOrEqual(300), 60_000, 10);
  await rabbit.kill();
  const killedAt = Date.now();
  await rabbit.start();
  const restartedAt = Date.now();
  await senders;
  expect(confirmed).toHaveLength(TOTAL);
  const store = await app.results();
  const done = await eventually(
    async () => {
      const rows = await store.getMany(confirmed);
      const ok = rows.filter((r) => r.status === 'SUCCESS');
      expect(ok.length).toBe(TOTAL);
      return ok;
    },
    120_000,
    200,
  );
  expect(new Set(done.map((r) => (r.result as { n: number }).n)).size).toBe(TOTAL);
  console.log(
    `RabbitMQ restart: down ${((restartedAt - killedAt) / 1000).toFixed(1)} s; ${TOTAL} confirmed sends, 0 lost; ` +
      `${refused} sends refused during the outage and sent again; all ${TOTAL} results recorded ` +
      `${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the restart`,
  );
}, 300_000);
