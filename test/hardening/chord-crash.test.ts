import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Redis from 'ioredis';
import { chord, signature, type Celeriac } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { closeTestRedis } from '../fixtures/test-redis';
import { cleanup, DATABASE_URL, eventually, fixtureEnv, makeApp, REDIS_URL, heldCount } from '../helpers';
import { exited } from '../worker/child';

/**
 * Issue 15: the chord callback runs exactly once when the worker that completed the chord dies
 * between the join and the member's ack. canvas-processes.test.ts kills a worker at a random
 * moment, which almost never lands here; the crash points (src/worker/fault-hooks.ts) put the
 * kill exactly at the join that completes the chord, and after its fire.
 */
const root = join(__dirname, '../..');
const SIZE = 3;
let app: Celeriac;
let redis: Redis;
let rescuer: Worker | undefined;
const children: ChildProcess[] = [];

beforeAll(async () => {
  app = await makeApp('chord_crash', { apps: [join(root, 'test/fixtures/worker-app/jobs')] });
  redis = new Redis(REDIS_URL);
  // The rescuer runs the fixture tasks in this process: they record their runs under our prefix.
  Object.assign(process.env, fixtureEnv(app));
});
afterEach(async () => {
  await rescuer?.stop();
  rescuer = undefined;
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await closeTestRedis();
  await redis.quit();
  await cleanup(app);
});

function spawnVictim(point: string): ChildProcess & { crashPoint: Promise<Record<string, unknown>> } {
  const child = spawn(
    process.execPath,
    ['-e', "require('./bin/register-ts').register(); require('./test/hardening/fixtures/chord-crash-worker.ts')"],
    {
      cwd: root,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        DATABASE_URL,
        CELERIAC_BROKER_URL: REDIS_URL,
        ...fixtureEnv(app),
        CRASH_POINT: point,
        CRASH_AT_FINISHED: String(SIZE),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let out = '';
  const crashPoint = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      for (const line of out.split('\n')) if (line.includes('"crash-point"')) resolve(JSON.parse(line));
    });
    child.stderr!.on('data', (d) => (out += d));
    child.once('exit', (code, signal) => reject(new Error(`victim exited (${code ?? signal}) first:\n${out}`)));
  });
  crashPoint.catch(() => {});
  return Object.assign(child, { crashPoint });
}

const list = (name: string) => redis.lrange(app.config.keyPrefix + name, 0, -1);

test.each(['afterChordJoin', 'afterChordFire'])(
  'a worker SIGKILLed at %s of the member that completes a chord: redelivered, joined again, the callback runs once',
  async (point) => {
    await redis.del(app.config.keyPrefix + 'callbacks', app.config.keyPrefix + 'executions');
    const victim = spawnVictim(point);
    const r = await chord(
      Array.from({ length: SIZE }, () => signature('jobs.sleepy', [0])),
      // The body goes to a queue the victim does not read: a callback the victim ran and died before
      // acking would run again, as any task does (at least once), which is not the double fire looked for.
      signature('jobs.sum').set({ queue: 'bodies' }),
    ).applyAsync();
    const at = await victim.crashPoint;
    expect(at).toMatchObject({ finished: SIZE, failed: 0 });
    const memberId = at.memberId as string;
    victim.kill('SIGKILL');
    await exited(victim);

    rescuer = app.worker({ name: `rescuer-${point}@test`, concurrency: 4, queues: ['celery', 'bodies'] });
    const redone = new Promise<void>((resolve) =>
      rescuer!.on('task-finished', (id: string) => id === memberId && resolve()),
    );
    await rescuer.start();
    expect(await r.get({ timeout: 60 })).toBe(SIZE);
    // The member ran again on the rescuer, which joined it again and let go of its message...
    await redone;
    expect((await list('executions')).filter((id) => id === memberId)).toHaveLength(2);
    // ...and whatever that sent has run: nothing is queued, held or running.
    await eventually(async () => {
      for (const q of ['celery', 'bodies']) expect(await (await app.broker()).queueLength(q)).toBe(0);
      expect(rescuer!.info()).toMatchObject({ active: 0, held: 0 });
      expect(await heldCount(app, rescuer!.consumer)).toBe(0);
    }, 20_000);
    expect(await list('callbacks')).toEqual([r.id]);
  },
  90_000,
);

test('crash points are no option of a worker and not exported: test code attaches them (src/worker/fault-hooks.ts)', async () => {
  expect(() => app.worker({ faults: { afterChordJoin: () => {} } } as never)).toThrow(/faults.*unknown option/);
  expect(Object.keys(await import('../../src'))).not.toContain('injectWorkerFaults');
});
