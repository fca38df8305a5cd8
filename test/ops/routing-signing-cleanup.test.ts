import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Celeriac, ConfigError } from '../../src';
import { encodeTask, decodeTask } from '../../src/broker/message';
import { silentLogger } from '../../src/log';
import { cleanup, eventually, isolation, makeApp, REDIS_URL } from '../helpers';
import { report, runs, whoAmI } from '../fixtures/ops/tasks';
import { outgoingTask } from '../outgoing';

const apps = [join(__dirname, '../fixtures/ops')];
let redis: Redis;
beforeAll(() => void (redis = new Redis(REDIS_URL)));
afterAll(() => redis.quit());

test('routes: call options, then the route, then the task option; globs match', async () => {
  const app = await makeApp('routing', { apps, routes: { 'ops.rep*': { queue: 'reports', priority: 3 } } });
  try {
    const k = (q: string) => app.config.keyPrefix + q;
    await report.delay(1);
    expect(await redis.llen(k('reports\x06\x163'))).toBe(1);
    await report.applyAsync([1], {}, { queue: 'urgent', priority: 0 });
    expect(await redis.llen(k('urgent'))).toBe(1);
    await app.sendTask('ops.whoAmI');
    expect(await redis.llen(k('celery'))).toBe(1);
  } finally {
    await cleanup(app);
  }
});

test('a route to an undeclared queue is a config error at start', () => {
  expect(
    () =>
      new Celeriac({
        brokerUrl: 'memory://',
        logger: silentLogger,
        queues: ['celery', 'emails'],
        routes: { 'mail.*': { queue: 'email' } },
      }),
  ).toThrow(ConfigError);
  expect(
    () =>
      new Celeriac({
        brokerUrl: 'memory://',
        logger: silentLogger,
        queues: ['celery', 'emails'],
        routes: { 'mail.*': { queue: 'email' } },
      }),
  ).toThrow(
    /routes\['mail\.\*'\]\.queue.*'email' is not one of the declared queues \(celery, emails\); did you mean 'emails'\?/,
  );
  expect(
    () =>
      new Celeriac({ brokerUrl: 'memory://', logger: silentLogger, routes: { x: { queue: 'q', timeout: 3 } as any } }),
  ).toThrow(/unknown route option/);
  expect(() => new Celeriac({ brokerUrl: 'memory://', logger: silentLogger, signing: { secret: 'short' } })).toThrow(
    /at least 32 characters/,
  );
});

describe('signed messages', () => {
  const secret = 'x'.repeat(16) + 'a-long-random-secret';
  test('a shared secret: signed tasks run; unsigned and forged ones are refused, recorded, never run', async () => {
    const app = await makeApp('signing', { apps, signing: { secret } });
    try {
      await app.worker({ name: 'signed@test' }).start();
      const ok = await whoAmI.delay();
      expect(await ok.get({ timeout: 10 })).toMatchObject({ tenant: null });
      const k = (q: string) => app.config.keyPrefix + q;
      // Unsigned: what a sender without the secret (or Python Celery) would put on the queue.
      const unsigned = encodeTask(outgoingTask({ id: 'unsigned-1', task: 'ops.whoAmI' }));
      // Forged: a correctly signed message whose args were changed afterwards.
      const signed = JSON.parse(app.prepare('ops.whoAmI', [], {}, { taskId: 'forged-1' }).outgoing.raw);
      signed.body = Buffer.from(JSON.stringify([['evil'], {}, {}])).toString('base64');
      await redis.lpush(k('celery'), unsigned, JSON.stringify(signed));
      for (const [id, why] of [
        ['unsigned-1', /not signed/],
        ['forged-1', /does not match/],
      ] as const) {
        await eventually(async () => expect(await app.asyncResult(id).status()).toBe('REJECTED'));
        const row = (await app.asyncResult(id).info())!;
        expect(row.result).toMatchObject({ exc_type: 'SignatureError' });
        expect((row.meta as any).reason).toMatch(why);
        expect(runs).not.toContain(id);
      }
      expect(decodeTask(JSON.stringify(signed)).headers.celeriac_signature).toMatch(/^hmac-sha256:/);
    } finally {
      await cleanup(app);
    }
  });

  test('a key pair: senders sign with the private key, workers verify with the public one only', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const priv = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const iso = isolation('keypair');
    const workerApp = await makeApp('keypair', { apps, ...iso, signing: { publicKeys: [pub] } });
    try {
      await workerApp.worker({ name: 'verifier@test' }).start();
      // The sender: same schema and prefix, but holding the private key. It becomes the current app.
      const sender = new Celeriac({
        apps: [],
        databaseUrl: undefined,
        brokerUrl: REDIS_URL,
        logger: silentLogger,
        ...iso,
        signing: { privateKey: priv, publicKeys: [pub] },
      });
      const r = await sender.sendTask('ops.whoAmI');
      await sender.close();
      expect(await workerApp.asyncResult(r.id).get({ timeout: 10 })).toMatchObject({ tenant: null });
    } finally {
      await cleanup(workerApp);
    }
  });
});

test('backend_cleanup deletes exactly the expired results, and unfinished rows unchanged as long, in batches', async () => {
  const app = await makeApp('cleanup', { apps, resultExpires: 3600 });
  try {
    const ds = await app.dataSource();
    const s = app.config.schema;
    const insert = (sql: string) => ds.query(`INSERT INTO "${s}".celeriac_task_result ${sql}`);
    await insert(
      `(task_id, status, date_done) SELECT 'old-' || g, 'SUCCESS', now() - interval '2 hours' FROM generate_series(1, 2500) g`,
    );
    await insert(
      `(task_id, status, date_done) SELECT 'new-' || g, 'SUCCESS', now() - interval '10 minutes' FROM generate_series(1, 30) g`,
    );
    await insert(`(task_id, status) SELECT 'pending-' || g, 'PENDING' FROM generate_series(1, 5) g`);
    // Sent to a queue nobody reads, or purged: unfinished and untouched for longer than resultExpires.
    await insert(
      `(task_id, status, date_changed) SELECT 'abandoned-' || g, 'PENDING', now() - interval '2 hours' FROM generate_series(1, 1200) g`,
    );
    await insert(`(task_id, status, date_changed) VALUES ('running-long', 'STARTED', now() - interval '59 minutes')`);
    expect(await (await app.results()).deleteExpired(new Date(Date.now() - 3600_000), 1000)).toEqual({
      finished: 2500,
      unfinished: 1200,
    });
    await insert(`(task_id, status, date_done) VALUES ('old-again', 'FAILURE', now() - interval '3 hours')`);
    await insert(`(task_id, status, date_changed) VALUES ('abandoned-again', 'RECEIVED', now() - interval '3 hours')`);
    await app.worker({ name: 'cleanup@test' }).start();
    const r = await app.sendTask('celery.backend_cleanup');
    expect(await r.get({ timeout: 10 })).toMatchObject({ deleted: 2, finished: 1, unfinished: 1 });
    const [{ n }] = await ds.query(
      `SELECT count(*)::int AS n FROM "${s}".celeriac_task_result WHERE task_id LIKE 'old-%' OR task_id LIKE 'abandoned-%'`,
    );
    expect(n).toBe(0);
    const [{ kept }] = await ds.query(
      `SELECT count(*)::int AS kept FROM "${s}".celeriac_task_result WHERE task_id LIKE 'new-%' OR task_id LIKE 'pending-%' OR task_id = 'running-long'`,
    );
    expect(kept).toBe(36);
  } finally {
    await cleanup(app);
  }
});
