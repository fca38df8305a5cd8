/**
 * A beat dying at the two moments that matter, and the next beat cleaning up: no run sent
 * twice, none lost. Tested both ways the style guide asks for: with the crashed state written
 * by a fault hook under an injected clock (deterministic), and by SIGKILLing a real beat
 * process at that point.
 *   - after the claim commits, before Redis has the batch: the batch must be sent by another
 *     beat (else the runs are lost);
 *   - after Redis has the batch, before the outbox row is deleted: the batch must NOT be sent
 *     again (else the runs run twice).
 */
import { Celeriac, type Beat, type RecoveredBatch } from '../../src';
import { injectBeatFaults } from '../../src/beat/fault-hooks';
import { silentLogger } from '../../src/log';
import { TEST_BROKERS } from '../brokers';
import { cleanup, DATABASE_URL, eventually } from '../helpers';
import {
  assertNoBeatLeftRunning,
  beatAppOn,
  exited,
  fixtureApps,
  insertIntervalTask,
  makeBeatApp,
  queued,
  spawnBeat,
  sql,
  tracked,
  type BeatChild,
  resetBeatState,
} from './beat-helpers';

let app: Celeriac;
const others: Celeriac[] = [];
const children: BeatChild[] = [];
const T0 = Date.parse('2026-06-01T10:00:00.000Z');
const LEASE = 2000;

class Crash extends Error {}

beforeAll(async () => {
  app = await makeBeatApp('beat_crash');
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const o of others) await o.close();
  await cleanup(app);
});
beforeEach(async () => {
  await resetBeatState(app);
});
afterEach(assertNoBeatLeftRunning);

async function fiveTasks(every = 10, period = 'seconds') {
  for (let i = 0; i < 5; i++) await insertIntervalTask(app, `job${i}`, every, period);
}

function slotsByTask(msgs: Awaited<ReturnType<typeof queued>>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of msgs) (out[m.periodicTaskName!] ??= []).push(m.scheduledAt!);
  for (const v of Object.values(out)) v.sort();
  return out;
}

describe('fault hooks, injected clock', () => {
  async function crashingBeat(point: 'afterClaim' | 'afterSend'): Promise<Beat> {
    return tracked(
      injectBeatFaults(app.beat({ name: 'victim', listen: false, outboxLeaseMs: LEASE }), {
        [point]: () => {
          throw new Crash(`killed ${point}`);
        },
      }),
    );
  }

  test('dies after sending, before recording: the rescuer settles the batch without sending it again', async () => {
    await fiveTasks();
    const victim = await crashingBeat('afterSend');
    const rescuer = tracked(app.beat({ name: 'rescuer', listen: false, outboxLeaseMs: LEASE }));
    const recovered: RecoveredBatch[] = [];
    rescuer.on('recovered', (b) => recovered.push(b));

    await victim.tick(T0);
    await expect(victim.tick(T0 + 10_000)).rejects.toThrow(Crash);
    expect(await queued(app)).toHaveLength(5); // Redis has them
    expect(await sql(app, `SELECT claimed_by, run_count FROM $S.celeriac_beat_outbox`)).toEqual([
      { claimed_by: 'victim', run_count: 5 },
    ]);

    // Within the lease the batch is still the victim's: the rescuer leaves it alone.
    expect((await rescuer.tick(T0 + 10_000 + LEASE - 1)).recovered).toBe(0);
    const after = await rescuer.tick(T0 + 10_000 + LEASE);
    expect(after).toMatchObject({ recovered: 1, sent: 0 });
    expect(recovered).toEqual([expect.objectContaining({ previousOwner: 'victim', runs: 5, resent: false })]);
    expect(await sql(app, `SELECT * FROM $S.celeriac_beat_outbox`)).toEqual([]);

    // And the schedule carries on from where the victim left it.
    await rescuer.tick(T0 + 20_000);
    const msgs = await queued(app);
    expect(new Set(msgs.map((m) => m.id)).size).toBe(msgs.length);
    expect(Object.values(slotsByTask(msgs))).toEqual(
      Array(5).fill(['2026-06-01T10:00:10.000Z', '2026-06-01T10:00:20.000Z']),
    );
    await victim.stop();
    await rescuer.stop();
  });

  test('dies after claiming, before sending: the rescuer sends the batch, once', async () => {
    await fiveTasks();
    const victim = await crashingBeat('afterClaim');
    const rescuer = tracked(app.beat({ name: 'rescuer', listen: false, outboxLeaseMs: LEASE }));
    const recovered: RecoveredBatch[] = [];
    rescuer.on('recovered', (b) => recovered.push(b));

    await victim.tick(T0);
    await expect(victim.tick(T0 + 10_000)).rejects.toThrow(Crash);
    expect(await queued(app)).toHaveLength(0); // claimed (next_run_at moved on), not sent
    expect(
      (await sql(app, `SELECT DISTINCT next_run_at FROM $S.celeriac_periodic_task`))[0].next_run_at.toISOString(),
    ).toBe('2026-06-01T10:00:20.000Z');

    expect(await rescuer.tick(T0 + 10_000 + LEASE)).toMatchObject({ recovered: 1, sent: 5 });
    expect(recovered).toEqual([expect.objectContaining({ previousOwner: 'victim', runs: 5, resent: true })]);
    // A second rescuer arriving later finds nothing to do.
    const late = tracked(app.beat({ name: 'late', listen: false, outboxLeaseMs: LEASE }));
    expect(await late.tick(T0 + 10_000 + 3 * LEASE)).toMatchObject({ recovered: 0, sent: 0 });

    const msgs = await queued(app);
    expect(msgs).toHaveLength(5);
    expect(Object.values(slotsByTask(msgs))).toEqual(Array(5).fill(['2026-06-01T10:00:10.000Z']));
    const store = await app.results();
    await store.flush();
    expect(await store.get(msgs[0].id)).toMatchObject({
      status: 'PENDING',
      periodicTaskName: msgs[0].periodicTaskName,
    });
    for (const b of [victim, rescuer, late]) await b.stop();
  });

  test('the victim coming back after the takeover cannot send its batch again', async () => {
    await fiveTasks();
    let crash = true;
    const victim = tracked(
      injectBeatFaults(app.beat({ name: 'victim', listen: false, outboxLeaseMs: LEASE }), {
        afterClaim: () => {
          if (crash) throw new Crash('stalled');
        },
      }),
    );
    const rescuer = tracked(app.beat({ name: 'rescuer', listen: false, outboxLeaseMs: LEASE }));
    await victim.tick(T0);
    await expect(victim.tick(T0 + 10_000)).rejects.toThrow(Crash);
    await rescuer.tick(T0 + 10_000 + LEASE); // sends it
    crash = false;
    // The victim's own sweep finds nothing of its own any more (the rescuer holds and finished it).
    expect(await victim.tick(T0 + 10_000 + LEASE + 1)).toMatchObject({ recovered: 0, sent: 0 });
    expect(await queued(app)).toHaveLength(5);
    await victim.stop();
    await rescuer.stop();
  });

  test('a batch nobody could confirm within sentMarkerTtlMs is given up, not risked twice', async () => {
    await fiveTasks();
    const victim = await crashingBeat('afterClaim');
    const rescuer = tracked(
      app.beat({ name: 'rescuer', listen: false, outboxLeaseMs: LEASE, sentMarkerTtlMs: 20 * LEASE }),
    );
    const errors: Error[] = [];
    rescuer.on('error', (e) => errors.push(e));
    await victim.tick(T0);
    await expect(victim.tick(T0 + 10_000)).rejects.toThrow(Crash);
    // Every beat was down for longer than the marker lives.
    const result = await rescuer.tick(T0 + 10_000 + 20 * LEASE);
    expect(result.sent).toBe(5); // the slots that came due meanwhile: one catch-up run each
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/gave up 5 runs claimed 40 s ago .* could duplicate them/),
    ]);
    expect((await queued(app)).map((m) => m.scheduledAt)).toEqual(Array(5).fill('2026-06-01T10:00:20.000Z'));
    await victim.stop();
    await rescuer.stop();
  });

  test('Redis down while sending: the runs wait in the outbox and go out once Redis is back', async () => {
    await fiveTasks();
    const offline = new Celeriac({
      apps: fixtureApps,
      databaseUrl: DATABASE_URL,
      brokerUrl: 'redis://127.0.0.1:1/0', // nothing listens there
      schema: app.config.schema,
      keyPrefix: app.config.keyPrefix,
      logger: silentLogger,
    });
    others.push(offline);
    const cut = tracked(offline.beat({ name: 'cut-off', listen: false, outboxLeaseMs: LEASE }));
    const errors: Error[] = [];
    cut.on('error', (e) => errors.push(e));
    await cut.tick(T0);
    expect(await cut.tick(T0 + 10_000)).toMatchObject({ sent: 0 });
    expect(errors.length).toBeGreaterThan(0);
    expect(await sql(app, `SELECT claimed_by, run_count FROM $S.celeriac_beat_outbox`)).toEqual([
      { claimed_by: 'cut-off', run_count: 5 },
    ]);
    const healthy = tracked(app.beat({ name: 'healthy', listen: false, outboxLeaseMs: LEASE }));
    expect(await healthy.tick(T0 + 10_000 + LEASE)).toMatchObject({ recovered: 1, sent: 5 });
    expect(await queued(app)).toHaveLength(5);
    await cut.stop();
    await healthy.stop();
  });
});

/**
 * On every transport: Redis sends the batch and its marker in one script; RabbitMQ holds a Postgres
 * marker row open while the batch is published with confirms (src/beat/send-once.ts).
 */
describe.each(TEST_BROKERS)('a real beat process on %s, SIGKILLed', (kind) => {
  const current = beatAppOn(kind, 'beat_crash', () => app);

  async function killAt(point: 'afterClaim' | 'afterSend', expectResent: boolean) {
    const app = current();
    await resetBeatState(app);
    for (let i = 0; i < 5; i++) await insertIntervalTask(app, `job${i}`, 1000 * 1000, 'microseconds'); // every second
    const victim = spawnBeat(app, { BEAT_CRASH: point, BEAT_NAME: 'victim-process', BEAT_LEASE_MS: '1000' });
    children.push(victim);
    const crashPoint = await victim.waitFor('crash-point', 30_000);
    victim.kill('SIGKILL');
    await exited(victim);
    const inBroker = await queued(app);
    expect(inBroker).toHaveLength(point === 'afterSend' ? 5 : 0);

    const rescuer = tracked(app.beat({ name: 'rescuer', outboxLeaseMs: 1000, pollIntervalMs: 100 }));
    const recovered: RecoveredBatch[] = [];
    rescuer.on('recovered', (b) => recovered.push(b));
    await rescuer.start();
    await eventually(() => expect(recovered.map((b) => b.batchId)).toContain(crashPoint.batchId), 15_000);
    expect(recovered.find((b) => b.batchId === crashPoint.batchId)).toMatchObject({
      previousOwner: 'victim-process',
      runs: 5,
      resent: expectResent,
    });
    // Let the rescuer run on for a few more slots, and settle whatever else the victim had
    // claimed ahead before it died (a lease after its slot), then check the whole history.
    await eventually(async () => {
      const [{ min }] = await sql(
        app,
        `SELECT min(total_run_count) AS min FROM $S.celeriac_periodic_task WHERE source = 'db'`,
      );
      expect(min).toBeGreaterThanOrEqual(3);
      expect(await sql(app, `SELECT batch_id FROM $S.celeriac_beat_outbox WHERE claimed_by <> 'rescuer'`)).toEqual([]);
    }, 20_000);
    await rescuer.stop();

    const msgs = await queued(app);
    expect(new Set(msgs.map((m) => m.id)).size).toBe(msgs.length);
    const rows = await sql(app, `SELECT name, total_run_count FROM $S.celeriac_periodic_task WHERE source = 'db'`);
    const slots = slotsByTask(msgs);
    for (const r of rows) {
      const s = slots[r.name].map((x) => Date.parse(x));
      expect(s).toHaveLength(r.total_run_count);
      for (let k = 1; k < s.length; k++) expect(s[k] - s[k - 1]).toBe(1000); // no slot lost, none doubled
    }
    expect(await sql(app, `SELECT * FROM $S.celeriac_beat_outbox`)).toEqual([]);
  }

  test('killed between send and record: no duplicate', () => killAt('afterSend', false), 90_000);
  test('killed between claim and send: no loss', () => killAt('afterClaim', true), 90_000);
});
