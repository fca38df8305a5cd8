import { join } from 'node:path';
import type { Celeriac } from '../../src';
import type { LogLevel } from '../../src/log';
import type { Worker } from '../../src/worker/worker';
import { hang, quick } from '../fixtures/behave/tasks';
import { cleanup, eventually, heldCount, makeApp } from '../helpers';

/**
 * App code the worker calls while it finishes a task (its logger, a 'task-finished' or 'error'
 * listener) throwing: nothing is lost, run twice or left held, the worker process goes on, and
 * what is logged says what really happened.
 */
let app: Celeriac;
let worker: Worker;
const lines: string[] = [];
/** Which lines the app's logger throws on, instead of writing them. */
let loggerThrowsOn: (level: LogLevel, message: string) => boolean = () => false;
let finishedListenerThrows = false;
const finished: string[] = [];

beforeAll(async () => {
  app = await makeApp('throwing_hooks', {
    apps: [join(__dirname, '../fixtures/behave')],
    logger: {
      log(level, message, fields) {
        if (loggerThrowsOn(level, message)) throw new Error(`logger refused: ${message}`);
        lines.push(`${level}: ${message}${fields?.error ? ` (${String(fields.error)})` : ''}`);
      },
    },
  });
  worker = app.worker({ name: 'hooks@test', concurrency: 4 });
  worker.on('task-finished', (id) => {
    finished.push(id);
    if (finishedListenerThrows) throw new Error('listener threw');
  });
  await worker.start();
});
afterAll(async () => {
  await cleanup(app);
});
afterEach(() => {
  loggerThrowsOn = () => false;
  finishedListenerThrows = false;
  worker.removeAllListeners('error');
});

test("a throwing 'task-finished' listener (and 'error' listener): logged as finished and acked, never as redelivered; nothing runs again", async () => {
  finishedListenerThrows = true;
  worker.on('error', () => {
    throw new Error('error listener threw too');
  });
  lines.length = 0;
  const rs = await Promise.all([1, 2, 3].map((n) => quick.delay(n)));
  for (const r of rs) expect(await r.get({ timeout: 10 })).toMatchObject({ worker: 'hooks@test' });
  await eventually(() => expect(finished).toEqual(expect.arrayContaining(rs.map((r) => r.id))));
  await eventually(async () => expect(await heldCount(app, worker.consumer)).toBe(0));
  const errors = lines.filter((l) => l.startsWith('error:'));
  expect(errors.filter((l) => l.includes('redelivered'))).toEqual([]);
  for (const r of rs)
    expect(errors).toContain(
      `error: task ${r.id} finished (SUCCESS) and its message was acked, so nothing runs again; a 'task-finished' listener threw (listener threw)`,
    );
  expect(errors).toContain("error: a worker 'error' listener threw; ignored (error listener threw too)");
  // Each ran once: one 'task-finished' each.
  for (const r of rs) expect(finished.filter((id) => id === r.id)).toHaveLength(1);
});

test('a logger that throws on the finish lines: every task is still stored and acked, and the worker goes on', async () => {
  loggerThrowsOn = (level, message) => / succeeded in | failed in /.test(message);
  const rs = await Promise.all(Array.from({ length: 20 }, (_, n) => quick.delay(n)));
  for (const r of rs) expect(await r.get({ timeout: 10 })).toMatchObject({ worker: 'hooks@test' });
  await eventually(async () => expect(await heldCount(app, worker.consumer)).toBe(0));
});

test('a hard time limit whose finish step hits a throwing logger: the task fails as usual and the process survives', async () => {
  // The async pool settles a timed-out task from a timer's microtask: a throw from its finish step
  // there was an uncaught exception, which ends the worker process.
  loggerThrowsOn = (level, message) => level === 'error' && / failed in /.test(message);
  const r = await hang.delay();
  await expect(r.get({ timeout: 10 })).rejects.toMatchObject({ excType: 'TimeLimitExceededError' });
  expect((await (await quick.delay(1)).get({ timeout: 10 })) as object).toMatchObject({ n: 1 });
  await eventually(async () => expect(await heldCount(app, worker.consumer)).toBe(0));
});
