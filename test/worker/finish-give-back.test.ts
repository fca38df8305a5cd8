import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Celeriac } from '../../src';
import { injectWorkerFaults } from '../../src/worker/fault-hooks';
import type { Worker } from '../../src/worker/worker';
import { quick } from '../fixtures/behave/tasks';
import { cleanup, eventually, heldCount, makeApp } from '../helpers';

/**
 * Finishing a task throws before its state goes to the store (Finisher.finish's backstop; the
 * throw comes from the worker's fault hook, as nothing reachable from app code is known to throw
 * there): the message is given back and the task runs again, as Celery with acks_late; a second
 * throw for the same task dead-letters it. Before, the message stayed held and its row STARTED
 * until the worker stopped.
 */
let app: Celeriac;
let worker: Worker;
const lines: string[] = [];
/** How many more times the fault hook throws for a task id. */
const throwsLeft = new Map<string, number>();
const finished: string[] = [];

beforeAll(async () => {
  app = await makeApp('finish_give_back', {
    apps: [join(__dirname, '../fixtures/behave')],
    logger: { log: (level, message, fields) => void lines.push(`${level}: ${message} (${String(fields?.error)})`) },
  });
  worker = injectWorkerFaults(app.worker({ name: 'give-back@test', concurrency: 2 }), {
    beforeCommit(taskId) {
      const left = throwsLeft.get(taskId) ?? 0;
      if (left <= 0) return;
      throwsLeft.set(taskId, left - 1);
      throw new Error('finish step failed');
    },
  });
  worker.on('task-finished', (id) => finished.push(id));
  await worker.start();
});
afterAll(async () => {
  await cleanup(app);
});

test('a throw before the commit: the message goes back, the task runs again and its result is stored once', async () => {
  const taskId = randomUUID();
  throwsLeft.set(taskId, 1);
  const r = await quick.applyAsync([7], {}, { taskId });
  expect(await r.get({ timeout: 10 })).toMatchObject({ n: 7, worker: 'give-back@test' });
  expect(throwsLeft.get(taskId)).toBe(0);
  expect(lines).toContain(
    `error: task behave.quick[${taskId}]: finishing it threw before its state was stored; its message goes back to the queue and it runs again (acksLate) (finish step failed)`,
  );
  await eventually(() => expect(finished.filter((id) => id === taskId)).toHaveLength(1));
  await eventually(async () => expect(await heldCount(app, worker.consumer)).toBe(0));
});

test('a second throw for the same task: dead-lettered with the reason, and the tasks behind it run', async () => {
  const taskId = randomUUID();
  throwsLeft.set(taskId, Infinity);
  await quick.applyAsync([8], {}, { taskId });
  const after = await Promise.all([1, 2, 3].map((n) => quick.delay(n)));
  for (const r of after) expect(await r.get({ timeout: 10 })).toMatchObject({ worker: 'give-back@test' });
  const broker = await app.broker();
  await eventually(async () =>
    expect((await broker.listDeadLetters(20)).find((d) => d.raw.includes(taskId))?.reason).toBe(
      'finishing the task threw twice before its state was stored: finish step failed',
    ),
  );
  expect(lines).toContain(
    `error: task behave.quick[${taskId}]: finishing it threw before its state was stored, again after it was given back once; dead-lettered so it cannot run in a loop (finish step failed)`,
  );
  expect(finished).not.toContain(taskId);
  // Its row says why, as a refused message's does: a get() learns it instead of timing out.
  const row = await eventually(async () => {
    const info = await app.asyncResult(taskId).info();
    expect(info?.status).toBe('FAILURE');
    return info!;
  });
  expect(row.result).toMatchObject({
    exc_type: 'FinishError',
    exc_message: ['finishing the task threw twice before its state was stored: finish step failed'],
  });
  await eventually(async () => expect(await heldCount(app, worker.consumer)).toBe(0));
});
