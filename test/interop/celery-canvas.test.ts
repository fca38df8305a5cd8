import { join } from 'node:path';
import { chain, group, GroupResult, signature } from '../../src';
import type { Celeriac } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { cleanup, makeApp } from '../helpers';
import { add } from './fixtures/interop/tasks';
import { PythonSide, type PythonWorker } from './python';

/**
 * Nested work-flows across languages, in Celery 5.2's wire form: Python Celery builds and sends
 * them for a Celeriac worker to run (a chain holding a group, which Celery turns into a chord;
 * a group of chains), and a Celeriac app sends one whose first step a Python worker runs before
 * handing a group back to Celeriac.
 */
const JS_QUEUE = 'js-canvas';
const PY_QUEUE = 'py-canvas';

let app: Celeriac;
let python: PythonSide;
let jsWorker: Worker;
let pyWorker: PythonWorker | undefined;

beforeAll(async () => {
  app = await makeApp('interop_canvas', {
    apps: [join(__dirname, 'fixtures/interop')],
    routes: { 'interop.double': { queue: PY_QUEUE } }, // a Python task: sent by name, routed to its queue
  });
  python = new PythonSide(__dirname, app.config.keyPrefix, `${app.config.keyPrefix}interop:records`);
  jsWorker = app.worker({ name: 'js-canvas@test', queues: [JS_QUEUE], concurrency: 4 });
  await jsWorker.start();
});

afterAll(async () => {
  await pyWorker?.stop();
  python?.close();
  if (app) await cleanup(app);
});

const js = (task: string, args: unknown[] = []) => ({ task, args, queue: JS_QUEUE });

test('Python sends chain(a, group(b, c), d): Celery makes it a chord, a Celeriac worker runs it', async () => {
  const sent = await python.sendTasks({
    canvas: {
      chain: [
        js('interop.add', [1, 2]),
        { group: [js('interop.add', [10]), js('interop.add', [20])] },
        js('interop.sum'),
      ],
    },
  });
  // 1 + 2 = 3; the group gets 3: [13, 23]; the body sums them
  expect(await app.asyncResult(sent.id).get({ timeout: 30 })).toBe(36);
  const body = (await app.asyncResult(sent.id).info())!;
  expect(body).toMatchObject({ taskName: 'interop.sum', args: [[13, 23]], worker: 'js-canvas@test' });
});

test('Python sends group(chain(…), chain(…)): each chain runs in order, its last task in the group', async () => {
  const sent = await python.sendTasks({
    canvas: {
      group: [
        { chain: [js('interop.add', [1, 1]), js('interop.add', [1])] },
        { chain: [js('interop.add', [2, 2]), js('interop.add', [2]), js('interop.add', [2])] },
      ],
    },
  });
  expect(sent.ids).toHaveLength(2);
  const results = await Promise.all(sent.ids.map((id: string) => app.asyncResult(id).get({ timeout: 30 })));
  expect(results).toEqual([3, 8]);
  const rows = await (await app.results()).getMany(sent.ids);
  expect(new Set(rows.map((r) => r.groupId)).size).toBe(1);
  expect(rows[0].groupId).toBe(sent.id);
});

test('Celeriac sends chain(python step, group(…)): Python runs its step and hands the group back', async () => {
  pyWorker = await python.startWorker(PY_QUEUE);
  const flow = chain(
    signature<number>('interop.double', [3]),
    group(add.s(1).set({ queue: JS_QUEUE }), add.s(2).set({ queue: JS_QUEUE })),
  );
  const r = (await flow.applyAsync()) as GroupResult<number>;
  expect(r).toBeInstanceOf(GroupResult);
  // Python's double(3) = 6 goes to each member as its first argument
  expect(await r.get({ timeout: 30 })).toEqual([7, 8]);
  await pyWorker.waitForLog(/Task interop\.double\[[0-9a-f-]+\] succeeded/);
  const rows = await (await app.results()).getMany(r.ids);
  expect(rows.map((x) => [x.groupId, x.args])).toEqual([
    [r.id, [6, 1]],
    [r.id, [6, 2]],
  ]);
});
