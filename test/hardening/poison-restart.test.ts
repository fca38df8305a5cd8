import { join } from 'node:path';
import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import { READY_STATES } from '../../src/results/states';
import { decode, size } from '../fixtures/values/tasks';
import { cleanup, eventually, makeApp, REDIS_URL, allHeld } from '../helpers';
import { exited, ready, spawnWorker } from '../worker/child';
import { baseEnvelope } from './message-gen';

/**
 * Issue 15 item 1, across a crash: values Postgres cannot store and headers a worker cannot act
 * on used to stop all result writing, and after a restart the poison came back and wedged the
 * next worker too. Here a worker process is SIGKILLed while such messages are mixed with good
 * ones, and the worker started after it finishes every one: good ones SUCCESS, each bad one a
 * final state and one dead letter, nothing left queued or held.
 */
const APP = join(__dirname, 'fixtures/values-app.ts');
let app: Celeriac;
let redis: Redis;
const children: ReturnType<typeof spawnWorker>[] = [];

beforeAll(async () => {
  app = await makeApp('poison_restart', { apps: [join(__dirname, '../fixtures/values')] });
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await redis.quit();
  await cleanup(app);
});

/** A message as another producer would send it: `values.size(...args)` with one header replaced. */
function foreign(args: unknown[], header?: [string, unknown]): { raw: string; id: string } {
  const e = baseEnvelope();
  e.body = Buffer.from(JSON.stringify([args, {}, {}])).toString('base64');
  if (header) e.headers[header[0]] = header[1];
  return { raw: JSON.stringify(e), id: e.headers.id };
}

test('a worker SIGKILLed among poison messages: the next one finishes everything, and each poison is dead-lettered once', async () => {
  const victim = spawnWorker(app, ['-c', '2', '-n', 'victim@test'], {}, APP);
  children.push(victim);
  await ready(victim);

  const poison = [
    ...Array.from({ length: 10 }, (_, i) => foreign([`a\u0000${i}`])),
    ...Array.from({ length: 10 }, (_, i) => foreign([{ [`k\ud800${i}`]: 1 }])),
    ...(
      [
        ['retries', 'x'],
        ['eta', 'tomorrow'],
        ['expires', '+275760-09-13T00:00:00.000Z'],
        ['timelimit', [30 * 86400, null]],
        ['parent_id', 'p'.repeat(300)],
        ['root_id', 'r\u0000'],
        ['group', { id: 1 }],
        ['group_index', -1],
        ['sent_at', 'yesterday'],
        ['periodic_task_name', 'n'.repeat(256)],
      ] as [string, unknown][]
    ).map((h) => foreign([1], h)),
  ];
  const good: string[] = [];
  const returnsNul: string[] = [];
  const queue = app.config.keyPrefix + 'celery';
  // Interleaved: poison spread through good work, which runs 50 ms each so the kill lands mid-way.
  for (let i = 0; i < poison.length; i++) {
    await redis.lpush(queue, poison[i].raw);
    for (let j = 0; j < 4; j++) good.push((await size.delay({ i, j, pad: 'x'.repeat(50) })).id);
    returnsNul.push((await decode.delay(JSON.stringify({ text: `nul\u0000${i}` }))).id);
  }
  const ds = await app.dataSource();
  const finished = async () =>
    Number(
      (
        await ds.query(
          `SELECT count(*) AS n FROM "${app.config.schema}".celeriac_task_result WHERE status IN ('SUCCESS', 'FAILURE', 'REJECTED')`,
        )
      )[0].n,
    );
  await eventually(async () => expect(await finished()).toBeGreaterThanOrEqual(20), 30_000);
  victim.kill('SIGKILL');
  await exited(victim);

  const rescuer = spawnWorker(app, ['-c', '4', '-n', 'rescuer@test'], {}, APP);
  children.push(rescuer);
  for (const id of good) expect(await app.asyncResult(id).get({ timeout: 60 })).toBeGreaterThan(0);
  for (const id of returnsNul)
    await expect(app.asyncResult(id).get({ timeout: 60 })).rejects.toMatchObject({ excType: 'NotStorableError' });
  for (const p of poison)
    await eventually(
      async () => expect(READY_STATES.has((await app.asyncResult(p.id).status()) as never)).toBe(true),
      30_000,
    );
  const broker = await app.broker();
  await eventually(async () => {
    const dead = await broker.listDeadLetters(1000);
    expect(dead.map((d) => d.raw).sort()).toEqual(poison.map((p) => p.raw).sort());
  }, 30_000);
  await eventually(async () => {
    expect(await broker.queueLength('celery')).toBe(0);
    for (const [key, len] of Object.entries(await allHeld(redis, app.config.keyPrefix)))
      expect({ key, len }).toEqual({ key, len: 0 });
  }, 30_000);
  rescuer.kill('SIGTERM');
  await exited(rescuer);
}, 180_000);
