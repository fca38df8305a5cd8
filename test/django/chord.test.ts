import { chord, signature } from '../../src';
import type { Worker } from '../../src/worker/worker';
import type { PythonProcess } from '../interop/python';
import { cleanup } from '../helpers';
import type { Celeriac } from '../../src';
import { djangoApp, type DjangoProject } from './django';
import { add, fail, tsum } from './fixtures/djtasks/tasks';

/**
 * Issue 22, chords: in django mode a chord joins through django-celery-results' chord counter
 * (django_celery_results_chordcounter), as DatabaseBackend.apply_chord / on_chord_part_return of
 * django-celery-results 2.4 do, so a header run by Python workers, by Celeriac workers or by both
 * completes one join and whichever side counts the last member sends the body.
 */
const JS_QUEUE = 'js-django-chord';
const PY_QUEUE = 'py-django-chord';

let app: Celeriac;
let django: DjangoProject;
let worker: Worker;
let pyWorker: PythonProcess | undefined;

beforeAll(async () => {
  ({ app, django } = await djangoApp('django_chord', {
    routes: { 'js.*': { queue: JS_QUEUE }, 'dj.*': { queue: PY_QUEUE } },
  }));
  worker = app.worker({ name: 'js-django-chord@test', queues: [JS_QUEUE], concurrency: 2 });
  await worker.start();
}, 180_000);

afterAll(async () => {
  await pyWorker?.stop();
  await worker?.stop();
  if (app) await cleanup(app);
}, 60_000);

const py = (task: string, ...args: unknown[]) => signature(task, args);

test('Celeriac sends a chord whose header Python workers run: its counter is the one Python decrements, Python sends the Celeriac body', async () => {
  const r = await chord([py('dj.add', 1, 2), py('dj.add', 3, 4), py('dj.add', 5, 6)], tsum.s()).applyAsync();
  const groupId = r.parent!.id;
  const memberIds = (r.parent as any).results.map((m: any) => m.id);
  // No Python worker yet: the counter is there before any member can finish, read with Django's ORM.
  const counter = await django.run('chordcounter', [groupId]);
  expect(counter).toEqual({ count: 3, sub_tasks: memberIds.map((id: string) => [[id, null], null]) });
  pyWorker = await django.worker(PY_QUEUE);
  expect(await r.get({ timeout: 60_000 })).toBe(21);
  expect((await r.info())!.worker).toBe('js-django-chord@test');
  expect(await django.run('chordcounter', [groupId])).toBeNull();
}, 120_000);

test('Python sends a chord whose header Celeriac workers run: Celeriac counts down its counter and sends the Python body', async () => {
  pyWorker ??= await django.worker(PY_QUEUE);
  const sent = await django.run('chord', [
    JSON.stringify({
      header: [1, 2, 3, 4].map((i) => ({ task: 'js.add', args: [i, i], queue: JS_QUEUE })),
      body: { task: 'dj.tsum', queue: PY_QUEUE },
    }),
  ]);
  const body = app.asyncResult(sent.id);
  expect(await body.get({ timeout: 60_000 })).toBe(20);
  expect((await body.info())!.worker).toContain('py-django@test');
  expect(await django.run('chordcounter', [sent.group])).toBeNull();
  // Python's AsyncResult reads the body's result (the django-db backend) as well.
  expect(await django.run('asyncresult', [sent.id])).toMatchObject({ state: 'SUCCESS', result: 20 });
}, 120_000);

test('a header shared by Python and Celeriac workers completes one join, whichever side counts last', async () => {
  pyWorker ??= await django.worker(PY_QUEUE);
  for (let round = 0; round < 3; round++) {
    const r = await chord(
      [py('dj.add', 1, 2), add.s(3, 4), py('dj.add', 5, 6), add.s(7, 8), add.s(round, 0)],
      tsum.s(),
    ).applyAsync();
    expect(await r.get({ timeout: 60_000 })).toBe(36 + round);
  }
  // And the same from Python's side, with a Python body.
  const sent = await django.run('chord', [
    JSON.stringify({
      header: [
        { task: 'js.add', args: [1, 1], queue: JS_QUEUE },
        { task: 'dj.add', args: [2, 2], queue: PY_QUEUE },
        { task: 'js.add', args: [3, 3], queue: JS_QUEUE },
      ],
      body: { task: 'dj.tsum', queue: PY_QUEUE },
    }),
  ]);
  expect(await app.asyncResult(sent.id).get({ timeout: 60_000 })).toBe(12);
}, 180_000);

test('a failed member, Python or Celeriac, records the body as ChordError instead of running it', async () => {
  pyWorker ??= await django.worker(PY_QUEUE);
  const r = await chord([add.s(1, 1), fail.s('member broke')], tsum.s()).applyAsync();
  await expect(r.get({ timeout: 60_000 })).rejects.toThrow(/ChordError|Dependency/);
  const r2 = await chord([py('dj.fail', 'python broke'), add.s(1, 1)], tsum.s()).applyAsync();
  await expect(r2.get({ timeout: 60_000 })).rejects.toThrow(/ChordError|Dependency|python broke/);
}, 120_000);

test('a Celeriac member is counted once however often it joins; only the member that completed the chord fires it again', async () => {
  const store = await app.results();
  await store.saveGroup('counted-once', ['m1', 'm2'], 2);
  expect(await store.chordCounterJoin('counted-once', 'm1', false)).toEqual({ finished: 1, memberIds: ['m1', 'm2'] });
  expect(await store.chordCounterJoin('counted-once', 'm1', false)).toEqual({ finished: 1, memberIds: ['m1', 'm2'] });
  expect(await django.run('chordcounter', ['counted-once'])).toMatchObject({ count: 1 });
  expect(await store.chordCounterJoin('counted-once', 'm2', false)).toEqual({ finished: 2, memberIds: ['m1', 'm2'] });
  expect(await django.run('chordcounter', ['counted-once'])).toBeNull();
  // m2 redelivered after a crash before its fire: told again (the fire-once marker keeps the body to one).
  expect(await store.chordCounterJoin('counted-once', 'm2', false)).toEqual({ finished: 2, memberIds: ['m1', 'm2'] });
  // m1 late: nothing to do; a chord with no counter at all is left to the broker's join.
  expect(await store.chordCounterJoin('counted-once', 'm1', false)).toBeNull();
  expect(await store.chordCounterJoin('no-counter', 'x', false)).toBeNull();
}, 60_000);
