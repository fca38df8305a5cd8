/**
 * Beat's send-once guarantee on RabbitMQ, where the marker is a Postgres row held while the
 * batch is published with confirms (src/beat/send-once.ts, AmqpBatchSender). The same checks as
 * multi-beat.test.ts and crash.test.ts make on Redis, counted from what is in the RabbitMQ queue:
 *   1. three beats ticking the same instants concurrently: every slot once;
 *   2. a real beat process SIGKILLed between send and record (no duplicate) and between claim and
 *      send (no loss), with another beat cleaning up.
 */
import amqp from 'amqplib';
import { Celeriac, type RecoveredBatch, type SentRun } from '../../src';
import { decodeTask } from '../../src/broker/message';
import { fromAmqp } from '../../src/broker/amqp/envelope';
import { silentLogger } from '../../src/log';
import { testBroker, type TestBroker } from '../brokers';
import { cleanup, DATABASE_URL, eventually } from '../helpers';
import {
  assertNoBeatLeftRunning,
  exited,
  fixtureApps,
  insertIntervalTask,
  insertTask,
  makeBeatApp,
  resetBeatState,
  spawnBeat,
  sql,
  tracked,
  type BeatChild,
} from './beat-helpers';

let broker: TestBroker;
let app: Celeriac;
const peers: Celeriac[] = [];
const children: BeatChild[] = [];

beforeAll(async () => {
  broker = await testBroker('amqp', 'beat_amqp');
  app = await makeBeatApp('beat_amqp', { brokerUrl: broker.brokerUrl });
}, 60_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const p of peers) await p.close();
  await cleanup(app);
  await broker.dispose();
}, 60_000);
beforeEach(async () => {
  await resetBeatState(app);
  await withChannel(async (ch) => {
    await ch.assertQueue('celery', { durable: true });
    await ch.purgeQueue('celery');
  });
});
afterEach(assertNoBeatLeftRunning);

async function withChannel<T>(fn: (ch: amqp.Channel) => Promise<T>): Promise<T> {
  const conn = await amqp.connect(broker.brokerUrl);
  try {
    return await fn(await conn.createChannel());
  } finally {
    await conn.close();
  }
}

/** The beat messages in the `celery` queue, read without taking them (the channel closes unacked). */
async function queued() {
  return withChannel(async (ch) => {
    const out: { id: string; periodicTaskName: string; scheduledAt: string }[] = [];
    for (;;) {
      const msg = await ch.get('celery', { noAck: false });
      if (!msg) break;
      const m = decodeTask(fromAmqp(msg, `0.${msg.fields.deliveryTag}`));
      if (m.task === 'celery.backend_cleanup') continue;
      out.push({
        id: m.id,
        periodicTaskName: m.headers.periodic_task_name as string,
        scheduledAt: m.headers.scheduled_at as string,
      });
    }
    return out;
  });
}

function peerApp(): Celeriac {
  const peer = new Celeriac({
    apps: fixtureApps,
    databaseUrl: DATABASE_URL,
    brokerUrl: broker.brokerUrl,
    schema: app.config.schema,
    keyPrefix: app.config.keyPrefix,
    logger: silentLogger,
  });
  peers.push(peer);
  return peer;
}

test('three beats ticking the same instants concurrently: each slot sent once', async () => {
  const T0 = Date.parse('2026-06-01T10:00:00.000Z');
  const N = 100;
  const STEPS = 10;
  const [{ id }] = await sql(
    app,
    `INSERT INTO $S.celeriac_interval_schedule (every, period) VALUES (1, 'seconds') RETURNING id`,
  );
  for (let i = 0; i < N; i++) await insertTask(app, `t${String(i).padStart(3, '0')}`, { interval_id: id });
  const beats = [peerApp(), peerApp(), peerApp()].map((a) => tracked(a.beat({ listen: false, batchSize: 25 })));
  const sentBy = beats.map(() => 0);
  beats.forEach((b, i) => b.on('sent', (runs: SentRun[]) => (sentBy[i] += runs.length)));
  await Promise.all(beats.map((b) => b.tick(T0)));
  for (let step = 1; step <= STEPS; step++) {
    const now = T0 + step * 1000 + (step % 3) * 7;
    await Promise.all(beats.map((b, i) => b.tick(now + i)));
  }
  await Promise.all(beats.map((b) => b.stop()));

  const msgs = await queued();
  expect(new Set(msgs.map((m) => m.id)).size).toBe(msgs.length);
  expect(msgs).toHaveLength(N * STEPS);
  expect(sentBy.reduce((a, b) => a + b, 0)).toBe(N * STEPS);
  expect(await sql(app, `SELECT DISTINCT total_run_count FROM $S.celeriac_periodic_task`)).toEqual([
    { total_run_count: STEPS },
  ]);
  expect(await sql(app, `SELECT * FROM $S.celeriac_beat_outbox`)).toEqual([]);
}, 120_000);

describe('a real beat process on RabbitMQ, SIGKILLed', () => {
  async function killAt(point: 'afterClaim' | 'afterSend', expectResent: boolean) {
    for (let i = 0; i < 5; i++) await insertIntervalTask(app, `job${i}`, 1000 * 1000, 'microseconds');
    const victim = spawnBeat(app, {
      CELERIAC_BROKER_URL: broker.brokerUrl,
      BEAT_CRASH: point,
      BEAT_NAME: 'victim-process',
      BEAT_LEASE_MS: '1000',
    });
    children.push(victim);
    const crashPoint = await victim.waitFor('crash-point', 30_000);
    victim.kill('SIGKILL');
    await exited(victim);
    expect(await queued()).toHaveLength(point === 'afterSend' ? 5 : 0);

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
    await eventually(async () => {
      const [{ min }] = await sql(
        app,
        `SELECT min(total_run_count) AS min FROM $S.celeriac_periodic_task WHERE source = 'db'`,
      );
      expect(min).toBeGreaterThanOrEqual(3);
      expect(await sql(app, `SELECT batch_id FROM $S.celeriac_beat_outbox WHERE claimed_by <> 'rescuer'`)).toEqual([]);
    }, 20_000);
    await rescuer.stop();

    const msgs = await queued();
    expect(new Set(msgs.map((m) => m.id)).size).toBe(msgs.length);
    const rows = await sql(app, `SELECT name, total_run_count FROM $S.celeriac_periodic_task WHERE source = 'db'`);
    for (const r of rows) {
      const s = msgs
        .filter((m) => m.periodicTaskName === r.name)
        .map((m) => Date.parse(m.scheduledAt))
        .sort((a, b) => a - b);
      expect(s).toHaveLength(r.total_run_count);
      for (let k = 1; k < s.length; k++) expect(s[k] - s[k - 1]).toBe(1000); // no slot lost, none doubled
    }
  }

  test('killed between send and record: no duplicate', () => killAt('afterSend', false), 90_000);
  test('killed between claim and send: no loss', () => killAt('afterClaim', true), 90_000);
});
