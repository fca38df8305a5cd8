import { join } from 'node:path';
import { ConfigError, type Celeriac } from '../../src';
import { cleanup, makeApp } from '../helpers';

/**
 * Found from outside (session 7) by giving app.worker() options of the wrong kind: `queues: 'a,b'`
 * (a string, as on the command line) threw a bare TypeError, and `name` took anything: a number,
 * an object ('[object Object]'), '' or a name longer than the result row's 100-character worker
 * column. Each must be a ConfigError naming the option, before start() connects.
 */

let app: Celeriac;

beforeAll(async () => {
  app = await makeApp('probe_worker_name', { apps: [join(__dirname, '../fixtures/apps/math')] });
});
afterAll(() => cleanup(app));

test.each([
  ['queues', 'a,b'],
  ['queues', {}],
  ['queues', ['ok', 5]],
  ['name', ''],
  ['name', 42],
  ['name', {}],
  ['name', 'w'.repeat(101)],
])('worker %s = %p: a ConfigError naming it', (key, value) => {
  let thrown: unknown;
  try {
    app.worker({ [key]: value } as never);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  expect((thrown as ConfigError).key).toMatch(new RegExp(`^(worker\\.)?${key}`));
});

test('a 100-character name is a worker that runs tasks', async () => {
  const worker = app.worker({ name: 'w'.repeat(100), queues: ['celery'] });
  await worker.start();
  try {
    const r = await app.sendTask('math.add', [2, 3]);
    expect(await r.get({ timeout: 20 })).toBe(5);
    expect((await r.info())?.worker).toBe('w'.repeat(100));
  } finally {
    await worker.stop();
  }
});
