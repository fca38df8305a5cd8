import { join } from 'node:path';
import Redis from 'ioredis';
import { Celeriac } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { TEST_BROKERS, testBroker, type TestBroker } from '../brokers';
import { cleanup, DATABASE_URL, eventually, makeApp, REDIS_URL } from '../helpers';
import { PythonSide, type PythonWorker } from '../interop/python';

/**
 * msgpack and zlib/gzip compression between Celeriac and real Celery 5.2.6 (kombu 5.2.4, Debian's
 * python3-msgpack), both ways, on every transport of TEST_BROKERS: Celery sends with serializer=
 * and compression= and a Celeriac worker runs the task with the same arguments; Celeriac sends
 * and a Celery worker runs it. A worker that accepts only JSON dead-letters a msgpack message
 * with the reason.
 */

const HERE = __dirname;
const PY_QUEUE = 'py-serial';
const JS_QUEUE = 'js-serial';
const JSON_ONLY_QUEUE = 'json-only';

/** Values where the encodings differ if anything does: unicode, nesting, integers and floats, null, empty. */
const ARGS = [1, -2, 2 ** 40, 1.5, 'héllo ✓ 😀', '', null, true, false, [], {}, { nested: [1, { deep: 'x' }] }];
const KWARGS = { text: 'ünïcode', list: [1, 2, 3], none: null, big: 9007199254740991, neg: -0.25 };
const COMBOS = [
  { serializer: 'msgpack', compression: null },
  { serializer: 'msgpack', compression: 'zlib' },
  { serializer: 'json', compression: 'zlib' },
  { serializer: 'json', compression: 'gzip' },
] as const;

describe.each(TEST_BROKERS)('on %s', (kind) => {
  let broker: TestBroker;
  let app: Celeriac;
  let jsonOnly: Celeriac;
  let redis: Redis;
  let jsWorkers: Worker[] = [];
  let pyWorker: PythonWorker | undefined;
  let python: PythonSide;
  let recordKey: string;

  beforeAll(async () => {
    broker = await testBroker(kind, 'serial');
    app = await makeApp(`serial_${kind}`, {
      brokerUrl: broker.brokerUrl,
      apps: [join(HERE, 'fixtures/serial')],
      routes: { 'serial.record': { queue: PY_QUEUE } },
      acceptContent: ['json', 'msgpack'],
    });
    // The same schema and broker, but a worker that takes JSON only (Celery's default accept_content).
    jsonOnly = new Celeriac({
      databaseUrl: DATABASE_URL,
      brokerUrl: broker.brokerUrl,
      schema: app.config.schema,
      keyPrefix: app.config.keyPrefix,
      apps: [join(HERE, 'fixtures/serial')],
      logger: { log: () => {} },
    });
    recordKey = `${app.config.keyPrefix}serial:records`;
    redis = new Redis(REDIS_URL);
    python = new PythonSide(HERE, app.config.keyPrefix, recordKey, broker.brokerUrl);
    jsWorkers = [
      app.worker({ name: `js-serial-${kind}@test`, queues: [JS_QUEUE], concurrency: 2 }),
      jsonOnly.worker({ name: `json-only-${kind}@test`, queues: [JSON_ONLY_QUEUE], concurrency: 1 }),
    ];
    await Promise.all(jsWorkers.map((w) => w.start()));
  }, 60_000);

  afterAll(async () => {
    await pyWorker?.stop();
    python?.close();
    await Promise.all(jsWorkers.map((w) => w.stop()));
    await redis?.del(recordKey);
    await redis?.quit();
    await jsonOnly?.close();
    if (app) await cleanup(app);
    await broker?.dispose();
  }, 60_000);

  test.each(COMBOS)(
    'Celery sends with serializer=$serializer compression=$compression; Celeriac runs it as sent',
    async (combo) => {
      const reply = await python.sendTasks({
        send: [{ name: 'serial.echo', args: ARGS, kwargs: KWARGS, queue: JS_QUEUE, ...combo }],
      });
      const id: string = reply.sent[0].id;
      expect(await app.asyncResult(id).get({ timeout: 30 })).toEqual({ args: ARGS, kwargs: KWARGS });
    },
    60_000,
  );

  test('Celeriac sends msgpack and zlib/gzip as kombu does; a Celery worker runs each with the same arguments', async () => {
    const ids: string[] = [];
    for (const combo of COMBOS) ids.push((await app.sendTask('serial.record', ARGS, KWARGS, { ...combo })).id);
    if (kind === 'redis') {
      // On the wire: kombu's content types and compression header.
      const queued = (await redis.lrange(`${app.config.keyPrefix}${PY_QUEUE}`, 0, -1))
        .map((s) => JSON.parse(s))
        .reverse();
      expect(queued.map((m) => [m['content-type'], m['content-encoding'], m.headers.compression ?? null])).toEqual([
        ['application/x-msgpack', 'binary', null],
        ['application/x-msgpack', 'binary', 'application/x-gzip'],
        ['application/json', 'utf-8', 'application/x-gzip'],
        ['application/json', 'utf-8', 'application/x-gzip'],
      ]);
    }
    pyWorker = await python.startWorker(PY_QUEUE);
    const records = await eventually(
      async () => {
        const all = (await redis.lrange(recordKey, 0, -1)).map((s) => JSON.parse(s));
        expect(all).toHaveLength(COMBOS.length);
        return all;
      },
      30_000,
      50,
    );
    for (const r of records) {
      expect(ids).toContain(r.id);
      expect(r.args).toEqual(ARGS);
      expect(r.kwargs).toEqual(KWARGS);
    }
  }, 90_000);

  test('a worker that accepts only JSON dead-letters a msgpack message from Celery, saying why', async () => {
    const reply = await python.sendTasks({
      send: [{ name: 'serial.echo', args: [1], kwargs: {}, queue: JSON_ONLY_QUEUE, serializer: 'msgpack' }],
    });
    const id: string = reply.sent[0].id;
    const dead = await eventually(
      async () => {
        const found = (await (await jsonOnly.broker()).listDeadLetters(100)).find((d) => d.raw.includes(id));
        expect(found).toBeDefined();
        return found!;
      },
      20_000,
      50,
    );
    expect(dead.reason).toMatch(/application\/x-msgpack.*does not accept.*acceptContent/);
  }, 60_000);
});
