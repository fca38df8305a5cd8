import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import { encodeTask } from '../../src/broker/message';
import { AuthSerializer } from '../../src/broker/serializers/auth';
import type { Worker } from '../../src/worker/worker';
import { cleanup, eventually, makeApp, REDIS_URL } from '../helpers';
import { PythonSide, type PythonWorker } from '../interop/python';
import { outgoingTask } from '../outgoing';
import { makeCertificate, type TestCertificate } from './certificates';

/**
 * Celery's `auth` serializer (X.509 signing, celery.security) between Celeriac and real Celery
 * 5.2.6 with Debian's python3-cryptography, both ways on Redis: Python signs with its key and a
 * Celeriac worker verifies against its certificate store and runs the task; Celeriac signs and a
 * Celery worker set up with app.setup_security() runs it. An altered message, one signed by a
 * certificate outside the store, and an unsigned one are refused with the reason.
 */

const HERE = __dirname;
const PY_QUEUE = 'py-auth';
const JS_QUEUE = 'js-auth';
const ARGS = [1, 'héllo ✓', { nested: [true, null] }];
const KWARGS = { n: 42, text: 'signed' };

let dir: string;
let pem: Record<'py' | 'js' | 'stranger', TestCertificate>;
let app: Celeriac;
let redis: Redis;
let jsWorker: Worker;
let pyWorker: PythonWorker | undefined;
let python: PythonSide;
let recordKey: string;

function certificate(name: string): TestCertificate {
  return makeCertificate(dir, name, join(dir, name === 'stranger' ? 'stranger.crt' : `store/${name}.pem`));
}

class SecurePython extends PythonSide {
  env(): NodeJS.ProcessEnv {
    return {
      ...super.env(),
      SERIAL_AUTH_KEY: pem.py.keyFile,
      SERIAL_AUTH_CERT: pem.py.certFile,
      SERIAL_AUTH_STORE: join(dir, 'store/*.pem'),
    };
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'celeriac-auth-'));
  mkdirSync(join(dir, 'store'));
  pem = { py: certificate('py'), js: certificate('js'), stranger: certificate('stranger') };
  app = await makeApp('auth', {
    apps: [join(HERE, 'fixtures/serial')],
    routes: { 'serial.record': { queue: PY_QUEUE } },
    taskSerializer: 'auth',
    acceptContent: ['auth'],
    security: { key: pem.js.key, certificate: pem.js.cert, certStore: [pem.js.cert, pem.py.cert] },
  });
  recordKey = `${app.config.keyPrefix}serial:records`;
  redis = new Redis(REDIS_URL);
  python = new SecurePython(HERE, app.config.keyPrefix, recordKey);
  jsWorker = app.worker({ name: 'js-auth@test', queues: [JS_QUEUE], concurrency: 2 });
  await jsWorker.start();
});

afterAll(async () => {
  await pyWorker?.stop();
  python?.close();
  await jsWorker?.stop();
  await redis?.quit();
  if (app) await cleanup(app);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('Celery signs with its certificate; a Celeriac worker verifies it against its store and runs it', async () => {
  const reply = await python.sendTasks({
    send: [{ name: 'serial.echo', args: ARGS, kwargs: KWARGS, queue: JS_QUEUE }],
  });
  const id: string = reply.sent[0].id;
  const raw = (await redis.lrange(`${app.config.keyPrefix}${JS_QUEUE}`, 0, -1)).find((m) => m.includes(id));
  if (raw) expect(JSON.parse(raw)['content-type']).toBe('application/data'); // unless the worker took it first
  expect(await app.asyncResult(id).get({ timeout: 20 })).toEqual({ args: ARGS, kwargs: KWARGS });
}, 30_000);

test('Celeriac signs with its certificate; a Celery worker set up with setup_security() runs it', async () => {
  const sent = await app.sendTask('serial.record', ARGS, KWARGS);
  const [raw] = await redis.lrange(`${app.config.keyPrefix}${PY_QUEUE}`, 0, -1);
  expect(JSON.parse(raw)['content-type']).toBe('application/data');
  expect(JSON.parse(raw)['content-encoding']).toBe('utf-8');
  pyWorker = await python.startWorker(PY_QUEUE);
  const [record] = await eventually(
    async () => {
      const all = (await redis.lrange(recordKey, 0, -1)).map((s) => JSON.parse(s));
      expect(all).toHaveLength(1);
      return all;
    },
    30_000,
    50,
  );
  expect(record).toEqual({ id: sent.id, args: ARGS, kwargs: KWARGS });
}, 60_000);

/** A message for the Celeriac worker, as the given signer would send it. */
function signedBy(auth: AuthSerializer | undefined, id: string, args: unknown[] = [1]): string {
  return encodeTask(
    outgoingTask({ id, task: 'serial.echo', args, queue: JS_QUEUE, serializer: auth ? 'auth' : 'json', auth }),
  );
}

/** The same signed message with one digit of its args changed and the signature left as it was. */
function altered(raw: string): string {
  const envelope = JSON.parse(raw);
  const payload = Buffer.from(Buffer.from(envelope.body, 'base64').toString('latin1'), 'base64');
  const at = payload.lastIndexOf(Buffer.from('[[1]'));
  payload[at + 2] = '7'.charCodeAt(0);
  envelope.body = Buffer.from(payload.toString('base64')).toString('base64');
  return JSON.stringify(envelope);
}

test('altered, foreign-signed and unsigned messages are refused with the reason; a good one behind them runs', async () => {
  const own = new AuthSerializer({ key: pem.js.key, certificate: pem.js.cert, certStore: [pem.js.cert] });
  const stranger = new AuthSerializer({
    key: pem.stranger.key,
    certificate: pem.stranger.cert,
    certStore: [pem.stranger.cert],
  });
  const bad = [
    { id: 'auth-altered', raw: altered(signedBy(own, 'auth-altered')), reason: /does not verify .*altered or forged/ },
    { id: 'auth-stranger', raw: signedBy(stranger, 'auth-stranger'), reason: /not in security.certStore/ },
    { id: 'auth-unsigned', raw: signedBy(undefined, 'auth-unsigned'), reason: /does not accept/ },
  ];
  const queueKey = `${app.config.keyPrefix}${JS_QUEUE}`;
  for (const b of bad) await redis.lpush(queueKey, b.raw);
  await redis.lpush(queueKey, signedBy(own, 'auth-good', [5]));
  expect(await app.asyncResult('auth-good').get({ timeout: 20 })).toEqual({ args: [5], kwargs: {} });
  const broker = await app.broker();
  await eventually(async () => expect(await broker.listDeadLetters(100)).toHaveLength(bad.length), 20_000, 50);
  const dead = await broker.listDeadLetters(100);
  for (const b of bad) expect(dead.find((d) => d.raw === b.raw)?.reason).toMatch(b.reason);
}, 30_000);

test('keys and certificates are checked at start: a duplicate or unreadable store entry is named, a mismatched pair refused', () => {
  expect(() => new AuthSerializer({ certStore: [pem.py.cert, pem.py.cert] })).toThrow(/certStore\[1\].*duplicate/);
  expect(() => new AuthSerializer({ certStore: ['not a pem'] })).toThrow(/certStore\[0\].*PEM/);
  expect(() => new AuthSerializer({ key: pem.js.key, certificate: pem.py.cert, certStore: [pem.py.cert] })).toThrow(
    /not the certificate of security.key/,
  );
});
