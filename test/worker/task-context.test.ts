import { decodeTask } from '../../src/broker/message';
import { executeTask } from '../../src/worker/execute';
import { LazyAbort } from '../../src/worker/lazy-abort';
import type { TaskContext } from '../../src';
import { testMessage } from '../broker/task-message';

/**
 * A body that takes `progress` or `updateState` off the context, or hands them on as callbacks,
 * must still record.
 */
test('progress and updateState work taken off the context; locals are fresh per run', async () => {
  const recorded: [string, unknown][] = [];
  const seen: Record<string, unknown>[] = [];
  const run = async (body: (ctx: TaskContext) => Promise<unknown>) =>
    executeTask(
      { run: (ctx: TaskContext) => body(ctx), options: { autoretryFor: [] } } as never,
      decodeTask(testMessage('ctx.t', 'celery').raw),
      { hostname: 'h@test', abort: new LazyAbort(), updateState: async (s, m) => void recorded.push([s, m]) },
    );
  const outcome = await run(async (ctx) => {
    const { progress, updateState, retry } = ctx;
    await progress(1, 2);
    await [3].map((n) => updateState('STEP', { n }))[0];
    seen.push(ctx.locals);
    ctx.locals.x = 1;
    expect(ctx.progress).toBe(progress); // one per run, not one per read
    expect(typeof retry).toBe('function');
    return ctx.id;
  });
  expect(outcome).toMatchObject({ kind: 'success' });
  await run(async (ctx) => void seen.push(ctx.locals));
  expect(recorded).toEqual([
    ['PROGRESS', { done: 1, total: 2 }],
    ['STEP', { n: 3 }],
  ]);
  expect(seen).toEqual([{ x: 1 }, {}]);
  expect(seen[0]).not.toBe(seen[1]);
});

test('retry taken off the context still asks for a retry', async () => {
  const outcome = await executeTask(
    { run: (ctx: TaskContext) => ctx.retry.call(undefined, { countdown: 2 }), options: { autoretryFor: [] } } as never,
    decodeTask(testMessage('ctx.t', 'celery').raw),
    { hostname: 'h@test', abort: new LazyAbort(), updateState: async () => {} },
  );
  expect(outcome).toMatchObject({ kind: 'retry', countdownMs: 2000 });
});

test('a middleware or body may replace progress and updateState on the context, as on the object literal it was', async () => {
  const recorded: string[] = [];
  const outcome = await executeTask(
    {
      run: async (ctx: TaskContext) => {
        const original = ctx.progress;
        ctx.progress = async (done, total) => {
          recorded.push(`wrapped ${done}/${total}`);
          return original(done, total);
        };
        await ctx.progress(1, 2);
        ctx.updateState = async (state) => void recorded.push(`replaced ${state}`);
        await ctx.updateState('STEP');
        return null;
      },
      options: { autoretryFor: [] },
    } as never,
    decodeTask(testMessage('ctx.t', 'celery').raw),
    { hostname: 'h@test', abort: new LazyAbort(), updateState: async (s) => void recorded.push(s) },
  );
  expect(outcome).toMatchObject({ kind: 'success' });
  expect(recorded).toEqual(['wrapped 1/2', 'PROGRESS', 'replaced STEP']);
});

/**
 * A body that hands `{ ...ctx, extra }` to a helper before reading anything off ctx: the copy
 * has progress, updateState, retry and locals (the same locals), and none of the context's
 * internals. signal is the one member a spread leaves out (making its AbortController for every
 * run costs ~5 µs a task; see RunContext): a helper that needs it is handed ctx.signal.
 */
test('a spread of the context keeps progress, updateState, retry and locals, read or not', async () => {
  const recorded: [string, unknown][] = [];
  let copy: Record<string, unknown> = {};
  let locals: unknown;
  const outcome = await executeTask(
    {
      run: async (ctx: TaskContext) => {
        copy = { ...ctx };
        locals = ctx.locals;
        const helper = copy as unknown as TaskContext;
        await helper.progress(1, 2);
        await helper.updateState('STEP', { n: 3 });
        return helper.retry({ countdown: 2 });
      },
      options: { autoretryFor: [] },
    } as never,
    decodeTask(testMessage('ctx.t', 'celery').raw),
    { hostname: 'h@test', abort: new LazyAbort(), updateState: async (s, m) => void recorded.push([s, m]) },
  );
  expect(outcome).toMatchObject({ kind: 'retry', countdownMs: 2000 });
  expect(recorded).toEqual([
    ['PROGRESS', { done: 1, total: 2 }],
    ['STEP', { n: 3 }],
  ]);
  expect(copy.locals).toBe(locals);
  expect(Object.keys(copy).sort()).toEqual(
    [
      'id',
      'name',
      'retries',
      'args',
      'kwargs',
      'hostname',
      'queue',
      'parentId',
      'rootId',
      'groupId',
      'headers',
      'scheduledAt',
      'locals',
      'progress',
      'updateState',
      'retry',
    ].sort(),
  );
});

/**
 * Code that wraps the context instead of copying it (a Proxy, or `Object.create(ctx)` to add a
 * field without losing the lazy signal) still reads ctx.signal: a private `#abort` field made the
 * getter throw "Cannot read private member" for both, where reading the pool's abort through
 * `this` had worked.
 */
test('signal is readable through a Proxy of the context and an object made from it', async () => {
  const abort = new LazyAbort();
  const seen: AbortSignal[] = [];
  const outcome = await executeTask(
    {
      run: async (ctx: TaskContext) => {
        seen.push(new Proxy(ctx, {}).signal, Object.create(ctx).signal, ctx.signal);
      },
      options: { autoretryFor: [] },
    } as never,
    decodeTask(testMessage('ctx.t', 'celery').raw),
    { hostname: 'h@test', abort, updateState: async () => {} },
  );
  expect(outcome).toMatchObject({ kind: 'success' });
  expect(seen).toEqual([abort.signal, abort.signal, abort.signal]);
  expect(seen[0]).toBe(abort.signal);
  expect(seen[1]).toBe(abort.signal);
});
