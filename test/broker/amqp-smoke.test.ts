import { join } from 'node:path';
import type { Celeriac } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { cleanup, makeApp } from '../helpers';
import { testBroker, type TestBroker } from '../brokers';
import { quick } from '../fixtures/behave/tasks';

let app: Celeriac;
let worker: Worker;
let broker: TestBroker;
beforeAll(async () => {
  broker = await testBroker('amqp', 'smoke');
  app = await makeApp('smoke', { apps: [join(__dirname, '../fixtures/behave')], brokerUrl: broker.brokerUrl });
  worker = app.worker({ name: 'w1@test', concurrency: 4 });
  await worker.start();
}, 60_000);
afterAll(async () => {
  await worker?.stop();
  await cleanup(app);
  await broker?.dispose();
}, 60_000);

test('a task runs on RabbitMQ', async () => {
  const r = await quick.delay(7);
  expect(await r.get({ timeout: 10 })).toMatchObject({ n: 7, worker: 'w1@test' });
});
