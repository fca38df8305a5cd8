/**
 * A revoke reaching a task the worker already holds but has not started: one waiting for a free
 * slot, or for a rate-limit token. Two mechanisms protect it, and each test here fails without
 * the one it names: the broadcast revoke lets go of a waiting task at once (worker.revoke), and the
 * check just before a held task starts catches a revoke the worker learnt only from the stored ids
 * (its broadcast missed: the subscription was reconnecting, or it was addressed elsewhere).
 */
import { join } from 'node:path';
import type { Celeriac } from '../../src';
import type { TaskState } from '../../src/results/states';
import type { Worker } from '../../src/worker/worker';
import { block, mark, openGate, paced, started } from '../fixtures/held/tasks';
import { cleanup, eventually, makeApp } from '../helpers';

let app: Celeriac;
let worker: Worker;
const finished = new Map<string, TaskState>();

beforeAll(async () => {
  app = await makeApp('revoke_held', { apps: [join(__dirname, '../fixtures/held')] });
  // One slot, so a second task is held waiting for it for as long as the test keeps the first running.
  worker = app.worker({ name: 'held@test', concurrency: 1 });
  worker.on('task-finished', (id, state) => finished.set(id, state));
  await worker.start();
});
afterAll(async () => {
  for (const gate of ['slot', 'stored']) openGate(gate); // a failed test leaves its blocker running
  await cleanup(app);
});

const ids = (tasks: { id: string }[]) => tasks.map((t) => t.id);

/** Starts a blocker in the worker's only slot and holds `victim` behind it. */
async function holdBehindBlocker(gate: string, victim: () => Promise<{ id: string }>): Promise<string> {
  const blocker = await block.delay(gate);
  await eventually(() => expect(ids(worker.activeTasks())).toEqual([blocker.id]));
  const { id } = await victim();
  await eventually(() => expect(ids(worker.reservedTasks())).toEqual([id]));
  return id;
}

test('a task waiting for a free slot, revoked: let go at once (REVOKED, acked), and it never runs', async () => {
  const victim = await holdBehindBlocker('slot', () => mark.delay('victim'));
  await app.control.revoke(victim);
  // Finished while the slot is still taken: not merely skipped later, when it would have started.
  await eventually(() => expect(finished.get(victim)).toBe('REVOKED'));
  expect(worker.reservedTasks()).toEqual([]);
  expect(worker.activeTasks()).toHaveLength(1);

  openGate('slot');
  await (await mark.delay('after')).get({ timeout: 10 }); // one slot: runs where the victim would have
  expect(started).not.toContain(victim);
  expect(await app.asyncResult(victim).info()).toMatchObject({ status: 'REVOKED', meta: { reason: 'revoked' } });
});

test('a task waiting for a rate-limit token, revoked: let go at once, and it never runs', async () => {
  await (await paced.delay('first')).get({ timeout: 10 }); // takes this minute's only token
  const victim = (await paced.delay('victim')).id;
  await eventually(() => expect(ids(worker.reservedTasks())).toEqual([victim]));
  await app.control.revoke(victim);
  // Its token is a minute away; the revoke does not wait for it.
  await eventually(() => expect(finished.get(victim)).toBe('REVOKED'));
  expect(worker.reservedTasks()).toEqual([]);
  expect(started).not.toContain(victim);
  expect(await app.asyncResult(victim).info()).toMatchObject({ status: 'REVOKED', meta: { reason: 'revoked' } });
});

test('a revoke the worker learns only from the stored ids is checked just before a held task starts', async () => {
  const victim = await holdBehindBlocker('stored', () => mark.delay('victim-stored'));
  // The stored half of control.revoke without its broadcast, as a worker that missed the broadcast sees it.
  await (await app.broker()).addRevoked([victim], Date.now() + 60_000);
  await eventually(() => expect(worker.revokedIds()).toContain(victim), 15_000); // read back every 5 s
  // Still held behind the blocker: only the check at start can stop it now.
  expect(ids(worker.reservedTasks())).toEqual([victim]);

  openGate('stored');
  await eventually(() => expect(finished.get(victim)).toBe('REVOKED'));
  expect(started).not.toContain(victim);
  expect(await app.asyncResult(victim).info()).toMatchObject({ status: 'REVOKED', meta: { reason: 'revoked' } });
});
