/**
 * DST through a running beat (the schedule module's own tests cover the arithmetic; these show
 * the beat applies it with no doubled or lost run), driven by an injected clock ticking every
 * few minutes across real 2026 transitions in three zones, one of them with a 30-minute shift.
 *
 * The rule: a local time the clocks skip runs once, at the first instant after the gap (the
 * transition); a local time the clocks show twice runs once, at its first occurrence.
 */
import { ManualClock, PeriodicTaskService, type Beat, type Celeriac, type SentRun } from '../../src';
import { cleanup } from '../helpers';
import { assertNoBeatLeftRunning, makeBeatApp, queued, taskRow, tracked, resetBeatState } from './beat-helpers';

let app: Celeriac;
let beat: Beat;
let service: PeriodicTaskService;
let clock: ManualClock;
let sent: SentRun[];

beforeAll(async () => {
  app = await makeBeatApp('beat_dst');
});
afterAll(() => cleanup(app));
afterEach(async () => {
  await beat.stop();
  await assertNoBeatLeftRunning();
});

async function setUp(startIso: string): Promise<void> {
  await resetBeatState(app);
  clock = new ManualClock(startIso);
  beat = tracked(app.beat({ clock, listen: false }));
  service = new PeriodicTaskService(app, { clock });
  sent = [];
  beat.on('sent', (runs) => sent.push(...runs));
}

/**
 * Ticks as a running beat does: at the instant the previous tick named (`nextWakeAt`), `lateMs`
 * late (off the minute, as real ticks are), plus one tick halfway through each wait longer than an
 * hour, where nothing is due. Every tick must send only runs whose slot has come.
 *
 * Driven by the beat's own answer rather than every few minutes: ~3,500 ticks of four statements
 * each made this file take 265 s on a busy machine; this is about one tick per slot.
 */
async function runUntil(untilIso: string, lateMs = 13_000): Promise<void> {
  const until = Date.parse(untilIso);
  const tickAt = async (at: number): Promise<number> => {
    clock.set(at);
    const before = sent.length;
    const { nextWakeAt } = await beat.tick(at);
    for (const run of sent.slice(before)) expect(run.scheduledAt.getTime()).toBeLessThanOrEqual(at);
    return nextWakeAt ? nextWakeAt.getTime() : Infinity;
  };
  let wakeMs = await tickAt(clock.now());
  let halfway = false;
  while (clock.now() < until) {
    const now = clock.now();
    const target = Math.min(until, Math.max(now + 1000, wakeMs + lateMs));
    halfway = !halfway && target - now > HOUR;
    wakeMs = await tickAt(halfway ? now + Math.floor((target - now) / 2) : target);
  }
}

const HOUR = 3_600_000;
const slots = (name: string) => sent.filter((r) => r.name === name).map((r) => r.scheduledAt.toISOString());

test('Europe/Berlin, spring forward (2026-03-29, 02:00 → 03:00): 02:30 runs once, at 03:00 CEST', async () => {
  await setUp('2026-03-27T12:00:00Z');
  await service.create({
    name: 'berlin 02:30',
    task: 'beat.ping',
    schedule: { kind: 'crontab', minute: '30', hour: '2', timezone: 'Europe/Berlin' },
  });
  await service.create({
    name: 'berlin hourly',
    task: 'beat.ping',
    schedule: { kind: 'crontab', minute: '0', timezone: 'Europe/Berlin' },
  });
  await runUntil('2026-03-31T06:00:00Z');
  expect(slots('berlin 02:30')).toEqual([
    '2026-03-28T01:30:00.000Z', // 02:30 CET
    '2026-03-29T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST
    '2026-03-30T00:30:00.000Z', // 02:30 CEST
    '2026-03-31T00:30:00.000Z',
  ]);
  // The hourly job's 02:00 falls in the gap and lands on the same instant as 03:00: one run.
  const hourly = slots('berlin hourly').filter((s) => s >= '2026-03-28T23' && s < '2026-03-29T03');
  expect(hourly).toEqual([
    '2026-03-28T23:00:00.000Z',
    '2026-03-29T00:00:00.000Z',
    '2026-03-29T01:00:00.000Z',
    '2026-03-29T02:00:00.000Z',
  ]);
  expect(new Set(slots('berlin hourly')).size).toBe(slots('berlin hourly').length);
  expect(await queued(app)).toHaveLength(sent.length);
});

test('Europe/Berlin, fall back (2026-10-25, 03:00 → 02:00): 02:30 runs once, at its first occurrence', async () => {
  await setUp('2026-10-23T12:00:00Z');
  await service.create({
    name: 'berlin 02:30',
    task: 'beat.ping',
    schedule: { kind: 'crontab', minute: '30', hour: '2', timezone: 'Europe/Berlin' },
  });
  await runUntil('2026-10-27T06:00:00Z');
  expect(slots('berlin 02:30')).toEqual([
    '2026-10-24T00:30:00.000Z', // 02:30 CEST
    '2026-10-25T00:30:00.000Z', // 02:30 CEST, first pass; not again at 01:30Z (02:30 CET)
    '2026-10-26T01:30:00.000Z', // 02:30 CET
    '2026-10-27T01:30:00.000Z',
  ]);
});

test('Australia/Lord_Howe, 30-minute shifts (2026-04-05 back, 2026-10-04 forward)', async () => {
  await setUp('2026-04-03T00:00:00Z');
  await service.create({
    name: 'lhi 01:45',
    task: 'beat.ping',
    schedule: { kind: 'crontab', minute: '45', hour: '1', timezone: 'Australia/Lord_Howe' },
  });
  await service.create({
    name: 'lhi half-hourly',
    task: 'beat.ping',
    schedule: { kind: 'crontab', minute: '*/30', timezone: 'Australia/Lord_Howe' },
  });
  await runUntil('2026-04-06T00:00:00Z');
  // 02:00 LHDT (+11) became 01:30 LHST (+10:30) at 15:00Z: 01:30-02:00 happened twice.
  expect(slots('lhi 01:45')).toEqual([
    '2026-04-03T14:45:00.000Z',
    '2026-04-04T14:45:00.000Z', // first 01:45 (LHDT); not 15:15Z (the second)
    '2026-04-05T15:15:00.000Z', // 01:45 LHST
  ]);
  const fallBack = slots('lhi half-hourly').filter((s) => s >= '2026-04-04T14:00' && s < '2026-04-04T17:00');
  expect(fallBack).toEqual([
    '2026-04-04T14:00:00.000Z',
    '2026-04-04T14:30:00.000Z',
    '2026-04-04T15:30:00.000Z',
    '2026-04-04T16:00:00.000Z',
    '2026-04-04T16:30:00.000Z',
  ]);

  await setUp('2026-10-01T00:00:00Z');
  await service.create({
    name: 'lhi 02:15',
    task: 'beat.ping',
    schedule: { kind: 'crontab', minute: '15', hour: '2', timezone: 'Australia/Lord_Howe' },
  });
  await service.create({
    name: 'lhi half-hourly',
    task: 'beat.ping',
    schedule: { kind: 'crontab', minute: '*/30', timezone: 'Australia/Lord_Howe' },
  });
  await runUntil('2026-10-05T00:00:00Z');
  // 02:00 LHST (+10:30) became 02:30 LHDT (+11) at 15:30Z on 2026-10-03.
  expect(slots('lhi 02:15')).toEqual([
    '2026-10-01T15:45:00.000Z',
    '2026-10-02T15:45:00.000Z',
    '2026-10-03T15:30:00.000Z', // 02:15 does not exist: 02:30 LHDT
    '2026-10-04T15:15:00.000Z',
  ]);
  const forward = slots('lhi half-hourly').filter((s) => s >= '2026-10-03T14:00' && s < '2026-10-03T17:00');
  expect(forward).toEqual([
    '2026-10-03T14:00:00.000Z',
    '2026-10-03T14:30:00.000Z',
    '2026-10-03T15:00:00.000Z',
    '2026-10-03T15:30:00.000Z',
    '2026-10-03T16:00:00.000Z',
    '2026-10-03T16:30:00.000Z',
  ]);
});

test('America/New_York: both transitions, and an hourly interval that ignores them (the crash of django-celery-beat #604)', async () => {
  await setUp('2026-03-07T00:00:00Z');
  await service.create({
    name: 'ny 02:30',
    task: 'beat.ping',
    schedule: { kind: 'crontab', minute: '30', hour: '2', timezone: 'America/New_York' },
  });
  await service.create({
    name: 'ny 01:30',
    task: 'beat.ping',
    schedule: { kind: 'crontab', minute: '30', hour: '1', timezone: 'America/New_York' },
  });
  await runUntil('2026-03-09T12:00:00Z', 47_000);
  expect(slots('ny 02:30')).toEqual([
    '2026-03-07T07:30:00.000Z',
    '2026-03-08T07:00:00.000Z',
    '2026-03-09T06:30:00.000Z',
  ]);

  await setUp('2026-10-31T00:00:00Z');
  await service.create({
    name: 'ny 01:30',
    task: 'beat.ping',
    schedule: { kind: 'crontab', minute: '30', hour: '1', timezone: 'America/New_York' },
  });
  await service.create({
    name: 'hourly',
    task: 'beat.ping',
    schedule: { kind: 'interval', every: 1, period: 'hours' },
    startTime: '2026-10-31T00:00:00Z',
  });
  await runUntil('2026-11-02T12:00:00Z', 47_000);
  expect(slots('ny 01:30')).toEqual([
    '2026-10-31T05:30:00.000Z',
    '2026-11-01T05:30:00.000Z',
    '2026-11-02T06:30:00.000Z',
  ]);
  const hourly = slots('hourly').map(Date.parse);
  // start_time is the first slot: 2026-10-31T00:00Z … 2026-11-02T12:00Z, straight through the repeated hour.
  expect(hourly.length).toBe(61);
  expect(new Date(hourly[0]).toISOString()).toBe('2026-10-31T00:00:00.000Z');
  for (let k = 1; k < hourly.length; k++) expect(hourly[k] - hourly[k - 1]).toBe(3_600_000);
});

test('downtime across a transition: one catch-up run, then back on the local schedule', async () => {
  await setUp('2026-03-28T12:00:00Z');
  await service.create({
    name: 'berlin 02:30',
    task: 'beat.ping',
    schedule: { kind: 'crontab', minute: '30', hour: '2', timezone: 'Europe/Berlin' },
  });
  await beat.tick(clock.now());
  clock.set('2026-03-30T12:00:00Z'); // no beat ran for two days: 03-29 01:00Z and 03-30 00:30Z were missed
  await beat.tick(clock.now());
  expect(slots('berlin 02:30')).toEqual(['2026-03-29T01:00:00.000Z']);
  expect((await taskRow(app, 'berlin 02:30')).next_run_at.toISOString()).toBe('2026-03-31T00:30:00.000Z');
});
