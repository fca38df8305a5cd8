import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import { cleanup, eventually, makeApp, REDIS_URL, allHeld } from '../helpers';
import { exited, ready, spawnWorker } from '../worker/child';
import { makeCertificate } from '../serial/certificates';

/**
 * The processes pool, in real worker processes started by the CLI: tasks run in warm child
 * processes; what kills a process kills one child, fails its task with WorkerLostError (acked,
 * as Celery does with acks_late and no reject_on_worker_lost) and the worker runs on; the hard
 * time limit kills the child; max-tasks-per-child and max-memory-per-child recycle children.
 */

const APP = join(__dirname, '../fixtures/pools/app.ts');
let app: Celeriac;
let redis: Redis;
const workers: ReturnType<typeof spawnWorker>[] = [];

beforeAll(async () => {
  app = await makeApp('process_pool', { apps: [join(__dirname, '../fixtures/pools/jobs')] });
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
  await Promise.all(workers.map((w) => exited(w)));
  await redis?.quit();
  if (app) await cleanup(app);
});

async function startWorker(queue: string, args: string[], env: Record<string, string> = {}) {
  const w = spawnWorker(app, ['-Q', queue, '--pool', 'processes', '-n', `${queue}@pools`, ...args], env, APP);
  workers.push(w);
  await ready(w, 40_000);
  return w;
}

const run = async (queue: string, name: string, args: unknown[] = []) =>
  (await app.sendTask(name, args, {}, { queue })).get({ timeout: 30 });

/** The stored row of a task once it is final. */
async function finalRow(id: string) {
  return eventually(
    async () => {
      const [row] = await (await app.results()).getMany([id]);
      expect(['SUCCESS', 'FAILURE']).toContain(row?.status);
      return row!;
    },
    30_000,
    20,
  );
}

async function unacked(): Promise<number> {
  return Object.values(await allHeld(redis, app.config.keyPrefix)).reduce((a, b) => a + b, 0);
}

test('tasks run in warm child processes, not in the worker', async () => {
  const worker = await startWorker('pp', ['-c', '2']);
  const pids = await Promise.all(Array.from({ length: 6 }, () => run('pp', 'pools.pid')));
  expect(pids.every((p) => typeof p === 'number' && p !== worker.pid)).toBe(true);
  expect(new Set(pids).size).toBeLessThanOrEqual(2);
  // With the heap flags `celeriac worker` set at run time: the young generation stayed at 1 MiB
  // semi-spaces while the child loaded the package (16 MiB without).
  const heap = (await run('pp', 'pools.heap')) as { newSpaceBytes: number };
  expect(heap.newSpaceBytes).toBeLessThanOrEqual(2 * 1024 * 1024);
});

test.each([
  ['process.abort()', 'pools.abort', /signal SIGABRT/],
  ['a runaway allocation past the heap limit', 'pools.runaway', /signal SIGABRT|signal SIGTRAP|exit code/],
])(
  '%s kills one child: its task fails with WorkerLostError, is acked, and the worker runs on',
  async (_, name, how) => {
    const queue = name.replace('pools.', 'pl_');
    // Children inherit the worker's Node flags: a small heap makes the runaway end quickly.
    const worker = await startWorker(queue, ['-c', '2'], { NODE_OPTIONS: '--max-old-space-size=160' });
    const before = await run(queue, 'pools.pid');
    const sent = await app.sendTask(name, [], {}, { queue });
    const row = await finalRow(sent.id);
    expect(row.status).toBe('FAILURE');
    expect(row.result).toMatchObject({ exc_type: 'WorkerLostError' });
    expect((row.result as { exc_message: string[] }).exc_message[0]).toMatch(how);
    // The worker and its children run on: two tasks at once still find two live children.
    const after = await Promise.all([run(queue, 'pools.pid'), run(queue, 'pools.pid')]);
    expect(after.every((p) => typeof p === 'number')).toBe(true);
    expect(worker.exitCode).toBeNull();
    expect(before).not.toBe(worker.pid);
    // Acked (nothing held for redelivery) and run once.
    await eventually(async () => expect(await unacked()).toBe(0), 10_000, 20);
    expect(await redis.lrange(`${app.config.keyPrefix}runs`, 0, -1)).toEqual(expect.arrayContaining([sent.id]));
    expect((await redis.lrange(`${app.config.keyPrefix}runs`, 0, -1)).filter((id) => id === sent.id)).toHaveLength(1);
  },
  90_000,
);

test('the hard time limit kills the child running the task and a fresh child takes its place', async () => {
  await startWorker('pt', ['-c', '1']);
  const before = await run('pt', 'pools.pid');
  const stuck = await app.sendTask('pools.spinForever', [], {}, { queue: 'pt' });
  // Queued behind it, so the worker hands it to the slot the moment the limit frees it: before the
  // killed child's exit is known. It must go to the fresh child, not to the dying one.
  const next = await app.sendTask('pools.pid', [], {}, { queue: 'pt' });
  const row = await finalRow(stuck.id);
  expect(row.status).toBe('FAILURE');
  expect(row.result).toMatchObject({ exc_type: 'TimeLimitExceededError' });
  const after = await next.get({ timeout: 30 });
  expect(after).not.toBe(before);
}, 60_000);

test('max-tasks-per-child: a child runs that many tasks, then a fresh one takes over', async () => {
  await startWorker('pm', ['-c', '1', '--max-tasks-per-child', '2']);
  const pids: unknown[] = [];
  for (let i = 0; i < 6; i++) pids.push(await run('pm', 'pools.pid'));
  expect(pids[0]).toBe(pids[1]);
  expect(pids[2]).toBe(pids[3]);
  expect(pids[4]).toBe(pids[5]);
  expect(new Set(pids).size).toBe(3);
}, 60_000);

test('max-memory-per-child reads the resident set: the task that grew it completes, the next runs in a new child', async () => {
  // A child with the app loaded is well under 200 MB resident; the hog keeps 256 MiB more.
  await startWorker('mem', ['-c', '1', '--max-memory-per-child', String(200 * 1024)]);
  const before = await run('mem', 'pools.pid');
  const hogged = await run('mem', 'pools.hog', [256]);
  const after = await run('mem', 'pools.pid');
  const again = await run('mem', 'pools.pid');
  expect(hogged).toBe(before);
  expect(after).not.toBe(before);
  expect(again).toBe(after);
}, 60_000);

test('a SIGKILLed worker leaves no child behind', async () => {
  const worker = await startWorker('orphan', ['-c', '1']);
  const child = (await run('orphan', 'pools.pid')) as number;
  worker.kill('SIGKILL');
  await exited(worker);
  await eventually(() => expect(alive(child)).toBe(false), 10_000, 20);
}, 60_000);

test('the children verify and decode what the app signs with the auth serializer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-pools-auth-'));
  try {
    const cert = makeCertificate(dir, 'sender');
    const signer = await makeApp('process_pool_auth', {
      apps: [join(__dirname, '../fixtures/pools/jobs')],
      schema: app.config.schema,
      keyPrefix: app.config.keyPrefix,
      taskSerializer: 'auth',
      security: { key: cert.key, certificate: cert.cert, certStore: [cert.cert] },
    });
    try {
      const worker = await startWorker('pauth', ['-c', '1'], { POOLS_AUTH_CERT: cert.cert });
      const sent = await signer.sendTask('pools.pid', [], {}, { queue: 'pauth' });
      const pid = await sent.get({ timeout: 30 });
      expect(typeof pid === 'number' && pid !== worker.pid).toBe(true);
    } finally {
      await signer.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
