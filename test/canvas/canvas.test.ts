import { join } from 'node:path';
import { chain, chord, chunks, group, map, starmap, signature, TaskFailedError } from '../../src';
import type { Celeriac } from '../../src';
import { cleanup, eventually, makeApp } from '../helpers';
import { testBroker, TEST_BROKERS, type TestBroker } from '../brokers';
import { add, calls, fail, mul, record, total } from '../fixtures/canvas/tasks';

// The same canvas behaviour on every transport: on RabbitMQ chord joins and the fire-once flag
// live in Postgres instead of Redis.
describe.each(TEST_BROKERS)('on %s', (kind) => {
  let app: Celeriac;
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await testBroker(kind, 'canvas');
    app = await makeApp('canvas', { apps: [join(__dirname, '../fixtures/canvas')], brokerUrl: broker.brokerUrl });
    await app.worker({ name: 'canvas@test', concurrency: 20 }).start();
  }, 60_000);
  afterAll(async () => {
    await cleanup(app);
    await broker.dispose();
  }, 60_000);

  test('chain passes each result as the first argument of the next', async () => {
    const r = await chain(add.s(1, 2), add.s(3), mul.s(10)).applyAsync();
    expect(await r.get({ timeout: 20 })).toBe(60);
    const last = (await r.info())!;
    const middle = (await app.asyncResult(last.parentId!).info())!;
    expect(middle).toMatchObject({ taskName: 'canvas.add', args: [3, 3], result: 6 });
    expect(last.rootId).toBe(middle.rootId);
  });

  test('immutable signatures ignore the previous result; partial args come after it', async () => {
    const r = await chain(add.s(1, 1), add.si(5, 5), record.s('x')).applyAsync();
    expect(await r.get({ timeout: 20 })).toEqual([10, 'x']);
  });

  test('a failing link stops the chain and the chain result says so', async () => {
    const r = await chain(add.s(1, 1), fail.s(), add.s(1), mul.s(2)).applyAsync();
    const err = (await r.get({ timeout: 20 }).catch((e) => e)) as TaskFailedError;
    expect(err).toBeInstanceOf(TaskFailedError);
    expect(err.excType).toBe('ChainBroken');
    expect(err.excMessage).toMatch(/canvas\.fail\[.*\] failed, so the chain stopped here/);
  });

  test('a chain of 100 links', async () => {
    const r = await chain(add.s(0, 1), ...Array.from({ length: 99 }, () => add.s(1))).applyAsync();
    expect(await r.get({ timeout: 60 })).toBe(100);
  });

  test('link and linkError callbacks', async () => {
    const ok = await add.s(2, 2).link(record.s('after')).applyAsync();
    await ok.get({ timeout: 10 });
    const child = await eventually(async () => {
      const rows = await (
        await app.dataSource()
      ).query(`SELECT task_id FROM "${app.config.schema}".celeriac_task_result WHERE parent_id = $1`, [ok.id]);
      expect(rows).toHaveLength(1);
      return rows[0].task_id as string;
    });
    expect(await app.asyncResult(child).get({ timeout: 10 })).toEqual([4, 'after']);

    const bad = await fail.s().linkError(record.s('errback')).applyAsync();
    await expect(bad.get({ timeout: 10 })).rejects.toThrow(TaskFailedError);
    const errback = await eventually(async () => {
      const rows = await (
        await app.dataSource()
      ).query(`SELECT task_id FROM "${app.config.schema}".celeriac_task_result WHERE parent_id = $1`, [bad.id]);
      expect(rows).toHaveLength(1);
      return rows[0].task_id as string;
    });
    expect(await app.asyncResult(errback).get({ timeout: 10 })).toEqual([bad.id, 'errback']);
  });

  test('group: results in order, counts, restore by id', async () => {
    const g = await group(Array.from({ length: 50 }, (_, i) => add.s(i, i))).applyAsync();
    expect(await g.get({ timeout: 30 })).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i));
    expect(await g.ready()).toBe(true);
    expect(await g.completedCount()).toBe(50);
    const restored = (await app.groupResult<number>(g.id))!;
    expect(restored.ids).toEqual(g.ids);
    const rows = await (await app.results()).getMany(g.ids);
    expect(new Set(rows.map((r) => r.groupId))).toEqual(new Set([g.id]));
  });

  test('group of 1,000 members', async () => {
    const g = await group(Array.from({ length: 1000 }, (_, i) => add.s(i, 1))).applyAsync();
    const out = await g.get({ timeout: 60 });
    expect(out).toHaveLength(1000);
    expect(out[999]).toBe(1000);
  });

  test('chord: the callback runs once with every result in order', async () => {
    const r = await chord(
      Array.from({ length: 30 }, (_, i) => add.s(i, 0)),
      total.s(),
    ).applyAsync();
    expect(await r.get({ timeout: 30 })).toBe(435);
    expect(calls[`total:${r.id}`]).toBe(1);
  });

  test('chord with a failing member: the callback does not run and records ChordError', async () => {
    const r = await chord([add.s(1, 1), fail.s(), add.s(2, 2)], total.s()).applyAsync();
    const err = (await r.get({ timeout: 20 }).catch((e) => e)) as TaskFailedError;
    expect(err.excType).toBe('ChordError');
    expect(err.excMessage).toMatch(/canvas\.fail\[.*\] ended FAILURE \(TypeError\)/);
    expect(calls[`total:${r.id}`]).toBeUndefined();
  });

  test('an empty chord calls back at once with []', async () => {
    const r = await chord([], total.s()).applyAsync();
    expect(await r.get({ timeout: 10 })).toBe(0);
  });

  test('chunks, map and starmap', async () => {
    const pairs = Array.from({ length: 25 }, (_, i) => [i, 100] as [number, number]);
    const g = await chunks(add, pairs, 10).applyAsync();
    const parts = await g.get({ timeout: 20 });
    expect(parts.map((p) => p.length)).toEqual([10, 10, 5]);
    expect(parts.flat()).toEqual(pairs.map(([a, b]) => a + b));
    expect(
      await (
        await starmap(add, [
          [1, 2],
          [3, 4],
        ]).applyAsync()
      ).get({ timeout: 10 }),
    ).toEqual([3, 7]);
    expect(await (await map(record, ['a', 'b']).applyAsync()).get({ timeout: 10 })).toEqual([['a'], ['b']]);
  });

  test('signatures travel in Celery wire form', () => {
    const s = signature('billing.charge', [1], { c: 'EUR' }, { queue: 'billing', countdown: 5 }).link(add.s(1));
    expect(s.toJSON()).toEqual({
      task: 'billing.charge',
      args: [1],
      kwargs: { c: 'EUR' },
      options: {
        queue: 'billing',
        countdown: 5,
        link: [{ task: 'canvas.add', args: [1], kwargs: {}, options: {}, subtask_type: null, immutable: false }],
      },
      subtask_type: null,
      immutable: false,
    });
  });
});
