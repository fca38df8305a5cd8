import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Celeriac } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { cleanup, eventually, makeApp, REDIS_URL } from '../helpers';
import { PYTHON, PythonWorker } from '../interop/python';
import { exited } from '../worker/child';
import '../fixtures/parity/tasks';

/**
 * Python's celery.events EventReceiver (Celery 5.2.6) watches a Celeriac worker and a Celery worker
 * run the same tasks, sent by one Celeriac app with taskSendSentEvent: both must show the same
 * event types for each task (what Flower and other Celery monitors count on), in the same order
 * on the worker's side.
 */
const HERE = __dirname;
const JS_QUEUE = 'js-events';
const PY_QUEUE = 'py-events';
const JS_NAME = 'js-events@parity';

interface Seen {
  type: string;
  uuid?: string;
  name?: string;
  hostname?: string;
}

let app: Celeriac;
let jsWorker: Worker;
let pyWorker: PythonWorker | undefined;
let capture: ChildProcess | undefined;
const events: Seen[] = [];
let captureLog = '';

function python(args: string[]): ChildProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONDONTWRITEBYTECODE: '1',
    PARITY_BROKER_URL: REDIS_URL,
    PARITY_KEY_PREFIX: app.config.keyPrefix,
  };
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  return spawn(PYTHON, args, { cwd: HERE, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(async () => {
  app = await makeApp('parity_events', { apps: [join(HERE, '../fixtures/parity')], taskSendSentEvent: true });
  capture = python(['celery_events.py', 'capture']);
  let partial = '';
  capture.stdout!.on('data', (d) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line));
  });
  capture.stderr!.on('data', (d) => (captureLog += d));
  await eventually(() => expect(events.some((e) => e.type === 'capture-started')).toBe(true), 20_000);
  jsWorker = app.worker({ name: JS_NAME, queues: [JS_QUEUE], concurrency: 2 });
  await jsWorker.start();
  pyWorker = new PythonWorker(
    python([
      '-m',
      'celery',
      '-A',
      'celery_events',
      'worker',
      '-E',
      '--pool',
      'solo',
      '-Q',
      PY_QUEUE,
      '-n',
      'py-events@%h',
      '--without-mingle',
      '--without-gossip',
      '--loglevel',
      'INFO',
    ]),
  );
  await pyWorker.waitForLog(/py-events@\S+ ready\./, 20_000);
}, 60_000);

afterAll(async () => {
  await pyWorker?.stop();
  if (capture && capture.exitCode === null) {
    capture.kill('SIGKILL');
    await exited(capture);
  }
  await cleanup(app);
});

const typesOf = (uuid: string) => events.filter((e) => e.uuid === uuid).map((e) => e.type);

test('the EventReceiver sees the same task event types from a Celeriac worker as from a Celery worker', async () => {
  // Both workers' heartbeats reach the receiver: it is subscribed, and each worker knows a monitor listens.
  await eventually(
    () => {
      expect(events.some((e) => e.type === 'worker-heartbeat' && e.hostname === JS_NAME)).toBe(true);
      expect(events.some((e) => e.type === 'worker-heartbeat' && e.hostname?.startsWith('py-events@'))).toBe(true);
    },
    20_000,
    50,
  );
  const sent = {
    jsAdd: await app.sendTask('parity.add', [2, 3], {}, { queue: JS_QUEUE }),
    jsBoom: await app.sendTask('parity.boom', ['no'], {}, { queue: JS_QUEUE }),
    pyAdd: await app.sendTask('parity.add', [2, 3], {}, { queue: PY_QUEUE }),
    pyBoom: await app.sendTask('parity.boom', ['no'], {}, { queue: PY_QUEUE }),
  };
  await eventually(
    () => {
      for (const r of [sent.jsAdd, sent.pyAdd]) expect(typesOf(r.id)).toContain('task-succeeded');
      for (const r of [sent.jsBoom, sent.pyBoom]) expect(typesOf(r.id)).toContain('task-failed');
    },
    20_000,
    50,
  ).catch((err) => {
    throw new Error(`${err.message}\nevents: ${JSON.stringify(events.filter((e) => e.uuid))}\n${captureLog}`);
  });
  const sorted = (uuid: string) => [...typesOf(uuid)].sort();
  expect(sorted(sent.jsAdd.id)).toEqual(sorted(sent.pyAdd.id));
  expect(sorted(sent.jsBoom.id)).toEqual(sorted(sent.pyBoom.id));
  expect(sorted(sent.jsAdd.id)).toEqual(['task-received', 'task-sent', 'task-started', 'task-succeeded']);
  expect(sorted(sent.jsBoom.id)).toEqual(['task-failed', 'task-received', 'task-sent', 'task-started']);
  // The worker's own events arrive in the order they happened, on both.
  const workerSide = (uuid: string) => typesOf(uuid).filter((t) => t !== 'task-sent');
  expect(workerSide(sent.jsAdd.id)).toEqual(workerSide(sent.pyAdd.id));
  expect(workerSide(sent.jsBoom.id)).toEqual(workerSide(sent.pyBoom.id));
  const received = events.find((e) => e.uuid === sent.jsAdd.id && e.type === 'task-received')!;
  expect(received).toMatchObject({ name: 'parity.add', hostname: JS_NAME });
  const sentEvent = events.find((e) => e.uuid === sent.pyAdd.id && e.type === 'task-sent')!;
  expect(sentEvent).toMatchObject({ name: 'parity.add', queue: PY_QUEUE });
}, 60_000);

test('and the same worker event types: online, heartbeat, offline', async () => {
  await jsWorker.stop();
  await pyWorker!.stop();
  const workerTypes = (mine: (host: string) => boolean) =>
    [
      ...new Set(events.filter((e) => e.type.startsWith('worker-') && mine(e.hostname ?? '')).map((e) => e.type)),
    ].sort();
  const py = (host: string) => host.startsWith('py-events@');
  await eventually(
    () => {
      expect(workerTypes((h) => h === JS_NAME)).toEqual(['worker-heartbeat', 'worker-offline', 'worker-online']);
      expect(workerTypes(py)).toEqual(['worker-heartbeat', 'worker-offline', 'worker-online']);
    },
    20_000,
    50,
  );
}, 60_000);
