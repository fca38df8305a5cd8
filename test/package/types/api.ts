/**
 * Type tests of the public API, as an app that installed the package sees it: every line compiles
 * under `strict`, and every `@ts-expect-error` line must fail to compile (tsc reports a directive
 * that no longer has an error to hide). Checked by `npm run typecheck` against src/ (tsconfig's
 * `paths`), and by test/package/consumer.test.ts against the installed tarball, in a CommonJS app
 * (legacy decorators) and an ES-module app (standard decorators). Never run, only compiled.
 */
import express from 'express';
import {
  Celeriac,
  task,
  taskOf,
  taskStatusJson,
  BulkSendError,
  type AsyncResult,
  type TaskContext,
  type TaskState,
  type TaskStatus,
  type Worker,
  type WorkerOptions,
  type CeleriacOptions,
  type EagerResult,
  chain,
  states,
  isHigherState,
} from 'celeriac';
import { eagerApp } from 'celeriac/testing';

export const add = task('types.add', (_ctx, a: number, b: number) => a + b);
export const greet = task('types.greet', async (ctx, name: string) => ({ hello: name, try: ctx.retries }));
export const named = task(async function digest(ctx: TaskContext) {
  return ctx.scheduledAt ? ctx.scheduledAt.toISOString() : null;
});

export class Reports {
  @task({ trackStarted: true })
  async build(ctx: TaskContext, id: number, title: string) {
    await ctx.progress(1, 2, { step: 'one' });
    return { id, title, by: ctx.hostname };
  }

  @task({ name: 'types.flush' })
  static async flush(_ctx: TaskContext) {
    return 1;
  }
}

export async function sending(app: Celeriac): Promise<void> {
  const sum: number = await (await add.delay(1, 2)).get({ timeout: 5 });
  // @ts-expect-error a string where the task takes a number
  await add.delay('1', 2);
  // @ts-expect-error too few arguments
  await add.delay(1);
  await add.applyAsync([1, 2], {}, { countdown: 5, queue: 'math', priority: 3 });
  // @ts-expect-error args are the task's parameter tuple
  await add.applyAsync([1, 'two']);
  // @ts-expect-error countdown is in seconds, a number
  await add.applyAsync([1, 2], {}, { countdown: '5' });

  const hello = await (await greet.delay('ada')).get();
  const text: string = hello.hello;
  // @ts-expect-error the result has no such field
  void hello.goodbye;

  const built = await taskOf(Reports.prototype.build).delay(7, 'Q3');
  const row = await built.get();
  const id: number = row.id;
  // @ts-expect-error build takes (id: number, title: string)
  await taskOf(Reports.prototype.build).delay('7', 'Q3');
  await taskOf(Reports.flush).delay();

  const many: AsyncResult<number>[] = await add.applyAsyncMany([[1, 2], { args: [3, 4], options: { countdown: 1 } }]);
  // @ts-expect-error every item is the task's parameter tuple
  await add.applyAsyncMany([[1, 'x']]);
  // @ts-expect-error a shared taskId is refused at run time; per item only, and not as a number
  await add.applyAsyncMany([[1, 2]], { taskId: 1 });
  await app.sendMany([{ name: 'types.add', args: [1, 2] }, { name: 'other.service' }], { chunkSize: 500 });
  // @ts-expect-error every item names its task
  await app.sendMany([{ args: [1] }]);

  const remote = await app.sendTask<{ ok: boolean }>('other.service', [1], { k: 'v' });
  const ok: boolean = (await remote.get()).ok;
  const state: TaskStatus | 'UNKNOWN' = await remote.status();
  void [sum, text, id, many, ok, state];
}

export function errors(err: unknown): string[] {
  return err instanceof BulkSendError ? err.sentIds : [];
}

export function express5(app: Celeriac): express.Express {
  const web = express();
  web.use(app.middleware());
  web.get('/tasks/:id', async (req, res) => {
    const row = await req.celeriac.asyncResult<number>(req.params.id).info();
    res.json(row ? taskStatusJson(row) : { id: req.params.id, state: 'UNKNOWN' });
  });
  web.use('/admin', app.admin({ authorize: (req) => req.get('x-staff') === 'yes' }));
  return web;
}

export function configuration(): Celeriac {
  const options: CeleriacOptions = { apps: ['./reports'], logLevel: 'warn', logFormat: 'json' };
  // @ts-expect-error not a log level
  void new Celeriac({ logLevel: 'verbose' });
  // @ts-expect-error unknown option (a typo)
  void new Celeriac({ brokerUlr: 'redis://x' });
  return new Celeriac(options);
}

export function workers(app: Celeriac): Worker {
  const options: WorkerOptions = { concurrency: 4, pool: 'threads', queues: ['celery'] };
  const worker: Worker = app.worker(options);
  worker.on('task-finished', (taskId: string, state: TaskState) => void [taskId, state]);
  return worker;
}

export async function eager(): Promise<number> {
  const app: Celeriac = eagerApp({ apps: ['./reports'], eagerPropagates: false });
  const r: EagerResult<number> = await add.apply([1, 2]);
  // @ts-expect-error apply takes the task's own parameters
  void add.apply(['1', 2]);
  await add.apply([1, 2], {}, { throw: true, taskId: 'x' });
  await chain(add.s(1, 2), add.s(3)).apply([], {}, { throw: false });
  await app.close();
  return r.get();
}

export const stages = task('types.stages', async (ctx) => {
  await ctx.updateState('DOWNLOADING', { done: 1 });
  // @ts-expect-error meta is an object
  await ctx.updateState('DOWNLOADING', 3);
  return states.READY_STATES.has(states.SUCCESS) && isHigherState('SUCCESS', 'PENDING');
});
