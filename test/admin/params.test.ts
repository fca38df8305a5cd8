import { parameterNames } from '../../src/admin/params';

/** The start-a-task form's parameter hint, read from the task function's source. */
test('parameter names without the context: defaults, rest, destructuring, methods', () => {
  expect(parameterNames((_ctx: unknown, a: number, b = 2, ...rest: unknown[]) => [a, b, rest])).toEqual([
    'a',
    'b?',
    '...rest',
  ]);
  expect(
    parameterNames(async function (_ctx: unknown, { x }: { x: number }, y = [1, 2]) {
      return [x, y];
    }),
  ).toEqual(['{…}', 'y?']);
  expect(parameterNames(() => 1)).toEqual([]);
  expect(parameterNames(async (ctx: unknown) => ctx)).toEqual([]);
  class Mailer {
    send(_ctx: unknown, to: string /* the address */, subject = 'Hi, (there)') {
      return [to, subject];
    }
  }
  expect(parameterNames(new Mailer().send)).toEqual(['to', 'subject?']);
  expect(parameterNames(Math.max)).toBeNull();
});
