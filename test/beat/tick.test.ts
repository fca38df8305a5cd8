/**
 * One beat driven by an injected clock: how a row becomes a message. Planning a new row,
 * sending its slots on the grid, the message beat builds (deterministic id, periodic task
 * name, expiry, queue), the bookkeeping columns, and a clock that goes backwards.
 */
import { ManualClock, PeriodicTaskService, type Beat, type Celeriac } from '../../src';
import { runTaskId } from '../../src/beat';
import { cleanup } from '../helpers';
import { assertNoBeatLeftRunning, makeBeatApp, queued, taskRow, tracked, resetBeatState } from './beat-helpers';
import type { RedisBroker } from '../../src/broker/redis-broker';

let app: Celeriac;
let beat: Beat;
let clock: ManualClock;
let service: PeriodicTaskService;
const T0 = Date.parse('2026-06-01T10:00:00.000Z');

beforeAll(async () => {
  app = await makeBeatApp('beat_tick', { routes: { 'remote.*': { queue: 'remote' } } });
});
afterAll(() => cleanup(app));
beforeEach(async () => {
  clock = new ManualClock(T0);
  beat = tracked(app.beat({ clock, listen: false }));
  service = new PeriodicTaskService(app, { clock });
  await resetBeatState(app);
});
afterEach(async () => {
  await beat.stop();
  await assertNoBeatLeftRunning();
});

test('a new interval task is planned one period ahead, then runs on its grid', async () => {
  const t = await service.create({
    name: 'every 10s',
    task: 'beat.ping',
    schedule: { kind: 'interval', every: 10, period: 'seconds' },
    args: [7],
  });
  expect(t.nextRunAt).toBeNull(); // planned by a beat, not by the writer

  const first = await beat.tick(T0);
  expect(first).toMatchObject({ replanned: 1, sent: 0 });
  expect((await taskRow(app, 'every 10s')).next_run_at.toISOString()).toBe('2026-06-01T10:00:10.000Z');
  expect(first.nextWakeAt?.toISOString()).toBe('2026-06-01T10:00:10.000Z');

  // Late ticks do not drift the schedule: slots stay at :10, :20, :30.
  expect((await beat.tick(T0 + 10_400)).sent).toBe(1);
  expect((await beat.tick(T0 + 20_900)).sent).toBe(1);
  expect((await beat.tick(T0 + 20_950)).sent).toBe(0);
  expect((await beat.tick(T0 + 30_000)).sent).toBe(1);

  const msgs = await queued(app);
  expect(msgs.map((m) => m.scheduledAt)).toEqual([
    '2026-06-01T10:00:10.000Z',
    '2026-06-01T10:00:20.000Z',
    '2026-06-01T10:00:30.000Z',
  ]);
  expect(msgs.map((m) => m.id)).toEqual(
    [10_000, 20_000, 30_000].map((d) => runTaskId(app.config.schema, t.id, T0 + d)),
  );
  expect(msgs[0]).toMatchObject({ task: 'beat.ping', periodicTaskName: 'every 10s', args: [7], queue: 'celery' });

  const row = await taskRow(app, 'every 10s');
  expect(row.total_run_count).toBe(3);
  expect(row.last_slot_at.toISOString()).toBe('2026-06-01T10:00:30.000Z');
  expect(row.last_run_at.toISOString()).toBe('2026-06-01T10:00:30.000Z');
  expect(row.next_run_at.toISOString()).toBe('2026-06-01T10:00:40.000Z');
});

test('the task id is a UUIDv5 of (install, periodic task, slot)', () => {
  const id = runTaskId('public', 42, Date.parse('2026-03-29T01:00:00Z'));
  expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(runTaskId('public', 42, Date.parse('2026-03-29T01:00:00Z'))).toBe(id);
  expect(runTaskId('public', 42, Date.parse('2026-03-29T01:00:00.001Z'))).not.toBe(id);
  expect(runTaskId('public', 43, Date.parse('2026-03-29T01:00:00Z'))).not.toBe(id);
  expect(runTaskId('other', 42, Date.parse('2026-03-29T01:00:00Z'))).not.toBe(id);
});

test('message options: queue, routing key, priority, headers, expires and expire_seconds', async () => {
  await service.create({
    name: 'rel',
    task: 'beat.report',
    schedule: 60,
    expireSeconds: 30,
    priority: 6,
    headers: { tenant: 'a' },
  });
  await service.create({
    name: 'abs',
    task: 'beat.ping',
    schedule: 60,
    expires: '2026-06-01T12:00:00Z',
    routingKey: 'remote',
  });
  await service.create({ name: 'routed', task: 'remote.thing', schedule: 60, kwargs: { k: 1 } });
  await beat.tick(T0);
  expect((await beat.tick(T0 + 60_000)).sent).toBe(3);
  const byName = Object.fromEntries(
    (await queued(app, ['celery', 'reports', 'remote'])).map((m) => [m.periodicTaskName, m]),
  );
  expect(byName.rel).toMatchObject({ queue: 'reports', expires: '2026-06-01T10:01:30.000Z' });
  expect(byName.rel.headers).toMatchObject({ tenant: 'a', periodic_task_name: 'rel' });
  expect(byName.abs).toMatchObject({ queue: 'remote', expires: '2026-06-01T12:00:00.000Z' });
  expect(byName.routed).toMatchObject({ queue: 'remote', task: 'remote.thing', kwargs: { k: 1 } });
  const broker = (await app.broker()) as RedisBroker;
  expect(await (broker as any).redis.llen(broker.keys.queue('reports', 6))).toBe(1); // priority 6 → bucket 6
});

test('each sent run is recorded PENDING with its periodic_task_name', async () => {
  const t = await service.create({ name: 'tracked', task: 'beat.ping', schedule: 5 });
  await beat.tick(T0);
  await beat.tick(T0 + 5000);
  const id = runTaskId(app.config.schema, t.id, T0 + 5000);
  const store = await app.results();
  await store.flush();
  expect(await store.get(id)).toMatchObject({ status: 'PENDING', periodicTaskName: 'tracked', taskName: 'beat.ping' });
});

test('a clock that goes backwards sends nothing twice', async () => {
  await service.create({ name: 'tick-tock', task: 'beat.ping', schedule: 60 });
  await beat.tick(T0);
  expect((await beat.tick(T0 + 120_000)).sent).toBe(1); // slots :01 and :02 passed: one catch-up run
  expect((await beat.tick(T0 + 60_000)).sent).toBe(0); // back in time: next_run_at is 10:03
  expect((await beat.tick(T0)).sent).toBe(0);
  expect((await beat.tick(T0 + 180_000)).sent).toBe(1);
  expect((await queued(app)).map((m) => m.scheduledAt)).toEqual([
    '2026-06-01T10:01:00.000Z',
    '2026-06-01T10:03:00.000Z',
  ]);
});

test('start_time delays the first run and anchors an interval grid', async () => {
  await service.create({
    name: 'later',
    task: 'beat.ping',
    schedule: { kind: 'interval', every: 1, period: 'hours' },
    startTime: '2026-06-01T12:30:00Z',
  });
  await service.create({
    name: 'cron-later',
    task: 'beat.ping',
    schedule: '0 * * * *',
    startTime: '2026-06-01T12:30:00Z',
  });
  await service.create({
    name: 'anchored',
    task: 'beat.ping',
    schedule: { kind: 'interval', every: 1, period: 'hours' },
    startTime: '2026-06-01T09:15:00Z',
  });
  await beat.tick(T0);
  expect((await taskRow(app, 'later')).next_run_at.toISOString()).toBe('2026-06-01T12:30:00.000Z');
  expect((await taskRow(app, 'cron-later')).next_run_at.toISOString()).toBe('2026-06-01T13:00:00.000Z');
  expect((await taskRow(app, 'anchored')).next_run_at.toISOString()).toBe('2026-06-01T10:15:00.000Z');
  // 10:15, 11:15 and 12:15 passed: one catch-up run, and the grid keeps its :15.
  expect((await beat.tick(Date.parse('2026-06-01T12:29:59Z'))).sent).toBe(1);
  expect((await taskRow(app, 'anchored')).next_run_at.toISOString()).toBe('2026-06-01T13:15:00.000Z');
  expect((await beat.tick(Date.parse('2026-06-01T12:30:00Z'))).sent).toBe(1);
  expect((await queued(app)).map((m) => `${m.periodicTaskName}@${m.scheduledAt}`)).toEqual([
    'anchored@2026-06-01T10:15:00.000Z',
    'later@2026-06-01T12:30:00.000Z',
  ]);
});
