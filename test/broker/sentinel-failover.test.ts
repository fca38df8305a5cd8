import { join } from 'node:path';
import { Celeriac, type Beat, type SentRun } from '../../src';
import { BrokerUnavailableError, NotReplicatedError } from '../../src/errors';
import type { RedisBroker } from '../../src/broker/redis-broker';
import type { Logger } from '../../src/log';
import type { Worker } from '../../src/worker/worker';
import { cleanup, DATABASE_URL, eventually, isolation } from '../helpers';
import { runs } from '../fixtures/outage/tasks';
import { insertIntervalTask } from '../beat/beat-helpers';
import { MASTER_NAME, PrivateSentinelSet } from './private-sentinel';

/**
 * Issue 18: Redis Sentinel. A primary, a replica and three sentinels of the test's own (ports
 * 8000-8013); senders and a worker reach Redis only through `sentinel://…;sentinel://…` with the
 * primary's name in brokerTransportOptions. The primary is SIGKILLed mid-load; the sentinels promote
 * the replica and every connection (sender, worker fetch, acks, pub/sub) must find it on its own.
 *
 * Counted: acknowledged sends that never ran (lost), tasks that ran twice (duplicated) and the
 * time from the kill until sends are acknowledged again and until a task sent after the kill ran.
 */
const set = new PrivateSentinelSet(8000);
const lines: { level: string; message: string }[] = [];
const logger: Logger = { log: (level, message) => void lines.push({ level, message }) };
let app: Celeriac;
/** The same deployment with brokerTransportOptions.waitReplicas: 1 (its own key prefix, no worker). */
let waiting: Celeriac;
let worker: Worker | undefined;
let beat: Beat | undefined;

beforeAll(async () => {
  await set.start();
  app = new Celeriac({
    apps: [join(__dirname, '../fixtures/outage')],
    databaseUrl: DATABASE_URL,
    brokerUrl: set.brokerUrl,
    brokerTransportOptions: { masterName: MASTER_NAME },
    leaseMs: 2000,
    logger,
    ...isolation('sentinel_failover'),
  });
  await app.migrate();
  waiting = new Celeriac({
    apps: [join(__dirname, '../fixtures/outage')],
    databaseUrl: DATABASE_URL,
    brokerUrl: set.brokerUrl,
    brokerTransportOptions: { masterName: MASTER_NAME, waitReplicas: 1, waitReplicasTimeoutMs: 300 },
    logger,
    ...isolation('sentinel_wait'),
  });
  await waiting.migrate();
}, 60_000);
afterAll(async () => {
  await beat?.stop();
  await worker?.stop();
  await cleanup(app).catch(() => {});
  await cleanup(waiting).catch(() => {});
  await set.remove();
});

/** Subscribers to the worker's remote-control channel and to this process's result notices, on one server. */
async function subscribers(port: number): Promise<{ pidbox: number; results: number }> {
  const { pidbox, resultsChannel } = (await app.broker()).channels;
  const r = set.client(port);
  try {
    const counts = (await r.pubsub('NUMSUB', pidbox, resultsChannel)) as (string | number)[];
    return { pidbox: Number(counts[1]), results: Number(counts[3]) };
  } finally {
    r.disconnect();
  }
}

/** How many messages the waiting app's default queue holds on one server, read straight from it. */
async function queuedOn(port: number): Promise<number> {
  const key = ((await waiting.broker()) as RedisBroker).keys.queue('celery');
  const r = set.client(port);
  try {
    return await r.llen(key);
  } finally {
    r.disconnect();
  }
}

test('waitReplicas with the replica attached: a send returns, and the replica has it', async () => {
  await waiting.sendTask('outage.work', [1]);
  // No waiting here: the send returned, so the replica must have it already.
  expect(await queuedOn(set.replicaPort)).toBe(1);
});

test('the primary SIGKILLed under load: the replica is promoted, senders, beat and the worker follow it, no acknowledged send lost', async () => {
  const N = 1500;
  const SENDERS = 4;
  worker = app.worker({ name: 'sentinel@test', concurrency: 10, prefetchMultiplier: 4 });
  worker.on('error', () => {});
  await worker.start();
  // Beat through the same sentinels: a run every 200 ms, sent with its send-once marker (one Lua script).
  await insertIntervalTask(app, 'ha-tick', 200 * 1000, 'microseconds', { task: 'outage.work', args: [1] });
  beat = app.beat({ pollIntervalMs: 100 });
  beat.on('error', () => {});
  const beatSent: { taskId: string; at: number }[] = [];
  beat.on('sent', (sentRuns: SentRun[]) =>
    beatSent.push(...sentRuns.map((r) => ({ taskId: r.taskId, at: Date.now() }))),
  );
  await beat.start();

  const acknowledged: string[] = [];
  const sentAfterKill: string[] = [];
  let refused = 0;
  let killedAt = 0;
  let firstAckAfterKill = 0;
  // Each sender sends one at a time, as request handlers do; a refused send (BrokerUnavailableError:
  // nothing was sent) is retried, as an app would, and is not counted as acknowledged.
  const sender = async () => {
    while (acknowledged.length < N) {
      const startedAt = Date.now();
      try {
        // Through this app by name: work.delay() would go through the app created last (`waiting`).
        const r = await app.sendTask('outage.work', [2]);
        acknowledged.push(r.id);
        if (killedAt && startedAt > killedAt) {
          sentAfterKill.push(r.id);
          firstAckAfterKill ||= Date.now();
        }
      } catch (err) {
        if (!(err instanceof BrokerUnavailableError)) throw err;
        refused++;
        // Retrying a refused send at once only spins while the sentinels elect: pace it.
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const sending = Promise.all(Array.from({ length: SENDERS }, sender));

  await eventually(() => expect(worker!.info().processed).toBeGreaterThanOrEqual(300), 60_000, 5);
  await eventually(() => expect(beatSent.length).toBeGreaterThan(0), 30_000, 10);
  // A get() subscribes this process to result notices: that subscription must follow too.
  await (await app.sendTask('outage.work', [1])).get({ timeout: 30 });
  const oldPrimary = await set.currentPrimaryPort();
  expect(oldPrimary).toBe(set.primaryPort);
  killedAt = Date.now();
  await set.kill(oldPrimary);
  const acknowledgedAtKill = acknowledged.length;

  await eventually(async () => expect(await set.currentPrimaryPort()).toBe(set.replicaPort), 60_000, 50);
  const promotedAt = Date.now();
  await eventually(() => expect(sentAfterKill.some((id) => runs.has(id))).toBe(true), 60_000, 10);
  const firstRunAfterKill = Date.now();
  // Beat sends again on its own, and what it sent after the failover runs.
  await eventually(() => expect(beatSent.some((b) => b.at > promotedAt && runs.has(b.taskId))).toBe(true), 60_000, 20);
  await beat!.stop();
  await sending;

  const store = await app.results();
  const finished = async () => (await store.getMany(acknowledged)).filter((r) => r.status === 'SUCCESS').length;
  // Four senders may each finish one send past N.
  const total = acknowledged.length;
  await eventually(async () => expect(await finished()).toBe(total), 90_000, 250).catch(() => {});
  // Beat's runs are sends like any other: each ran (the last few may still be finishing).
  const beatIds = beatSent.map((b) => b.taskId);
  expect(new Set(beatIds).size).toBe(beatIds.length);
  await eventually(() => expect(beatIds.filter((id) => !runs.has(id))).toEqual([]), 30_000, 50);
  const notRun = acknowledged.filter((id) => !runs.has(id));
  const twice = acknowledged.filter((id) => runs.get(id)! > 1);
  console.log(
    `sentinel failover: ${total} acknowledged sends (${acknowledgedAtKill} before the kill), ${refused} refused during the failover; ` +
      `lost ${notRun.length}, ran twice ${twice.length}; replica promoted after ${promotedAt - killedAt} ms, ` +
      `sends acknowledged again after ${firstAckAfterKill - killedAt} ms, first task sent after the kill ran after ${firstRunAfterKill - killedAt} ms; ` +
      `beat sent ${beatIds.length} runs, ${beatSent.filter((b) => b.at > killedAt).length} after the kill`,
  );
  expect(notRun).toEqual([]);
  expect(await finished()).toBe(total);
  // At-least-once: a duplicate is a fetch or an ack the replica had not received when the primary
  // died, so they are bounded by what the worker held at once (concurrency × (1 + prefetch)).
  expect(twice.length).toBeLessThanOrEqual(50);

  // Every kind of connection followed the failover: the worker's remote control and this process's
  // result notices are subscribed on the new primary, and the worker saw one outage that ended.
  expect(await subscribers(set.replicaPort)).toEqual({ pidbox: 1, results: 1 });
  expect(worker.info().redis.down).toBe(false);
  expect(lines.find((l) => /^Redis available again after \d+\.\d s/.test(l.message))).toBeDefined();
}, 240_000);

test('waitReplicas with no replica left (the old primary is gone): the send fails with NotReplicatedError, the message stays on the primary', async () => {
  const primary = await set.currentPrimaryPort();
  expect(primary).toBe(set.replicaPort);
  const err = await waiting.sendTask('outage.work', [1]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(NotReplicatedError);
  expect(err).toBeInstanceOf(BrokerUnavailableError);
  expect((err as Error).message).toMatch(/has the message, but only 0 of the 1 replicas .* within 300 ms/);
  expect(await queuedOn(primary)).toBe(2);
});

test('a switchover that leaves the old primary up (SENTINEL FAILOVER): every connection leaves the demoted node', async () => {
  // The killed node comes back as a replica; then the sentinels hand the primary role back to it
  // while the current primary stays up, demoted. Nothing fails here: only the sentinels'
  // +switch-master (and READONLY from the demoted node) tell the connections to move.
  await set.rejoin(set.primaryPort);
  expect(await subscribers(set.replicaPort)).toEqual({ pidbox: 1, results: 1 });
  const startedAt = Date.now();
  await set.failover();
  await eventually(async () => expect(await set.currentPrimaryPort()).toBe(set.primaryPort), 60_000, 50);
  const switchedAt = Date.now();
  const r = await app.sendTask('outage.work', [1]);
  await expect(r.get({ timeout: 30 })).resolves.toBe(r.id.length);
  await eventually(
    async () => expect(await subscribers(set.primaryPort)).toEqual({ pidbox: 1, results: 1 }),
    30_000,
    50,
  );
  console.log(
    `sentinel switchover: the sentinels switched after ${switchedAt - startedAt} ms; a task sent and run, ` +
      `and every subscription moved, ${Date.now() - switchedAt} ms after that`,
  );
  expect(await subscribers(set.replicaPort)).toEqual({ pidbox: 0, results: 0 });
  expect(Object.keys(await app.control.ping({ timeoutMs: 2000 }))).toEqual(['sentinel@test']);
}, 120_000);
