import { join } from 'node:path';
import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import { isoDate, MAX_TIME_LIMIT_S } from '../../src/broker/headers';
import { decodeTask, type TaskMessage } from '../../src/broker/message';
import { MessageDecodeError } from '../../src/errors';
import { storableDate, textProblem } from '../../src/storable';
import type { Worker } from '../../src/worker/worker';
import { cleanup, eventually, makeApp, REDIS_URL, heldCount } from '../helpers';
import { fc, propertyOptions } from '../property';
import { baseEnvelope, generatedMessage, type GeneratedMessage } from './message-gen';

/**
 * Issue 15: every header a worker acts on is checked at intake. A value taken on trust used to
 * fail far from its message (retries "x" made every later result batch fail on a null seq); now a
 * bad one is refused there, naming the header and what would be right, and the message is
 * dead-lettered while the ones behind it run.
 */

const storableId = (s: unknown, max = 255) => typeof s === 'string' && s.length <= max && textProblem(s) === null;

/** What a decoded message promises the worker: every field typed, in range, and storable. */
function assertTrustworthy(m: TaskMessage): void {
  expect(storableId(m.id) && m.id !== '').toBe(true);
  expect(storableId(m.task) && m.task !== '').toBe(true);
  for (const id of [m.rootId, m.parentId, m.groupId]) expect(id === null || storableId(id)).toBe(true);
  expect(Number.isInteger(m.retries) && m.retries >= 0 && m.retries < 2 ** 31).toBe(true);
  expect(Number.isInteger(m.priority) && m.priority >= 0 && m.priority <= 255).toBe(true);
  expect(m.groupIndex === null || (Number.isInteger(m.groupIndex) && m.groupIndex >= 0)).toBe(true);
  for (const d of [m.eta, m.expires]) expect(d === null || (d instanceof Date && storableDate(d))).toBe(true);
  for (const t of [m.timeLimit, m.softTimeLimit])
    expect(t === null || (typeof t === 'number' && t > 0 && t <= MAX_TIME_LIMIT_S)).toBe(true);
  expect(Array.isArray(m.args)).toBe(true);
  expect(typeof m.kwargs === 'object' && m.kwargs !== null && !Array.isArray(m.kwargs)).toBe(true);
  for (const k of ['callbacks', 'errbacks', 'chain'] as const) {
    const list = m.embed[k];
    expect(list === null || (Array.isArray(list) && list.every((s) => typeof s?.task === 'string'))).toBe(true);
  }
}

test('decoding a generated message: a trustworthy message, or MessageDecodeError naming the field in storable text', () => {
  let refused = 0;
  fc.assert(
    fc.property(generatedMessage, ({ raw, field, valid }: GeneratedMessage) => {
      let msg: TaskMessage;
      try {
        msg = decodeTask(raw);
      } catch (err) {
        expect(err).toBeInstanceOf(MessageDecodeError);
        // Values Celery reads as intended are never refused.
        expect({ field, valid, message: (err as Error).message }).toMatchObject({ valid: false });
        const message = (err as Error).message;
        expect(textProblem(message)).toBeNull();
        const named = field === 'properties.priority' ? 'priority' : field === 'body' ? 'body' : field;
        expect(message).toContain(named);
        refused++;
        return;
      }
      assertTrustworthy(msg);
    }),
    propertyOptions(2000),
  );
  // The generator reaches refusals (it cannot pass by accepting everything).
  expect(refused).toBeGreaterThan(400);
});

test('each bad header is refused with what would be right', () => {
  const refusal = (field: string, value: unknown): string => {
    const e = baseEnvelope();
    if (field === 'priority') e.properties.priority = value;
    else e.headers[field] = value;
    try {
      decodeTask(JSON.stringify(e));
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  expect(refusal('retries', 'x')).toMatch(
    /bad 'retries' header "x": expected an integer from 0 to 2147483647, or null/,
  );
  expect(refusal('retries', -1)).toMatch(/bad 'retries' header -1/);
  expect(refusal('eta', 'tomorrow')).toMatch(/bad 'eta' header "tomorrow": expected an ISO-8601 date-time/);
  expect(refusal('eta', 1765000000)).toMatch(/bad 'eta' header 1765000000: expected an ISO-8601/);
  expect(refusal('expires', '+275760-09-13T00:00:00.000Z')).toMatch(/between the years 0001 and 9999/);
  // A day no calendar has: Date reads 30 February as 2 March, a different instant than the one sent
  // (Python's fromisoformat refuses it, so a Celery worker does too).
  expect(refusal('eta', '2026-02-30T10:00:00Z')).toMatch(
    /bad 'eta' header "2026-02-30T10:00:00Z": expected an ISO-8601/,
  );
  expect(refusal('expires', '2026-04-31T00:00:00+00:00')).toMatch(/bad 'expires' header/);
  expect(refusal('eta', '2025-02-29T10:00:00')).toMatch(/bad 'eta' header/);
  expect(refusal('eta', '2024-02-29T10:00:00')).toBe('accepted');
  expect(refusal('timelimit', [30 * 86400, null])).toMatch(/bad 'timelimit' header \[2592000,null\].*about 24 days/);
  expect(refusal('timelimit', 'x')).toMatch(/bad 'timelimit'/);
  expect(refusal('parent_id', 'p'.repeat(256))).toMatch(/bad 'parent_id' header "p{40}.*256 characters long/);
  expect(refusal('root_id', 'r\u0000')).toMatch(/bad 'root_id' header "r\\u0000".*U\+0000/);
  expect(refusal('group', { id: 1 })).toMatch(/bad 'group' header \{"id":1\}: expected a string or null/);
  expect(refusal('group_index', 1.5)).toMatch(/bad 'group_index'/);
  expect(refusal('priority', 'high')).toMatch(
    /bad 'priority \(property\)' header "high": expected an integer from 0 to 255/,
  );
  expect(refusal('id', 'i'.repeat(256))).toMatch(/'id' header "i+… is 256 characters long.*at most 255/);
  expect(refusal('task', 7)).toMatch(/'task' header is 7: .*non-empty string/);
  // What Celery itself sends is read as before.
  expect(refusal('eta', '2026-12-07T05:00:00.123456+00:00')).toBe('accepted');
  expect(refusal('eta', '2026-12-07T05:00:00.123456')).toBe('accepted');
  expect(refusal('timelimit', [60.5, 30])).toBe('accepted');
  expect(refusal('retries', null)).toBe('accepted');
});

describe('on a worker', () => {
  let app: Celeriac;
  let worker: Worker;
  let redis: Redis;
  beforeAll(async () => {
    app = await makeApp('hardening_headers', { apps: [join(__dirname, '../fixtures/values')] });
    worker = app.worker({ name: 'headers@test', concurrency: 4 });
    await worker.start();
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await redis.quit();
    await cleanup(app);
  });

  const seed = propertyOptions(1).seed;
  test(`generated bad messages are dead-lettered with their reason, their rows say why, and good ones behind them run [seed ${seed}]`, async () => {
    const generated = fc.sample(generatedMessage, { numRuns: 300, seed });
    const bad: { raw: string; reason: string; id: string | null }[] = [];
    for (const g of generated) {
      try {
        decodeTask(g.raw);
      } catch (err) {
        const id = (err as { taskId?: string }).taskId ?? null;
        bad.push({ raw: g.raw, reason: (err as Error).message, id });
      }
    }
    expect(bad.length).toBeGreaterThan(100);
    const good = Array.from({ length: 30 }, (_, i) => {
      const e = baseEnvelope(i);
      return { raw: JSON.stringify(e), id: e.headers.id as string };
    });
    // Bad and good interleaved, the bad first: none may hold back what follows it.
    const queue = bad.flatMap((b, i) => (i % 10 === 0 && good[i / 10] ? [b.raw, good[i / 10].raw] : [b.raw]));
    for (const g of good.slice(Math.ceil(bad.length / 10))) queue.push(g.raw);
    await redis.rpush(app.config.keyPrefix + 'celery', ...queue.reverse());
    for (const g of good) {
      await eventually(async () => expect(await app.asyncResult(g.id).status()).toBe('SUCCESS'), 30_000);
    }
    const broker = await app.broker();
    await eventually(async () => expect((await broker.listDeadLetters(1000)).length).toBe(bad.length), 30_000);
    const dead = new Map((await broker.listDeadLetters(1000)).map((d) => [d.raw, d.reason]));
    for (const b of bad) expect(dead.get(b.raw)).toBe(b.reason);
    // A refused message with a readable id has its row say why (unless the id was reused by another refused one).
    const withId = bad.filter((b) => b.id && bad.filter((o) => o.id === b.id).length === 1);
    expect(withId.length).toBeGreaterThan(20);
    for (const b of withId) {
      const row = await eventually(async () => {
        const r = await app.asyncResult(b.id!).info();
        expect(r?.status).toBe('REJECTED');
        return r!;
      });
      expect(row.result).toMatchObject({ exc_type: 'MessageDecodeError', exc_message: [b.reason] });
    }
    // The worker acked everything it took and its store is not stuck.
    await eventually(async () => expect(await heldCount(app, worker.consumer)).toBe(0));
    await eventually(() => expect(worker.info().store).toMatchObject({ backlog: 0 }));
  }, 90_000);
});

test("a work-flow step's date on no calendar is an Invalid Date, not the day Date rolls it to", () => {
  for (const bad of ['2026-02-30T10:00:00Z', '2026-02-30T10:00:00', '2026-04-31T00:00:00+02:00', '2025-02-29'])
    expect(isoDate(bad).getTime()).toBeNaN();
  expect(isoDate('2024-02-29T10:00:00Z').toISOString()).toBe('2024-02-29T10:00:00.000Z');
  expect(isoDate('2026-12-08T01:02:03.456Z').toISOString()).toBe('2026-12-08T01:02:03.456Z');
  expect(isoDate('2026-12-08T01:02:03').toISOString()).toBe('2026-12-08T01:02:03.000Z');
});
