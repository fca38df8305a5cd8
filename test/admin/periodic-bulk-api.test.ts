import type { Celeriac } from '../../src';
import { cleanup } from '../helpers';
import { adminApp, staffSession, type StaffSession } from './helpers';

/**
 * POST api/periodic-tasks/bulk with `create` and `upsert` (PeriodicTaskService.createMany /
 * upsertMany): many tasks in one request and one transaction, every problem named as
 * `tasks[i].field`, nothing written when any item is wrong.
 */

let app: Celeriac;
let s: StaffSession;
beforeAll(async () => {
  const made = await adminApp('admin_bulk_save');
  app = made.app;
  s = await staffSession(made.web);
});
afterAll(() => cleanup(app));

async function total(): Promise<number> {
  return (await s.get('/api/periodic-tasks?limit=1').expect(200)).body.total;
}

test('create: many tasks at once, in order, each readable after', async () => {
  const tasks = [
    { name: 'bulk a', task: 'math.add', schedule: 60, args: [1, 2] },
    { name: 'bulk b', task: 'math.add', schedule: '*/5 * * * *' },
    {
      name: 'bulk c',
      task: 'math.echo',
      schedule: { kind: 'solar', event: 'sunrise', latitude: 52.5, longitude: 13.4 },
    },
  ];
  const body = (await s.post('/api/periodic-tasks/bulk', { action: 'create', tasks }).expect(201)).body;
  expect(body).toMatchObject({ action: 'create', count: 3 });
  expect(body.tasks.map((t: { name: string; created: boolean }) => [t.name, t.created])).toEqual([
    ['bulk a', true],
    ['bulk b', true],
    ['bulk c', true],
  ]);
  const c = (await s.get(`/api/periodic-tasks/${body.tasks[2].id}`).expect(200)).body;
  expect(c).toMatchObject({ name: 'bulk c', task: 'math.echo', schedule: { kind: 'solar', event: 'sunrise' } });
});

test('create: every bad item and field named at once, and nothing written', async () => {
  await s.post('/api/periodic-tasks', { name: 'bulk taken', task: 'math.add', schedule: 60 }).expect(201);
  const before = await total();
  const res = await s
    .post('/api/periodic-tasks/bulk', {
      action: 'create',
      tasks: [
        { name: 'bulk ok', task: 'math.add', schedule: 60 },
        { name: 'bulk bad', task: 'math.ad', schedule: { kind: 'crontab', minute: '61' }, colour: 'red' },
        { name: 'bulk ok', task: 'math.add', schedule: 60 },
      ],
    })
    .expect(400);
  expect(Object.keys(res.body.errors).sort()).toEqual([
    'tasks[1].colour',
    'tasks[1].schedule.minute',
    'tasks[1].task',
    'tasks[2].name',
  ]);
  expect(res.body.errors['tasks[1].task']).toMatch(/math\.add/);
  // A name taken in the table: found after validation, still before anything is written.
  const taken = await s
    .post('/api/periodic-tasks/bulk', {
      action: 'create',
      tasks: [
        { name: 'bulk fresh', task: 'math.add', schedule: 61 },
        { name: 'bulk taken', task: 'math.add', schedule: 62 },
      ],
    })
    .expect(400);
  expect(taken.body.errors).toEqual({ 'tasks[1].name': expect.stringMatching(/already exists/) });
  expect(await total()).toBe(before);
});

test('upsert: by name, keeping the id; new names created', async () => {
  const existing = (
    await s.post('/api/periodic-tasks', { name: 'bulk up', task: 'math.add', schedule: 60, priority: 4 }).expect(201)
  ).body;
  const body = (
    await s
      .post('/api/periodic-tasks/bulk', {
        action: 'upsert',
        tasks: [
          { name: 'bulk up', task: 'math.echo', schedule: '0 4 * * *' },
          { name: 'bulk up new', task: 'math.add', schedule: 30 },
        ],
      })
      .expect(200)
  ).body;
  expect(body.tasks).toEqual([
    { id: existing.id, name: 'bulk up', created: false },
    { id: expect.any(Number), name: 'bulk up new', created: true },
  ]);
  const up = (await s.get(`/api/periodic-tasks/${existing.id}`).expect(200)).body;
  expect(up).toMatchObject({ task: 'math.echo', priority: null, schedule: { kind: 'crontab', hour: '4' } });
});

test('the body shape: tasks required for create/upsert, ids for the others, each refused by name', async () => {
  const bad = async (payload: unknown) => (await s.post('/api/periodic-tasks/bulk', payload).expect(400)).body.errors;
  expect(Object.keys(await bad({ action: 'create' }))).toEqual(['tasks']);
  expect(Object.keys(await bad({ action: 'upsert', tasks: [] }))).toEqual(['tasks']);
  expect(Object.keys(await bad({ action: 'create', tasks: {}, ids: [1] })).sort()).toEqual(['ids', 'tasks']);
  expect(Object.keys(await bad({ action: 'enable', ids: [1], tasks: [] })).sort()).toEqual(['tasks']);
  expect(Object.keys(await bad({ action: 'create', tasks: [null, 'x'] })).sort()).toEqual(['tasks[0]', 'tasks[1]']);
});
