import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import amqp from 'amqplib';
import Redis from 'ioredis';
import type { Beat, Celeriac, CeleriacOptions } from '../../src';
import { fromAmqp } from '../../src/broker/amqp/envelope';
import { decodeTask } from '../../src/broker/message';
import { testBroker, type BrokerKind, type TestBroker } from '../brokers';
import { cleanup, DATABASE_URL, fixtureEnv, makeApp, REDIS_URL } from '../helpers';
import type { RedisBroker } from '../../src/broker/redis-broker';

export const fixtureApps = [join(__dirname, 'fixtures/app')];

export function makeBeatApp(label: string, options: CeleriacOptions = {}): Promise<Celeriac> {
  return makeApp(label, { apps: fixtureApps, ...options });
}

/**
 * Inside `describe.each(TEST_BROKERS)`: the app a parametrised beat test runs on. On Redis, the
 * file's own app; on another transport, a beat app on a vhost of its own, made in beforeAll and
 * removed in afterAll.
 */
export function beatAppOn(kind: BrokerKind, label: string, redisApp: () => Celeriac): () => Celeriac {
  let app: Celeriac | undefined;
  let broker: TestBroker | undefined;
  beforeAll(async () => {
    if (kind === 'redis') return;
    broker = await testBroker(kind, label);
    app = await makeBeatApp(`${label}_${kind}`, { brokerUrl: broker.brokerUrl });
  }, 60_000);
  afterAll(async () => {
    if (app) await cleanup(app);
    await broker?.dispose();
  }, 60_000);
  return () => app ?? redisApp();
}

/** A message as beat left it in the broker. */
export interface Queued {
  id: string;
  task: string;
  periodicTaskName: string | undefined;
  scheduledAt: string | undefined;
  queue: string;
  expires: string | null;
  args: unknown[];
  kwargs: Record<string, unknown>;
  headers: Record<string, unknown>;
}

/**
 * Every message waiting in the app's queues (all priority buckets on Redis), oldest first; without
 * the daily celery.backend_cleanup a started beat installs (a test straddling 04:00 UTC would see
 * it). On RabbitMQ they are read without being taken: the channel closes with them unacked.
 */
export async function queued(app: Celeriac, queues = ['celery', 'reports']): Promise<Queued[]> {
  const raws = (await app.broker()).kind === 'amqp' ? await peekAmqp(app, queues) : await readRedis(app, queues);
  const out: Queued[] = [];
  for (const { raw, queue } of raws) {
    const m = decodeTask(raw);
    if (m.task === 'celery.backend_cleanup') continue;
    out.push({
      id: m.id,
      task: m.task,
      periodicTaskName: m.headers.periodic_task_name as string | undefined,
      scheduledAt: m.headers.scheduled_at as string | undefined,
      queue,
      expires: m.expires ? m.expires.toISOString() : null,
      args: m.args,
      kwargs: m.kwargs,
      headers: m.headers,
    });
  }
  return out;
}

async function readRedis(app: Celeriac, queues: string[]): Promise<{ raw: string; queue: string }[]> {
  const broker = (await app.broker()) as RedisBroker;
  const redis = new Redis(REDIS_URL);
  try {
    const out: { raw: string; queue: string }[] = [];
    for (const queue of queues)
      for (const bucket of [0, 3, 6, 9])
        for (const raw of (await redis.lrange(broker.keys.queue(queue, bucket), 0, -1)).reverse())
          out.push({ raw, queue });
    return out;
  } finally {
    redis.disconnect();
  }
}

/** Each queue on a channel of its own: one that was never declared fails its check and closes only that channel. */
async function eachAmqpQueue(app: Celeriac, queues: string[], fn: (ch: amqp.Channel, queue: string) => Promise<void>) {
  const conn = await amqp.connect(app.config.brokerUrl);
  try {
    for (const queue of queues) {
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      try {
        await ch.checkQueue(queue);
      } catch {
        continue; // not declared yet: nothing in it
      }
      await fn(ch, queue);
      await ch.close();
    }
  } finally {
    await conn.close();
  }
}

async function peekAmqp(app: Celeriac, queues: string[]): Promise<{ raw: string; queue: string }[]> {
  const out: { raw: string; queue: string }[] = [];
  await eachAmqpQueue(app, queues, async (ch, queue) => {
    for (let msg; (msg = await ch.get(queue, { noAck: false }));)
      out.push({ raw: fromAmqp(msg, `0.${msg.fields.deliveryTag}`), queue });
  });
  return out;
}

/** Runs a SQL statement in the app's schema (tables are schema-qualified by the caller via $S). */
export async function sql<T = any>(app: Celeriac, text: string, values: unknown[] = []): Promise<T[]> {
  const ds = await app.dataSource();
  return ds.query(text.replaceAll('$S', `"${app.config.schema}"`), values);
}

/** Every beat table and every queue these tests use, emptied: each test starts from nothing. */
export async function resetBeatState(app: Celeriac): Promise<void> {
  await sql(
    app,
    `TRUNCATE $S.celeriac_periodic_task, $S.celeriac_interval_schedule, $S.celeriac_crontab_schedule,
              $S.celeriac_solar_schedule, $S.celeriac_clocked_schedule, $S.celeriac_beat_outbox CASCADE`,
  );
  const broker = (await app.broker()) as RedisBroker;
  if ((broker.kind as string) === 'amqp')
    return eachAmqpQueue(app, ['celery', 'reports', 'remote'], async (ch, queue) => void (await ch.purgeQueue(queue)));
  const redis = new Redis(REDIS_URL);
  try {
    const keys = ['celery', 'reports', 'remote'].flatMap((q) => [0, 3, 6, 9].map((b) => broker.keys.queue(q, b)));
    await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

/** Beats a test started; afterEach fails the test if one is still running. */
export const liveBeats = new Set<Beat>();

export function tracked<B extends Beat>(beat: B): B {
  liveBeats.add(beat);
  beat.on('stopped', () => liveBeats.delete(beat));
  return beat;
}

export async function assertNoBeatLeftRunning(): Promise<void> {
  const running = [...liveBeats].filter((b) => b.running);
  liveBeats.clear();
  for (const b of running) await b.stop();
  if (running.length) throw new Error(`${running.length} beat(s) were left running: stop() every beat a test starts`);
}

/** Inserts an interval periodic task by plain SQL, as a person at psql would. */
export async function insertIntervalTask(
  app: Celeriac,
  name: string,
  every: number,
  period: string,
  columns: Record<string, unknown> = {},
): Promise<number> {
  const [{ id: scheduleId }] = await sql(
    app,
    `INSERT INTO $S.celeriac_interval_schedule (every, period) VALUES ($1, $2) RETURNING id`,
    [every, period],
  );
  return insertTask(app, name, { interval_id: scheduleId, ...columns });
}

export async function insertCrontabTask(
  app: Celeriac,
  name: string,
  cron: {
    minute?: string;
    hour?: string;
    day_of_week?: string;
    day_of_month?: string;
    month_of_year?: string;
    timezone?: string;
  },
  columns: Record<string, unknown> = {},
): Promise<number> {
  const c = {
    minute: '*',
    hour: '*',
    day_of_week: '*',
    day_of_month: '*',
    month_of_year: '*',
    timezone: 'UTC',
    ...cron,
  };
  const [{ id: scheduleId }] = await sql(
    app,
    `INSERT INTO $S.celeriac_crontab_schedule (minute, hour, day_of_week, day_of_month, month_of_year, timezone) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [c.minute, c.hour, c.day_of_week, c.day_of_month, c.month_of_year, c.timezone],
  );
  return insertTask(app, name, { crontab_id: scheduleId, ...columns });
}

export async function insertTask(app: Celeriac, name: string, columns: Record<string, unknown>): Promise<number> {
  const cols = { name, task: 'beat.ping', ...columns };
  const keys = Object.keys(cols);
  const [{ id }] = await sql(
    app,
    `INSERT INTO $S.celeriac_periodic_task (${keys.join(', ')}) VALUES (${keys.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`,
    Object.values(cols).map((v: unknown) =>
      v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : v,
    ),
  );
  return id;
}

export async function taskRow(app: Celeriac, name: string): Promise<any> {
  const [row] = await sql(app, `SELECT * FROM $S.celeriac_periodic_task WHERE name = $1`, [name]);
  return row;
}

const root = join(__dirname, '../..');

export interface BeatChild extends ChildProcess {
  events: Record<string, unknown>[];
  waitFor(event: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** A beat in a child process (fixtures/beat-child.ts) on the test app's schema and prefix. */
export function spawnBeat(app: Celeriac, env: Record<string, string> = {}): BeatChild {
  const child = spawn(
    process.execPath,
    ['-e', "require('./bin/register-ts').register(); require('./test/beat/fixtures/beat-child.ts')"],
    {
      cwd: root,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        DATABASE_URL,
        CELERIAC_BROKER_URL: app.config.brokerUrl,
        ...fixtureEnv(app),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  ) as BeatChild;
  child.events = [];
  let buffer = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    buffer += d;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        child.events.push(JSON.parse(line));
      } catch {
        /* not ours */
      }
    }
  });
  child.stderr!.on('data', (d) => (stderr += d));
  child.waitFor = (event, timeoutMs = 20_000) =>
    new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const check = () => {
        const found = child.events.find((e) => e.event === event);
        if (found) return resolve(found);
        if (child.exitCode !== null)
          return reject(new Error(`beat child exited (${child.exitCode}) before '${event}': ${stderr}`));
        if (Date.now() > deadline)
          return reject(
            new Error(
              `beat child: no '${event}' within ${timeoutMs} ms; events ${JSON.stringify(child.events)} ${stderr}`,
            ),
          );
        setTimeout(check, 20);
      };
      check();
    });
  return child;
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
