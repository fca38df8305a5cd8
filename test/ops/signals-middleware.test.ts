import { join } from 'node:path';
import type { Celeriac } from '../../src';
import { cleanup, eventually, makeApp } from '../helpers';
import { explode, whoAmI } from '../fixtures/ops/tasks';

let app: Celeriac;
const seen: string[] = [];
beforeAll(async () => {
  app = await makeApp('signals', { apps: [join(__dirname, '../fixtures/ops')] });
  app.signals.connect('beforePublish', (info) => {
    info.headers.trace_id = `trace-${info.name}`;
  });
  app.signals.connect('afterPublish', (info) => void seen.push(`afterPublish:${info.name}`));
  app.signals.connect('taskPrerun', (t) => void seen.push(`prerun:${t.name}`));
  app.signals.connect('taskPostrun', (t, state) => void seen.push(`postrun:${t.name}:${state}`));
  app.signals.connect('taskSuccess', (t) => void seen.push(`success:${t.name}`));
  app.signals.connect('taskFailure', (t, e) => void seen.push(`failure:${t.name}:${e.type}:${e.message}`));
  app.signals.connect('workerReady', (w) => void seen.push(`ready:${w.name}`));
  app.signals.connect('taskSuccess', () => {
    throw new Error('a broken handler must not break the task');
  });
  app.signals.connect('taskPrerun', async () => {
    throw new Error('nor an async one');
  });
  app.use('task', async (ctx, next) => {
    ctx.locals.tenant = 'acme';
    ctx.locals.order = ['outer-before'];
    const result = await next();
    return result;
  });
  app.use('task', async (ctx, next) => {
    (ctx.locals.order as string[]).push('inner');
    return next();
  });
  await app.worker({ name: 'signals@test' }).start();
});
afterAll(() => cleanup(app));

test('task middleware wraps every run with a fresh context; beforePublish can add headers', async () => {
  const r = await whoAmI.delay();
  expect(await r.get({ timeout: 10 })).toEqual({
    tenant: 'acme',
    trace: 'trace-ops.whoAmI',
    order: ['outer-before', 'inner'],
  });
  const again = await whoAmI.delay();
  expect(((await again.get({ timeout: 10 })) as any).order).toEqual(['outer-before', 'inner']);
});

test('lifecycle signals fire in order; throwing handlers are ignored', async () => {
  const r = await explode.delay();
  await expect(r.get({ timeout: 10 })).rejects.toThrow(/kaboom/);
  await eventually(() => expect(seen).toContain('postrun:ops.explode:FAILURE'));
  expect(seen).toContain('ready:signals@test');
  expect(seen).toContain('afterPublish:ops.explode');
  // The worker's signals come in this order; afterPublish is the sender's and may land before or
  // after them when sender and worker share a process.
  const worker = seen.filter((s) => s.includes('ops.explode') && !s.startsWith('afterPublish'));
  expect(worker).toEqual(['prerun:ops.explode', 'failure:ops.explode:Error:kaboom', 'postrun:ops.explode:FAILURE']);
  expect(seen).toContain('success:ops.whoAmI');
});

test('publish middleware sees what is sent and can refuse it', async () => {
  const sent: string[] = [];
  app.use('publish', async (ctx, next) => {
    if (ctx.messages.some((m) => m.name === 'ops.explode')) throw new Error('explosions are not allowed today');
    sent.push(...ctx.messages.map((m) => m.name));
    await next();
  });
  await whoAmI.delay();
  expect(sent).toEqual(['ops.whoAmI']);
  await expect(explode.delay()).rejects.toThrow(/not allowed today/);
});
