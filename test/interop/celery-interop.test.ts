import { join } from 'node:path';
import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import { TaskRevokedError } from '../../src';
import { decodeControl } from '../../src/broker/pidbox';
import type { Worker } from '../../src/worker/worker';
import { cleanup, eventually, makeApp, REDIS_URL } from '../helpers';
import { runs } from './fixtures/interop/tasks';
import type { RedisBroker } from '../../src/broker/redis-broker';
import { PythonSide, type PythonWorker } from './python';

/**
 * Celeriac and real Celery 5.2.6 (kombu 5.2.4, Debian's /usr/bin/python3) on one Redis, each
 * sending tasks the other runs. Isolation: Celeriac's keyPrefix is given to kombu as its
 * `global_keyprefix` transport option, which kombu 5.2.4 applies to every queue key (LPUSH, BRPOP,
 * RPOP, LLEN), to its bookkeeping keys, and to the pub/sub channels (PUBLISH / PSUBSCRIBE), so the
 * pidbox channel is `<prefix>/<db>.celery.pidbox` on both sides.
 */

const HERE = __dirname;
const PY_QUEUE = 'py-interop';
const JS_QUEUE = 'js-interop';
const JS_PRIO_QUEUE = 'js-interop-prio';
/** Bound to Celery topic exchange 'media' under routing key 'video.compress' (Celery's "Routing Tasks" guide). */
const JS_ROUTED_QUEUE = 'video';
const SEP = '\x06\x16'; // kombu's priority separator

let app: Celeriac;
let redis: Redis;
let prefix: string;
let recordKey: string;
let jsWorker: Worker;
let pyWorker: PythonWorker | undefined;
let python: PythonSide;

beforeAll(async () => {
  app = await makeApp('interop', {
    apps: [join(HERE, 'fixtures/interop')],
    routes: { 'interop.*': { queue: PY_QUEUE } },
  });
  prefix = app.config.keyPrefix;
  recordKey = `${prefix}interop:records`;
  redis = new Redis(REDIS_URL);
  python = new PythonSide(HERE, prefix, recordKey);
  jsWorker = app.worker({ name: 'js-interop@test', queues: [JS_QUEUE, JS_ROUTED_QUEUE], concurrency: 4 });
  await jsWorker.start();
});

afterAll(async () => {
  await pyWorker?.stop();
  python?.close();
  await redis?.quit();
  if (app) await cleanup(app);
});

/** Runs send_tasks.py with one JSON request; resolves its JSON reply. */
function sendTasksPy(request: unknown, timeoutMs = 15_000): Promise<any> {
  return python.sendTasks(request, timeoutMs);
}

async function pySend(spec: Record<string, unknown>): Promise<{ id: string; sent_before_ms: number }> {
  return (await sendTasksPy({ send: [spec] })).sent[0];
}

interface PyRecord {
  args: unknown[];
  kwargs: Record<string, unknown>;
  task_id: string;
  retries: number;
  eta: string | null;
  priority: number | null;
  routing_key: string;
  ran_at_ms: number;
}

async function records(): Promise<PyRecord[]> {
  return (await redis.lrange(recordKey, 0, -1)).map((s) => JSON.parse(s));
}

async function delayedIds(): Promise<string[]> {
  const broker = (await app.broker()) as RedisBroker;
  return (await redis.zrange(broker.keys.delayed, '0', '-1')).map((raw) => JSON.parse(raw).headers.id);
}

describe('Celeriac sends, a real Celery worker runs', () => {
  test('args, kwargs, priority buckets and countdown arrive as Celery expects', async () => {
    const rich = ['ünïcødé ✓', null, 1.5, -7, [true, false, []], { nested: { deep: ['x'] } }];
    const sentAt = Date.now();
    // All sent before the Celery worker starts, so the queue layout can be checked and the order
    // the worker serves them in is kombu's bucket order, not the order they arrived.
    const plain = await app.sendTask('interop.record', [1, 'two', { three: 3 }], { k: 'v' }); // routed by 'interop.*'
    const urgentLater = await app.sendTask('interop.record', ['p5'], {}, { queue: PY_QUEUE, priority: 5 });
    const richOne = await app.sendTask(
      'interop.record',
      rich,
      { 'key with space': 'ü', n: 0, f: false },
      { queue: PY_QUEUE },
    );
    // Long enough to be seen in the delayed set below on a busy machine, before a worker promotes it.
    const delayed = await app.sendTask('interop.record', ['countdown'], {}, { queue: PY_QUEUE, countdown: 5 });
    const sentAfter = Date.now();

    // kombu's layout: bucket 0 is the bare queue key, priority 5 goes to bucket 3 (`queue\x06\x163`).
    expect(await redis.llen(prefix + PY_QUEUE)).toBe(2);
    expect(await redis.llen(prefix + PY_QUEUE + SEP + '3')).toBe(1);
    // A countdown waits in Celeriac's delayed set (a Celeriac worker promotes it when due), not on the queue.
    expect(await delayedIds()).toEqual([delayed.id]);

    pyWorker = await python.startWorker(PY_QUEUE);
    const got = await eventually(
      async () => {
        const all = await records();
        expect(all).toHaveLength(4);
        return all;
      },
      40_000,
      50,
    );
    const byId = new Map(got.map((r) => [r.task_id, r]));

    expect(byId.get(plain.id)).toEqual({
      args: [1, 'two', { three: 3 }],
      kwargs: { k: 'v' },
      task_id: plain.id,
      retries: 0,
      eta: null,
      priority: 0,
      routing_key: PY_QUEUE,
      ran_at_ms: expect.any(Number),
    });
    expect(byId.get(richOne.id)).toEqual({
      args: rich,
      kwargs: { 'key with space': 'ü', n: 0, f: false },
      task_id: richOne.id,
      retries: 0,
      eta: null,
      priority: 0,
      routing_key: PY_QUEUE,
      ran_at_ms: expect.any(Number),
    });
    expect(byId.get(urgentLater.id)).toMatchObject({ args: ['p5'], kwargs: {}, priority: 5, routing_key: PY_QUEUE });
    // On Redis bucket 0 is served first: both priority-0 tasks ran before the priority-5 one sent between them.
    const order = got.map((r) => r.task_id);
    expect(order.indexOf(plain.id)).toBeLessThan(order.indexOf(richOne.id));
    expect(order.indexOf(richOne.id)).toBeLessThan(order.indexOf(urgentLater.id));

    const late = byId.get(delayed.id)!;
    expect(late).toMatchObject({ args: ['countdown'], kwargs: {}, retries: 0 });
    const etaMs = new Date(late.eta!).getTime();
    expect(etaMs).toBeGreaterThanOrEqual(sentAt + 5000);
    expect(etaMs).toBeLessThanOrEqual(sentAfter + 5000);
    expect(late.ran_at_ms).toBeGreaterThanOrEqual(etaMs);
    expect(await delayedIds()).toEqual([]);
  });

  test("Celeriac's revoke reaches a Celery worker holding an eta task", async () => {
    // Only a Python sender leaves an eta task on the queue, where the Celery worker takes it and
    // waits in memory. Celery checks the revoke only when the eta comes, so the revoke must arrive
    // first: time is the point, and the countdown leaves room for a busy machine (2 s did not: a
    // loaded run flagged the revoke 215 ms after the eta, and the task ran).
    const countdownS = 8;
    const { id, sent_before_ms } = await pySend({
      name: 'interop.record',
      args: ['revoked'],
      queue: PY_QUEUE,
      countdown: countdownS,
    });
    await pyWorker!.waitForLog(`Task interop.record[${id}] received`, 20_000);
    await app.control.revoke(id);
    await pyWorker!.waitForLog(`Tasks flagged as revoked: ${id}`, 20_000);
    const lateMs = Date.now() - (sent_before_ms + countdownS * 1000);
    if (lateMs > 0)
      throw new Error(
        `the revoke reached the Celery worker ${lateMs} ms after the task's eta (${countdownS} s after its send), so this run cannot show it was honoured; the machine was slower than the countdown allows`,
      );
    await pyWorker!.waitForLog(`Discarding revoked task: interop.record[${id}]`, countdownS * 1000 + 10_000);
    expect((await records()).map((r) => r.task_id)).not.toContain(id);
  }, 60_000);
});

describe('Celery sends, a Celeriac worker runs', () => {
  test('args and kwargs arrive intact; kwargs become one trailing argument', async () => {
    const rich = { args: ['ünïcødé ✓', null, 1.5, [1, [2]], { a: { b: [] } }], kwargs: { 'x y': true, z: null } };
    const { sent } = await sendTasksPy({
      send: [
        { name: 'interop.add', args: [2, 3], kwargs: { c: 4 }, queue: JS_QUEUE },
        { name: 'interop.add', args: [2, 3], queue: JS_QUEUE },
        { name: 'interop.echo', args: rich.args, kwargs: rich.kwargs, queue: JS_QUEUE },
      ],
    });
    const [withKw, withoutKw, echoed] = sent.map((s: { id: string }) => app.asyncResult(s.id));
    expect(await withKw.get({ timeout: 20 })).toBe(9);
    expect(await withoutKw.get({ timeout: 20 })).toBe(5);
    expect(await echoed.get({ timeout: 20 })).toEqual(rich);
    expect(await withKw.info()).toMatchObject({
      status: 'SUCCESS',
      taskName: 'interop.add',
      args: [2, 3],
      kwargs: { c: 4 },
      result: 9,
      retries: 0,
      worker: 'js-interop@test',
      queue: JS_QUEUE,
      rootId: withKw.id,
      parentId: null,
    });
    expect((await withoutKw.info())!).toMatchObject({ args: [2, 3], kwargs: {} });
    expect((await echoed.info())!).toMatchObject({ args: rich.args, kwargs: rich.kwargs });
  });

  test('priority: kombu bucket keys are read, bucket 0 first', async () => {
    // Sent before any worker reads this queue, so where they wait and the order they run in can be checked.
    const { sent } = await sendTasksPy({
      send: [
        { name: 'interop.stamp', args: ['p5'], queue: JS_PRIO_QUEUE, priority: 5 },
        { name: 'interop.stamp', args: ['p9'], queue: JS_PRIO_QUEUE, priority: 9 },
        { name: 'interop.stamp', args: ['p0'], queue: JS_PRIO_QUEUE, priority: 0 },
      ],
    });
    expect(await redis.llen(prefix + JS_PRIO_QUEUE)).toBe(1);
    expect(await redis.llen(prefix + JS_PRIO_QUEUE + SEP + '3')).toBe(1);
    expect(await redis.llen(prefix + JS_PRIO_QUEUE + SEP + '9')).toBe(1);
    const worker = app.worker({ name: 'js-prio@test', queues: [JS_PRIO_QUEUE], concurrency: 1 });
    await worker.start();
    try {
      for (const s of sent) await app.asyncResult(s.id).get({ timeout: 20 });
    } finally {
      await worker.stop();
    }
    const ids = sent.map((s: { id: string }) => s.id);
    expect(runs.filter((r) => ids.includes(r.id)).map((r) => r.args[0])).toEqual(['p0', 'p5', 'p9']);
  });

  test('countdown: deferred to the delayed set, run no earlier than its eta', async () => {
    // Long enough that the parked message is still there to be seen on a busy machine.
    const { id, sent_before_ms } = await pySend({
      name: 'interop.stamp',
      args: ['later'],
      queue: JS_QUEUE,
      countdown: 5,
    });
    // Celery put it on the queue with an eta header; the Celeriac worker parks it in its delayed set.
    await eventually(async () => expect(await delayedIds()).toContain(id), 20_000, 10);
    expect(runs.find((r) => r.id === id)).toBeUndefined();
    const ranAtMs = (await app.asyncResult<number>(id).get({ timeout: 30 })) as number;
    expect(ranAtMs).toBeGreaterThanOrEqual(sent_before_ms + 5000);
    expect(runs.filter((r) => r.id === id)).toHaveLength(1);
    expect(await delayedIds()).not.toContain(id);
  });

  test('expires in the past: REVOKED without running', async () => {
    const { id } = await pySend({ name: 'interop.stamp', args: ['stale'], queue: JS_QUEUE, expires_ago_s: 60 });
    const result = app.asyncResult(id);
    await expect(result.get({ timeout: 20 })).rejects.toBeInstanceOf(TaskRevokedError);
    expect(await result.info()).toMatchObject({
      status: 'REVOKED',
      meta: { reason: 'expired' },
      taskName: 'interop.stamp',
      args: ['stale'],
    });
    expect(runs.find((r) => r.id === id)).toBeUndefined();
  });

  test("Celery's control revoke reaches a Celeriac worker holding a countdown task", async () => {
    // The revoke must be heard while the task is still parked (time is the point): the countdown
    // leaves room for two Python processes' start-up on a busy machine.
    const { id } = await pySend({ name: 'interop.stamp', args: ['to revoke'], queue: JS_QUEUE, countdown: 8 });
    await eventually(async () => expect(await delayedIds()).toContain(id), 20_000, 10);

    // Listen where kombu publishes with global_keyprefix: PUBLISH is one of its prefixed commands.
    const channel = `${prefix}/${new URL(REDIS_URL).pathname.slice(1) || '0'}.celery.pidbox`;
    expect((await app.broker()).channels.pidbox).toBe(channel);
    const sub = new Redis(REDIS_URL);
    const heard: unknown[] = [];
    try {
      sub.on('message', (ch: string, raw: string) => ch === channel && heard.push(decodeControl(raw)));
      await sub.subscribe(channel);
      await sendTasksPy({ revoke: [id] });
      await eventually(
        () =>
          expect(heard).toEqual([
            expect.objectContaining({ method: 'revoke', arguments: expect.objectContaining({ task_id: [id] }) }),
          ]),
        20_000,
      );
    } finally {
      sub.disconnect();
    }
    expect(await delayedIds()).toContain(id); // heard before it was due, so the worker can drop it

    const result = app.asyncResult(id);
    await expect(result.get({ timeout: 30 })).rejects.toBeInstanceOf(TaskRevokedError);
    expect(await result.info()).toMatchObject({ status: 'REVOKED', meta: { reason: 'revoked' } });
    expect(runs.find((r) => r.id === id)).toBeUndefined();
  });

  test('topic routing: a message whose routing key is not its queue name runs', async () => {
    const { id } = await pySend({
      name: 'interop.stamp',
      args: ['routed'],
      queue: JS_ROUTED_QUEUE,
      exchange: 'media',
      routing_key: 'video.compress',
    });
    expect(typeof (await app.asyncResult(id).get({ timeout: 20 }))).toBe('number');
  });

  // kombu records the publish routing key ('video.compress'), not the queue ('video'), in
  // delivery_info; the worker rewrites it to the queue it fetched from, so parking the eta
  // message and promoting it later put it back on 'video', where it runs.
  test('topic routing with a countdown: deferred and run on the queue it came from', async () => {
    const { id } = await pySend({
      name: 'interop.stamp',
      args: ['routed later'],
      queue: JS_ROUTED_QUEUE,
      exchange: 'media',
      routing_key: 'video.compress',
      countdown: 1,
    });
    expect(typeof (await app.asyncResult(id).get({ timeout: 30 }))).toBe('number');
    expect((await app.asyncResult(id).info())!.queue).toBe(JS_ROUTED_QUEUE);
  });
});
