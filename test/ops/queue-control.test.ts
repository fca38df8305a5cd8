import { join } from 'node:path';
import type { Celeriac } from '../../src';
import { cleanup, eventually, makeApp } from '../helpers';
import { exited, ready, spawnWorker } from '../worker/child';
import { runCli } from './rc-workers';

/**
 * Issue 19 item 6 from the worker's side, on a real `celeriac worker` process (Redis):
 * `inspect scheduled` lists the eta tasks of the worker's queues held in the delayed set,
 * `inspect conf` answers the configuration with secrets masked, and `pool_restart` replaces
 * every child with a fresh one. The async pool refuses pool_restart with a reason.
 */
const APP = join(__dirname, '../fixtures/pools/app.ts');
const NAME = 'qc@pools';
let app: Celeriac;
let worker: ReturnType<typeof spawnWorker>;
const only = { destination: [NAME], timeoutMs: 5000 };

beforeAll(async () => {
  app = await makeApp('queue_control', { apps: [join(__dirname, '../fixtures/pools/jobs')] });
  worker = spawnWorker(app, ['-Q', 'qc', '--pool', 'processes', '-c', '2', '-n', NAME], {}, APP);
  await ready(worker, 40_000);
}, 60_000);

afterAll(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGTERM');
  if (worker) await exited(worker);
  if (app) await cleanup(app);
}, 30_000);

const pidsNow = async () =>
  new Set(
    await Promise.all(
      Array.from({ length: 6 }, async () =>
        (await app.sendTask<number>('pools.pid', [], {}, { queue: 'qc' })).get({ timeout: 30 }),
      ),
    ),
  );

test('inspect scheduled lists the eta tasks of its queues waiting in Redis, earliest first', async () => {
  const later = await app.sendTask('pools.pid', [], {}, { queue: 'qc', countdown: 7200 });
  const sooner = await app.sendTask('pools.pid', [], {}, { queue: 'qc', countdown: 3600 });
  await app.sendTask('pools.pid', [], {}, { queue: 'not-qc', countdown: 3600 });
  const reply = (await app.control.inspect(only).scheduled())[NAME];
  expect(reply.map((s) => s.request.id)).toEqual([sooner.id, later.id]);
  expect(reply[0]).toMatchObject({ priority: 0, request: { name: 'pools.pid', hostname: NAME } });
  expect(Date.parse(reply[0].eta!) - Date.now()).toBeGreaterThan(3_500_000);
  // A revoked countdown is dropped when due: no longer listed as scheduled.
  await app.control.revoke(later.id);
  await eventually(async () =>
    expect((await app.control.inspect(only).scheduled())[NAME].map((s) => s.request.id)).toEqual([sooner.id]),
  );
});

test('inspect conf answers the configuration without secrets', async () => {
  const conf = (await app.control.inspect(only).conf())[NAME] as Record<string, any>;
  expect(conf).toMatchObject({
    defaultQueue: 'celery',
    keyPrefix: app.config.keyPrefix,
    worker: { name: NAME, queues: ['qc'], concurrency: 2, pool: 'processes' },
  });
  expect(conf.databaseUrl).not.toMatch(/:[^:@/]+@/); // no password in user:password@host
  expect(conf.dataSource === null || conf.dataSource === '<object>').toBe(true);
});

test('pool_restart replaces every child process; tasks run on in the new ones', async () => {
  const before = await pidsNow();
  expect(await app.control.poolRestart(only)).toEqual({ [NAME]: { ok: 'reload started' } });
  await eventually(
    async () => {
      const after = await pidsNow();
      for (const pid of after) expect(before.has(pid)).toBe(false);
    },
    30_000,
    100,
  );
});

test('the async pool refuses pool_restart and says why', async () => {
  const mem = await makeApp('queue_control_memory', {
    apps: [join(__dirname, '../fixtures/pools/jobs')],
    brokerUrl: 'memory://',
  });
  const w = mem.worker({ name: 'mem@qc', queues: ['m'], concurrency: 1 });
  await w.start();
  try {
    const reply = await mem.control.broadcast<{ error: string }>('pool_restart', {}, { destination: ['mem@qc'] });
    expect(reply['mem@qc'].error).toMatch(/threads or processes pool.*async/);
  } finally {
    await w.stop();
    await cleanup(mem);
  }
});

test('the CLI: inspect queues shows the counts; purge asks for -f without a terminal, then purges', async () => {
  await Promise.all([1, 2, 3].map(() => app.sendTask('pools.pid', [], {}, { queue: 'cli-q' })));
  const json = await runCli(app, ['inspect', 'queues', '-Q', 'cli-q', '--json']);
  expect(json.code).toBe(0);
  const counts = JSON.parse(json.stdout.trim().split('\n').pop()!);
  expect(counts.queues).toContainEqual(expect.objectContaining({ queue: 'cli-q', ready: 3, unacked: 0, delayed: 0 }));
  const table = await runCli(app, ['inspect', 'queues', '-Q', 'cli-q']);
  expect(table.stdout).toMatch(
    /queue\s+ready\s+unacked\s+delayed\s+dead-lettered\s+consumers\ncli-q\s+3\s+0\s+0\s+0\s+-/,
  );

  const refused = await runCli(app, ['purge', '-Q', 'cli-q']);
  expect(refused.code).toBe(1);
  expect(refused.output).toMatch(/pass -f to confirm/);
  expect(await (await app.broker()).queueLength('cli-q')).toBe(3);

  const purged = await runCli(app, ['purge', '-f', '-Q', 'cli-q']);
  expect(purged.code).toBe(0);
  expect(purged.stdout).toContain('Purged 3 messages from 1 known task queue.');
  expect(await (await app.broker()).queueLength('cli-q')).toBe(0);
});
