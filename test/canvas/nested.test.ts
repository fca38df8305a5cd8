import { join } from 'node:path';
import { chain, chord, group, GroupResult, TaskFailedError } from '../../src';
import type { AsyncResult, Celeriac } from '../../src';
import { cleanup, eventually, makeApp } from '../helpers';
import { add, fail, mark, runs, sum } from '../fixtures/flow/tasks';

let app: Celeriac;
beforeAll(async () => {
  app = await makeApp('nested', { apps: [join(__dirname, '../fixtures/flow')] });
  await app.worker({ name: 'nested@test', concurrency: 10 }).start();
});
afterAll(() => cleanup(app));

const marks = (label: string) => runs.filter((r) => r.kind === 'mark' && r.label === label);

async function failureOf(r: AsyncResult | GroupResult): Promise<TaskFailedError> {
  const err = await r.get({ timeout: 20 }).then(
    () => null,
    (e) => e,
  );
  expect(err).toBeInstanceOf(TaskFailedError);
  return err as TaskFailedError;
}

test('a chain ending in a group gives the group result, each member getting the previous result', async () => {
  const r = await chain(add.s(1, 2), group(add.s(10), add.s(20))).applyAsync();
  expect(r).toBeInstanceOf(GroupResult);
  expect(await r.get({ timeout: 20 })).toEqual([13, 23]);
  expect(r.parent).not.toBeNull();
  expect(await (r.parent as AsyncResult).get({ timeout: 5 })).toBe(3);
  const rows = await (await app.results()).getMany(r.ids);
  expect(rows.map((x) => x.groupId)).toEqual([r.id, r.id]);
  expect((await app.groupResult(r.id))!.ids).toEqual(r.ids);
});

test('a group of chains: each chain runs in order, the group gets their last results', async () => {
  const r = await group([chain(add.s(1, 1), add.s(1)), chain(add.s(2, 2), add.s(2), add.s(2))]).applyAsync();
  expect(await r.get({ timeout: 20 })).toEqual([3, 8]);
});

test('a group followed by a step is a chord; a chord inside a chain passes its result on', async () => {
  const upgraded = await chain(group(add.s(1, 1), add.s(2, 2)), sum.s()).applyAsync();
  expect(await upgraded.get({ timeout: 20 })).toBe(6);
  const inChain = await chain(add.s(1, 1), chord([add.s(1), add.s(2)], sum.s()), add.s(100)).applyAsync();
  expect(await inChain.get({ timeout: 20 })).toBe(107);
  const twoGroups = await chain(add.s(1, 1), group(add.s(1), add.s(2)), group(sum.s(), sum.s())).applyAsync();
  expect(await twoGroups.get({ timeout: 20 })).toEqual([7, 7]);
});

test('a chord whose header holds a chain, a group and a chord', async () => {
  const r = await chord(
    [
      chain(add.s(1, 1), add.s(1)),
      group(add.s(1, 0), add.s(2, 0)),
      chord([add.s(5, 5), add.s(6, 6)], sum.s()),
      chain(add.s(0, 0), group(add.s(7), add.s(8))),
    ],
    sum.s(),
  ).applyAsync();
  // 3, 1, 2, 22, 7, 8: a group anywhere in the header counts member by member, as in Celery
  expect(await r.get({ timeout: 30 })).toBe(43);
  expect(r.parent).toBeInstanceOf(GroupResult);
  expect(await (r.parent as GroupResult).get({ timeout: 5 })).toEqual([3, 1, 2, 22, 7, 8]);
});

test('chords nested three deep, with a chain for a body', async () => {
  const inner = chord([add.s(1, 1), add.s(2, 2)], sum.s());
  const middle = chord([inner, add.s(10, 0)], chain(sum.s(), add.s(1)));
  const r = await chord([middle, middle, add.s(0, 1)], sum.s()).applyAsync();
  expect(await r.get({ timeout: 30 })).toBe(2 * (6 + 10 + 1) + 1);
});

test('a chain errback fires once, from the step that failed, with its id', async () => {
  const r = await chain(add.s(1, 1), fail.s(), add.s(1), add.s(2)).linkError(mark.s('chain-eb')).applyAsync();
  const err = await failureOf(r);
  expect(err.excType).toBe('ChainBroken');
  await eventually(() => expect(marks('chain-eb')).toHaveLength(1));
  const failedId = marks('chain-eb')[0].args[0] as string;
  expect(await app.asyncResult(failedId).status()).toBe('FAILURE');
  expect((await app.asyncResult(failedId).info())!.taskName).toBe('flow.fail');
});

test('a chord errback fires once when members fail, and the body records ChordError', async () => {
  const r = await chord([add.s(1, 1), fail.s(), fail.s()], sum.s())
    .linkError(mark.s('chord-eb'))
    .applyAsync();
  const err = await failureOf(r);
  expect(err.excType).toBe('ChordError');
  expect(err.excMessage).toMatch(/flow\.fail\[.*\] ended FAILURE \(TypeError\); the chord callback did not run/);
  await eventually(() => expect(marks('chord-eb')).toHaveLength(1));
  expect(marks('chord-eb')[0].args).toEqual([r.id]);
});

test('a group errback fires for each member that fails', async () => {
  const r = await group(fail.s(), add.s(1, 1), fail.s()).linkError(mark.s('group-eb')).applyAsync();
  expect(await r.join({ timeout: 20, propagate: false })).toEqual([
    expect.any(TaskFailedError),
    2,
    expect.any(TaskFailedError),
  ]);
  await eventually(() => expect(marks('group-eb')).toHaveLength(2));
  expect(new Set(marks('group-eb').map((m) => m.args[0]))).toEqual(new Set([r.ids[0], r.ids[2]]));
});

test('a failure deep inside ends every enclosing chord, each errback once', async () => {
  const inner = chord([chain(fail.s(), add.s(1)), add.s(1, 1)], sum.s()).linkError(mark.s('inner-eb'));
  const r = await chain(add.s(0, 0), chord([inner, add.s(2, 2)], sum.s()).linkError(mark.s('outer-eb')), add.s(5))
    .linkError(mark.s('flow-eb'))
    .applyAsync();
  expect((await failureOf(r)).excType).toBe('ChainBroken');
  await eventually(() => {
    expect(marks('inner-eb')).toHaveLength(1);
    expect(marks('outer-eb')).toHaveLength(1);
    // the chain's errback reaches the chord step (its body): it fires with the outer chord's
    expect(marks('flow-eb')).toHaveLength(1);
  });
  const rows = await (
    await app.dataSource()
  ).query(
    `SELECT task_name, status, result->>'exc_type' AS exc FROM "${app.config.schema}".celeriac_task_result WHERE root_id = $1`,
    [(await r.info())!.rootId],
  );
  expect(rows.filter((x: { status: string }) => x.status !== 'SUCCESS' && x.status !== 'FAILURE')).toEqual([]);
  expect(rows.map((x: { exc: string | null }) => x.exc).sort()).toEqual(
    expect.arrayContaining(['ChainBroken', 'ChordError', 'TypeError']),
  );
});

test('link on a chain and a chord calls back with their final result', async () => {
  const c = await chain(add.s(1, 1), add.s(1)).link(mark.s('chain-cb')).applyAsync();
  expect(await c.get({ timeout: 20 })).toBe(3);
  const d = await chord([add.s(1, 1), add.s(2, 2)], sum.s())
    .link(mark.s('chord-cb'))
    .applyAsync();
  expect(await d.get({ timeout: 20 })).toBe(6);
  await eventually(() => {
    expect(marks('chain-cb').map((m) => m.args)).toEqual([[3]]);
    expect(marks('chord-cb').map((m) => m.args)).toEqual([[6]]);
  });
});

test('a group cannot be linked: the error says to use a chord', () => {
  expect(() => group(add.s(1, 1), add.s(2, 2)).link(mark.s('x'))).toThrow(/use chord\(group, callback\)/);
  expect(() =>
    chain(add.s(1, 1), group(add.s(1), add.s(2)))
      .link(mark.s('x'))
      .toJSON(),
  ).not.toThrow();
});

test("nested canvas travels in Celery's wire form", () => {
  const wire = chain(add.s(1, 2), group(add.s(10), add.s(20))).toJSON();
  expect(wire).toMatchObject({
    task: 'celery.chain',
    subtask_type: 'chain',
    args: [],
    kwargs: {
      tasks: [
        { task: 'flow.add', args: [1, 2], subtask_type: null },
        {
          task: 'celery.group',
          subtask_type: 'group',
          kwargs: {
            tasks: [
              { task: 'flow.add', args: [10] },
              { task: 'flow.add', args: [20] },
            ],
          },
        },
      ],
    },
  });
  const c = chord([add.s(1, 1)], sum.s()).toJSON();
  expect(c).toMatchObject({
    task: 'celery.chord',
    subtask_type: 'chord',
    kwargs: { header: { subtask_type: 'group' }, body: { task: 'flow.sum' }, kwargs: {} },
  });
});
