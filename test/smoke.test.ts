import { join } from 'node:path';
import { cleanup, makeApp } from './helpers';
import { taskOf } from '../src';
import type { Celeriac } from '../src';
import { add, boom } from './fixtures/apps/math/tasks';
import { MailTasks } from './fixtures/apps/mail/tasks';

let app: Celeriac;
beforeAll(async () => {
  app = await makeApp('smoke', {
    apps: [join(__dirname, 'fixtures/apps/math'), join(__dirname, 'fixtures/apps/mail')],
  });
});
afterAll(() => cleanup(app));

test('send, run, get', async () => {
  const worker = app.worker({ queues: ['celery', 'mail'] });
  await worker.start();
  const r = await add.delay(2, 3);
  expect(await r.get({ timeout: 10 })).toBe(5);
  const m = await taskOf(MailTasks.prototype.send).delay('a@b.c', 'hi');
  expect(await m.get({ timeout: 10 })).toEqual({ to: 'a@b.c', subject: 'hi', count: 1 });
  const b = await boom.delay();
  await expect(b.get({ timeout: 10 })).rejects.toThrow(/RangeError: boom/);
  await worker.stop();
});
