/**
 * PeriodicTaskService.createMany and upsertMany (issue 17): many tasks in one transaction,
 * validated as one (every problem named with its index and field, nothing written when any is
 * wrong), schedules shared as single create() shares them, upserts by name keeping id and history.
 */
import {
  PeriodicTaskNotFoundError,
  PeriodicTaskService,
  PeriodicTaskValidationError,
  type Celeriac,
  type PeriodicTaskInput,
} from '../../src';
import { cleanup } from '../helpers';
import { makeBeatApp, resetBeatState, sql } from './beat-helpers';

let app: Celeriac;
let service: PeriodicTaskService;

beforeAll(async () => {
  app = await makeBeatApp('beat_service_bulk');
  service = new PeriodicTaskService(app);
});
afterAll(() => cleanup(app));
beforeEach(() => resetBeatState(app));

const TABLES = [
  'celeriac_periodic_task',
  'celeriac_interval_schedule',
  'celeriac_crontab_schedule',
  'celeriac_solar_schedule',
  'celeriac_clocked_schedule',
];
async function counts(): Promise<Record<string, number>> {
  const [row] = await sql(app, `SELECT ${TABLES.map((t) => `(SELECT count(*)::int FROM $S.${t}) AS ${t}`).join(', ')}`);
  return row;
}

async function validationErrors(p: Promise<unknown>): Promise<Record<string, string>> {
  const err = await p.then(
    () => null,
    (e) => e,
  );
  expect(err).toBeInstanceOf(PeriodicTaskValidationError);
  return Object.fromEntries((err as PeriodicTaskValidationError).errors.map((e) => [e.field, e.message]));
}

const every = (name: string, schedule: PeriodicTaskInput['schedule'] = 60): PeriodicTaskInput => ({
  name,
  task: 'beat.ping',
  schedule,
});

describe('createMany', () => {
  test('writes every task in order, sharing identical schedules; each has its next run', async () => {
    const refs = await service.createMany([
      every('a'),
      every('b', '*/5 9-17 * * 1-5'),
      { ...every('c'), args: [1], priority: 3, description: 'third' },
      every('d', { kind: 'clocked', clockedTime: '2099-01-01T00:00:00Z' }),
    ]);
    expect(refs.map((r) => [r.name, r.created])).toEqual([
      ['a', true],
      ['b', true],
      ['c', true],
      ['d', true],
    ]);
    expect(refs.map((r) => r.id)).toEqual([...refs.map((r) => r.id)].sort((x, y) => x - y));
    expect(await counts()).toMatchObject({
      celeriac_periodic_task: 4,
      celeriac_interval_schedule: 1,
      celeriac_crontab_schedule: 1,
      celeriac_clocked_schedule: 1,
    });
    const c = await service.get(refs[2].id);
    expect(c).toMatchObject({ name: 'c', args: [1], priority: 3, description: 'third', oneOff: false });
    const d = await service.get('d');
    expect(d).toMatchObject({ oneOff: true });
    for (const r of refs) expect((await service.get(r.id)).nextRunExpectedAt).toBeInstanceOf(Date);
    // The same schedule created one at a time later reuses the row createMany made.
    await service.create(every('e'));
    expect((await counts()).celeriac_interval_schedule).toBe(1);
  });

  test('validated as one: every problem named with its index, and nothing written', async () => {
    await service.create(every('taken'));
    const before = await counts();
    const errors = await validationErrors(
      service.createMany([
        every('fine'),
        every('bad minute', { kind: 'crontab', minute: '61' }),
        { ...every('fine'), priority: 300 },
        { name: '', task: 'beat.pnig', schedule: 60 } as PeriodicTaskInput,
        every('new schedule', 12345),
      ]),
    );
    expect(Object.keys(errors).sort()).toEqual([
      '[1].schedule.minute',
      '[2].name',
      '[2].priority',
      '[3].name',
      '[3].task',
    ]);
    expect(errors['[2].name']).toMatch(/also the name of \[0\]/);
    expect(errors['[3].task']).toMatch(/beat\.ping/);
    expect(await counts()).toEqual(before);
  });

  test('names already taken are each named, and nothing is written, schedules included', async () => {
    await service.createMany([every('one'), every('two')]);
    const before = await counts();
    const errors = await validationErrors(
      service.createMany([every('two', 777), every('three', '0 4 * * *'), every('one', 888)]),
    );
    expect(errors).toEqual({
      '[0].name': expect.stringMatching(/'two' already exists/),
      '[2].name': expect.stringMatching(/'one' already exists/),
    });
    expect(await counts()).toEqual(before);
  });

  test('an empty list writes nothing; a list that is not one is refused', async () => {
    expect(await service.createMany([])).toEqual([]);
    expect(await validationErrors(service.createMany({ name: 'x' } as never))).toEqual({
      '': expect.stringMatching(/array/),
    });
  });
});

describe('upsertMany', () => {
  test('creates the new, replaces the existing by name keeping id and history, re-plans only what changed', async () => {
    const [kept, changed] = await service.createMany([
      { ...every('kept'), description: 'stays' },
      { ...every('changed'), description: 'goes', priority: 5 },
    ]);
    await sql(app, `UPDATE $S.celeriac_periodic_task SET total_run_count = 7 WHERE id = $1`, [changed.id]);
    const [keptBefore] = await sql(app, `SELECT revision FROM $S.celeriac_periodic_task WHERE id = $1`, [kept.id]);
    const refs = await service.upsertMany([
      { ...every('kept'), description: 'stays' },
      every('changed', '0 3 * * *'),
      every('new'),
    ]);
    expect(refs).toEqual([
      { id: kept.id, name: 'kept', created: false },
      { id: changed.id, name: 'changed', created: false },
      { id: expect.any(Number), name: 'new', created: true },
    ]);
    const c = await service.get(changed.id);
    // Every field from the input; one left out gets its default, as PUT does.
    expect(c).toMatchObject({ description: '', priority: null, totalRunCount: 7 });
    expect(c.schedule).toMatchObject({ kind: 'crontab', minute: '0', hour: '3' });
    const [keptAfter] = await sql(app, `SELECT revision FROM $S.celeriac_periodic_task WHERE id = $1`, [kept.id]);
    expect(keptAfter.revision).toBe(keptBefore.revision);
  });

  test('validated as one, like createMany', async () => {
    await service.create(every('exists'));
    const before = await counts();
    const errors = await validationErrors(
      service.upsertMany([
        every('exists', 99),
        every('exists', 98),
        every('x', { kind: 'interval', every: 0, period: 'seconds' }),
      ]),
    );
    expect(Object.keys(errors).sort()).toEqual(['[1].name', '[2].schedule.every']);
    expect(await counts()).toEqual(before);
  });
});

describe('setEnabledMany and deleteMany', () => {
  test('all or none: an unknown id is named with every other, and nothing changes', async () => {
    const refs = await service.createMany([every('p'), every('q'), every('r')]);
    const ids = refs.map((r) => r.id);
    const err = await service.setEnabledMany([ids[0], 999_998, ids[1], 999_999], false).catch((e) => e);
    expect(err).toBeInstanceOf(PeriodicTaskNotFoundError);
    expect(err.ref).toEqual([999_998, 999_999]);
    expect(err.message).toMatch(/999998, 999999; nothing was changed/);
    expect((await service.get(ids[0])).enabled).toBe(true);
    await expect(service.deleteMany([ids[2], 999_999])).rejects.toThrow(PeriodicTaskNotFoundError);
    expect((await counts()).celeriac_periodic_task).toBe(3);

    expect(await service.setEnabledMany([ids[0], ids[1], ids[0]], false)).toBe(2);
    expect((await service.list({ enabled: false })).items.map((t) => t.name)).toEqual(['p', 'q']);
    expect(await service.deleteMany([ids[1], ids[2]])).toBe(2);
    expect((await service.list()).items.map((t) => t.name)).toEqual(['p']);
  });
});
