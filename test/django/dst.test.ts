import { ManualClock, type Beat, type Celeriac, type SentRun } from '../../src';
import { assertNoBeatLeftRunning, resetBeatState, tracked } from '../beat/beat-helpers';
import { cleanup } from '../helpers';
import { djangoApp, type DjangoProject } from './django';

/**
 * Issue 22, DST in django mode: crontabs with a zone, made with Django's ORM in django-celery-beat's
 * tables, run by Celeriac's beat (an injected clock across the real 2026 transitions in
 * Europe/Berlin) follow the documented rule: a local time the clocks skip runs once, at the first
 * instant after the gap; a local time the clocks show twice runs once, at its first occurrence.
 * Django's rows then hold the run history Python's beat would read (total_run_count, last_run_at).
 */
let app: Celeriac;
let django: DjangoProject;
let beat: Beat | undefined;
let clock: ManualClock;
let sent: SentRun[];

beforeAll(async () => {
  ({ app, django } = await djangoApp('django_dst'));
}, 180_000);

afterAll(async () => {
  if (app) await cleanup(app);
}, 60_000);

afterEach(async () => {
  await beat?.stop();
  await assertNoBeatLeftRunning();
});

const crontab = (name: string, minute: string, hour: string) =>
  django.run('schedule', [
    JSON.stringify({
      name,
      task: 'js.add',
      args: [0, 0],
      crontab: {
        minute,
        hour,
        day_of_week: '*',
        day_of_month: '*',
        month_of_year: '*',
        timezone: 'Europe/Berlin',
      },
    }),
  ]);

/** A fresh beat on `startIso`'s clock, with only the Django rows `make` creates. */
async function setUp(startIso: string, make: () => Promise<unknown>): Promise<void> {
  for (const name of ['berlin 02:30', 'berlin hourly'])
    if (await django.run('periodic', [name])) await django.run('delete', [name]);
  await resetBeatState(app);
  await make();
  clock = new ManualClock(startIso);
  beat = tracked(app.beat({ clock, listen: false }));
  sent = [];
  beat.on('sent', (runs) => sent.push(...runs));
}

/** Ticks where the beat says its next run is (13 s late, as real ticks are), as test/beat/dst.test.ts does. */
async function runUntil(untilIso: string): Promise<void> {
  const until = Date.parse(untilIso);
  let wake = clock.now();
  while (clock.now() < until) {
    const at = Math.min(until, Math.max(clock.now() + 1000, wake));
    clock.set(at);
    const before = sent.length;
    const { nextWakeAt } = await beat!.tick(at);
    for (const run of sent.slice(before)) expect(run.scheduledAt.getTime()).toBeLessThanOrEqual(at);
    // A wait over an hour is cut in two, so a tick lands where nothing is due, too.
    const next = nextWakeAt ? nextWakeAt.getTime() + 13_000 : until;
    wake = next - at > 3_600_000 ? at + Math.floor((next - at) / 2) : next;
  }
}

const slots = (name: string) => sent.filter((r) => r.name === name).map((r) => r.scheduledAt.toISOString());

test("spring forward (Berlin 2026-03-29, 02:00 → 03:00): Django's 02:30 runs once at 03:00 CEST; Django's row counts each run", async () => {
  await setUp('2026-03-27T12:00:00Z', async () => {
    await crontab('berlin 02:30', '30', '2');
    await crontab('berlin hourly', '0', '*');
  });
  await runUntil('2026-03-31T06:00:00Z');
  expect(slots('berlin 02:30')).toEqual([
    '2026-03-28T01:30:00.000Z', // 02:30 CET
    '2026-03-29T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST
    '2026-03-30T00:30:00.000Z', // 02:30 CEST
    '2026-03-31T00:30:00.000Z',
  ]);
  // The hourly 02:00 falls in the gap, on the same instant as 03:00: one run.
  const hourly = slots('berlin hourly');
  expect(hourly.filter((s) => s >= '2026-03-28T23' && s < '2026-03-29T03')).toEqual([
    '2026-03-28T23:00:00.000Z',
    '2026-03-29T00:00:00.000Z',
    '2026-03-29T01:00:00.000Z',
    '2026-03-29T02:00:00.000Z',
  ]);
  expect(new Set(hourly).size).toBe(hourly.length);
  const row = await django.run('periodic', ['berlin 02:30']);
  expect(row.total_run_count).toBe(4);
  expect(Date.parse(row.last_run_at)).toBeGreaterThanOrEqual(Date.parse('2026-03-31T00:30:00Z'));
  expect((await django.run('periodic', ['berlin hourly'])).total_run_count).toBe(hourly.length);
}, 180_000);

test("fall back (Berlin 2026-10-25, 03:00 → 02:00): Django's 02:30 runs once, at its first occurrence; the repeated hour runs nothing", async () => {
  await setUp('2026-10-23T12:00:00Z', async () => {
    await crontab('berlin 02:30', '30', '2');
    await crontab('berlin hourly', '0', '*');
  });
  await runUntil('2026-10-27T06:00:00Z');
  expect(slots('berlin 02:30')).toEqual([
    '2026-10-24T00:30:00.000Z', // 02:30 CEST
    '2026-10-25T00:30:00.000Z', // first pass; not again at 01:30Z (02:30 CET)
    '2026-10-26T01:30:00.000Z', // 02:30 CET
    '2026-10-27T01:30:00.000Z',
  ]);
  const hourly = slots('berlin hourly');
  expect(hourly.filter((s) => s >= '2026-10-24T23' && s < '2026-10-25T03')).toEqual([
    '2026-10-24T23:00:00.000Z', // 01:00 CEST
    '2026-10-25T00:00:00.000Z', // 02:00 CEST; 01:00Z is 02:00 CET, the second pass: nothing
    '2026-10-25T02:00:00.000Z', // 03:00 CET
  ]);
  expect((await django.run('periodic', ['berlin 02:30'])).total_run_count).toBe(4);
  expect((await django.run('periodic', ['berlin hourly'])).total_run_count).toBe(hourly.length);
}, 180_000);
