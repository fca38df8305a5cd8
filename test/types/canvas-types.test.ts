import { chain, chord, group, task, Celeriac } from '../../src';
import type { AsyncResult, GroupResult, Signature } from '../../src';

/**
 * Type tests: `npm run typecheck` compiles this file, so each `@ts-expect-error` must meet an
 * error (or the check fails: the directive is unused), and the lines without one must compile.
 * Jest runs the few runtime checks below so the file is also a test.
 */
new Celeriac({ brokerUrl: 'memory://', logger: { log() {} } });
const add = task('types.add', (_ctx, a: number, b: number) => a + b);
const greet = task('types.greet', (_ctx, name: string, punctuation?: string) => `hi ${name}${punctuation ?? ''}`);
const many = task('types.many', (_ctx, first: number, ...rest: string[]) => rest.length + first);
const total = task('types.total', (_ctx, values: number[]) => values.reduce((a, b) => a + b, 0));

test('.s() takes the last parameters of the task, .si() all of them', () => {
  const full: Signature<number, []> = add.s(1, 2);
  const partial: Signature<number, [a: number]> = add.s(2);
  const none: Signature<number, [a: number, b: number]> = add.s();
  // @ts-expect-error a string where the task takes a number
  add.s('2');
  // @ts-expect-error more arguments than the task has
  add.s(1, 2, 3);
  // @ts-expect-error .si() ignores the previous result, so it needs every argument
  add.si(1);
  add.si(1, 2);
  greet.s('ada');
  greet.s('ada', '!');
  // @ts-expect-error the optional parameter is a string
  greet.s('ada', 1);
  many.s(1, 'a', 'b');
  many.s('a', 'b');
  // @ts-expect-error rest parameters are strings
  many.s(1, 2);
  expect([full.args, partial.args, none.args]).toEqual([[1, 2], [2], []]);
});

test("a signature's delay() takes what is still missing", () => {
  const partial = add.s(2);
  type DelayArgs = Parameters<typeof partial.delay>;
  const ok: DelayArgs = [1];
  // @ts-expect-error the missing parameter is a number
  const bad: DelayArgs = ['1'];
  expect([ok, bad]).toHaveLength(2);
  expect(partial.args).toEqual([2]);
});

test('work-flow handles are typed from their steps', () => {
  type ChainHandle = Awaited<
    ReturnType<ReturnType<typeof chain<[Signature<number, []>, Signature<string, [string]>]>>['applyAsync']>
  >;
  const c: AsyncResult<string> = null as unknown as ChainHandle;
  const g = group(add.s(1, 1), add.s(2, 2));
  type GroupHandle = Awaited<ReturnType<typeof g.applyAsync>>;
  const gh: GroupResult<number> = null as unknown as GroupHandle;
  const d = chord([add.s(1, 1)], total.s());
  type ChordHandle = Awaited<ReturnType<typeof d.applyAsync>>;
  const dh: AsyncResult<number> = null as unknown as ChordHandle;
  // @ts-expect-error a chord's handle is its body's: number, not string
  const wrong: AsyncResult<string> = null as unknown as ChordHandle;
  expect([c, gh, dh, wrong]).toEqual([null, null, null, null]);
  expect([typeof g.applyAsync, typeof d.applyAsync]).toEqual(['function', 'function']);
});
