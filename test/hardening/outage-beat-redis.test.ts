/**
 * A running beat whose Redis goes away (a private persistent Redis on a port of its own, never the
 * shared one): the outage is logged once when a send first fails and once when one next succeeds,
 * with its length, instead of one error per failed send; the runs claimed meanwhile wait in the
 * outbox and go out when Redis is back.
 */
import { join } from 'node:path';
import { Celeriac, PeriodicTaskService, type Beat, type SentRun } from '../../src';
import type { Logger } from '../../src/log';
import { cleanup, DATABASE_URL, eventually, isolation } from '../helpers';
import { PrivateRedis } from '../private-servers';

const redis = new PrivateRedis(7812);
const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
const logger: Logger = { log: (level, message, fields) => void lines.push({ level, message, fields }) };
let app: Celeriac;
let beat: Beat | undefined;

beforeAll(async () => {
  await redis.start();
  app = new Celeriac({
    apps: [join(__dirname, '../fixtures/outage')],
    databaseUrl: DATABASE_URL,
    brokerUrl: redis.url,
    logger,
    ...isolation('outage_beat_redis'),
  });
  await app.migrate();
});
afterAll(async () => {
  await beat?.stop();
  await cleanup(app).catch(() => {});
  await redis.remove();
});

test('Redis stopped under a running beat: one line when it starts, one when it ends, and the runs go on', async () => {
  await new PeriodicTaskService(app).create({
    name: 'every second',
    task: 'outage.work',
    args: [1],
    schedule: { kind: 'interval', every: 1, period: 'seconds' },
  });
  beat = app.beat({ name: 'redisdown-beat' });
  const sent: SentRun[] = [];
  beat.on('sent', (runs) => sent.push(...runs));
  beat.on('error', () => {});
  const mine = () => lines.filter((l) => l.fields?.beat === 'redisdown-beat');
  await beat.start();
  await eventually(() => expect(sent.length).toBeGreaterThanOrEqual(2), 20_000);

  await redis.stop();
  await eventually(
    () => expect(mine().some((l) => /^Redis \(beat\) unavailable: /.test(l.message))).toBe(true),
    20_000,
  );
  const sentBefore = sent.length;
  await redis.start();
  await eventually(() => expect(sent.length).toBeGreaterThan(sentBefore + 1), 30_000);

  expect(mine().filter((l) => /^Redis \(beat\) unavailable: /.test(l.message))).toHaveLength(1);
  expect(mine().filter((l) => /^Redis \(beat\) available again after \d+\.\d s$/.test(l.message))).toHaveLength(1);
  expect(mine().filter((l) => l.level === 'error')).toEqual([]);
  await beat.stop();
}, 90_000);
