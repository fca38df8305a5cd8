import { join } from 'node:path';
import type { Celeriac, Worker } from '../../src';
import { cleanup, makeApp } from '../helpers';
import { slot } from '../fixtures/scheduled/tasks';

/** ctx.scheduledAt: the scheduled_at header beat puts on each run (see beat.ts), read by the task. */
let app: Celeriac;
let worker: Worker;
beforeAll(async () => {
  app = await makeApp('scheduled_at', { apps: [join(__dirname, '../fixtures/scheduled')] });
  worker = app.worker({ concurrency: 2 });
  await worker.start();
});
afterAll(async () => {
  await worker.stop();
  await cleanup(app);
});

test('a run with the scheduled_at header knows its slot; other tasks get null', async () => {
  const due = '2026-03-29T01:30:00.000Z';
  const fromBeat = await slot.applyAsync([], {}, { headers: { scheduled_at: due } });
  expect(await fromBeat.get({ timeout: 30 })).toBe(due);
  expect(await (await slot.delay()).get({ timeout: 30 })).toBeNull();
  // A header some other sender set to something that is not an instant is no slot.
  const garbage = await slot.applyAsync([], {}, { headers: { scheduled_at: 'yesterday-ish' } });
  expect(await garbage.get({ timeout: 30 })).toBeNull();
  const number = await slot.applyAsync([], {}, { headers: { scheduled_at: 1700000000000 } });
  expect(await number.get({ timeout: 30 })).toBeNull();
});
