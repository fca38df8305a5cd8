import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { cleanup, eventually, fixtureEnv, makeApp, REDIS_URL } from '../helpers';
import { closeTestRedis } from '../fixtures/test-redis';
import { RC_JOBS } from '../ops/rc-workers';
import { exited } from '../worker/child';

/**
 * Remote control across languages on one Redis: Python Celery 5.2.6's `celery inspect` and
 * `celery control` (kombu 5.2.4 pidbox) address a Celeriac worker, and Celeriac's inspect sees a
 * Python worker. Isolation: the test app's keyPrefix is kombu's global_keyprefix, which kombu
 * applies to the pidbox channel, the reply queue and the `_kombu.binding.reply.celery.pidbox` set.
 */

const PYTHON = '/usr/bin/python3'; // the pyenv python3 on PATH has no celery
const HERE = __dirname;
const JS = 'js-rc@test';
const PY = 'py-rc@test';

let app: Celeriac;
let redis: Redis;
let worker: Worker;
let savedEnv: Record<string, string | undefined> = {};
const children = new Set<ChildProcess>();
const killChildren = () => children.forEach((c) => c.kill('SIGKILL'));
process.once('exit', killChildren);

beforeAll(async () => {
  app = await makeApp('celery_inspect', { apps: [RC_JOBS] });
  // The fixture's rc.block, run by the worker in this process, reads its gate with these.
  const env = fixtureEnv(app);
  savedEnv = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  redis = new Redis(REDIS_URL);
  worker = app.worker({ name: JS, queues: ['js-rc'], concurrency: 2 });
  await worker.start();
});

afterAll(async () => {
  killChildren();
  process.removeListener('exit', killChildren);
  await redis?.quit();
  await closeTestRedis();
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  if (app) await cleanup(app);
});

function pythonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONDONTWRITEBYTECODE: '1',
    INSPECT_BROKER_URL: REDIS_URL,
    INSPECT_KEY_PREFIX: app.config.keyPrefix,
  };
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  return env;
}

function python(args: string[]): ChildProcess & { output: () => string } {
  const child = spawn(PYTHON, ['-m', 'celery', '-A', 'celery_inspect_app', ...args], {
    cwd: HERE,
    env: pythonEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  child.on('exit', () => children.delete(child));
  setTimeout(() => child.kill('SIGKILL'), 50_000).unref();
  return Object.assign(child, { output: () => out });
}

/** `celery -A celery_inspect_app <args>` to its end: exit code and stdout. */
async function celery(args: string[]): Promise<{ code: number | null; stdout: string; output: string }> {
  const child = python(args);
  let stdout = '';
  child.stdout!.on('data', (d) => (stdout += d));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, output: child.output() };
}

/** `--json` output: inspect prints `{node: reply}`, control the list of replies as broadcast() returns it. */
async function celeryJson(args: string[]): Promise<any> {
  const { code, stdout, output } = await celery([...args, '--json']);
  if (code !== 0) throw new Error(`celery ${args.join(' ')} exited ${code}:\n${output}`);
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

test('`celery inspect ping` from Python lists the Celeriac worker', async () => {
  const { code, stdout, output } = await celery(['inspect', 'ping', '--timeout', '2']);
  expect({ code, output }).toMatchObject({ code: 0 });
  expect(stdout).toMatch(new RegExp(`->\\s+${JS}: OK\\s+pong`));
  expect(stdout).toContain('1 node online.');
  expect(await celeryJson(['inspect', 'ping', '-d', JS])).toEqual({ [JS]: { ok: 'pong' } });
});

test("Python inspect reads Celeriac's stats, registered, active and active_queues", async () => {
  const held = await app.sendTask('rc.block', ['py-inspect'], {}, { queue: 'js-rc' });
  await eventually(() => expect(worker.activeTasks()).toHaveLength(1), 10_000, 20);
  const active = await celeryJson(['inspect', 'active', '-d', JS]);
  expect(active[JS]).toEqual([
    expect.objectContaining({
      id: held.id,
      name: 'rc.block',
      args: ['py-inspect'],
      hostname: JS,
      worker_pid: process.pid,
    }),
  ]);
  await redis.set(`${app.config.keyPrefix}gate:py-inspect`, '1');
  await held.get({ timeout: 15 });

  const stats = await celeryJson(['inspect', 'stats', '-d', JS]);
  expect(stats[JS]).toMatchObject({ pid: process.pid, pool: { 'max-concurrency': 2 } });
  expect((await celeryJson(['inspect', 'registered', '-d', JS]))[JS]).toEqual(
    expect.arrayContaining(['rc.block', 'rc.tick']),
  );
  expect((await celeryJson(['inspect', 'active_queues', '-d', JS]))[JS]).toEqual([
    expect.objectContaining({ name: 'js-rc', routing_key: 'js-rc' }),
  ]);
});

test('Python control commands change the Celeriac worker', async () => {
  expect(await celeryJson(['control', 'pool_grow', '3', '-d', JS])).toEqual([{ [JS]: { ok: 'pool will grow' } }]);
  expect(worker.concurrency).toBe(5);
  expect(await celeryJson(['control', 'pool_shrink', '3', '-d', JS])).toEqual([{ [JS]: { ok: 'pool will shrink' } }]);
  expect(worker.concurrency).toBe(2);
  expect(await celeryJson(['control', 'rate_limit', 'rc.tick', '5/s', '-d', JS])).toEqual([
    { [JS]: { ok: 'new rate limit set successfully' } },
  ]);
  expect(await celeryJson(['control', 'add_consumer', 'js-rc-2', '-d', JS])).toEqual([
    { [JS]: { ok: 'add consumer js-rc-2' } },
  ]);
  expect(worker.queues).toEqual(['js-rc', 'js-rc-2']);
  expect(await celeryJson(['control', 'cancel_consumer', 'js-rc-2', '-d', JS])).toEqual([
    { [JS]: { ok: 'no longer consuming from js-rc-2' } },
  ]);
  expect(worker.queues).toEqual(['js-rc']);
});

test("Celeriac's inspect sees a Python worker next to its own, and can shut it down", async () => {
  const py = python([
    'worker',
    '--pool',
    'solo',
    '-n',
    PY,
    '-Q',
    'py-rc',
    '--without-mingle',
    '--without-gossip',
    '--without-heartbeat',
    '--loglevel',
    'INFO',
  ]);
  await eventually(
    async () => expect(await app.control.ping({ destination: [PY], timeoutMs: 500 })).toEqual({ [PY]: { ok: 'pong' } }),
    30_000,
    100,
  );

  expect(await app.control.inspect({ timeoutMs: 1500 }).ping()).toEqual({ [JS]: { ok: 'pong' }, [PY]: { ok: 'pong' } });
  const inspect = app.control.inspect({ destination: [PY], timeoutMs: 5000 });
  expect((await inspect.registered())[PY]).toContain('pyrc.add');
  expect((await inspect.stats())[PY]).toMatchObject({ pid: py.pid, pool: { 'max-concurrency': 1 } });
  expect((await inspect.activeQueues())[PY]).toEqual([expect.objectContaining({ name: 'py-rc' })]);
  expect(await inspect.active()).toEqual({ [PY]: [] });

  // Celery's shutdown ends the worker without a reply.
  expect(await app.control.shutdown({ destination: [PY], timeoutMs: 500 })).toEqual({});
  const { code } = await exited(py);
  expect({ code, log: code === 0 ? '' : py.output() }).toEqual({ code: 0, log: '' });
});

test('`celery control shutdown` asks the Celeriac worker to stop', async () => {
  const requested = once(worker, 'shutdown-requested');
  expect(await celeryJson(['control', 'shutdown', '-d', JS])).toEqual([{ [JS]: { ok: 'shutting down' } }]);
  await requested;
  await worker.stop();
});
