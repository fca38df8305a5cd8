import { fc } from '../property';

/**
 * Values that travel from a sender to a task and back into a result row, biased to what breaks a
 * row: NUL and lone surrogates (in values and keys), text over 255 characters, numbers JSON or
 * Postgres' numeric treat specially, keys that are Object.prototype's, and deep nesting.
 */
const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 3, arbitrary: fc.constantFrom('a\u0000b', '\u0000', 'x\ud800', '\udfff', 'é\ud83d', '😀', 'é', '') },
  { weight: 1, arbitrary: fc.string({ minLength: 256, maxLength: 400 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
);

const number = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(2 ** 53 + 2, -(2 ** 63), 1e308, -1e-308, 5e-324, -0, 0.1 + 0.2),
);

const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom('k\u0000', '\ud800', '__proto__', 'constructor', 'prototype', '', 'n'.repeat(300)),
);

/** Any JSON value (Python's json module writes and reads each of these). */
export const jsonTree: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    number,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

/** `[[[...v...]]]`, `depth` levels: past 500 Celeriac refuses to send, and a Python sender can still. */
export const nested = fc
  .tuple(fc.integer({ min: 400, max: 700 }), fc.constantFrom('x', 'a\u0000'))
  .map(([depth, leaf]) => {
    let v: unknown = leaf;
    for (let i = 0; i < depth; i++) v = [v];
    return v;
  });

export const travelValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 12, arbitrary: jsonTree },
  { weight: 2, arbitrary: nested },
);

/** Values that are no JSON, by the name values.strange returns them under (test/fixtures/values). */
export const STRANGE_KINDS = [
  'undefined',
  'NaN',
  'Infinity',
  'BigInt',
  'function',
  'Map',
  'invalidDate',
  'cycle',
  'instance',
] as const;

/** The same values as arguments to delay() (which must refuse all but undefined, a whole argument JSON drops). */
export function strangeArgument(kind: (typeof STRANGE_KINDS)[number]): unknown {
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  return {
    undefined: [undefined],
    NaN: NaN,
    Infinity: { at: [1, -Infinity] },
    BigInt: [BigInt(10)],
    function: { f: () => 1 },
    Map: new Map([[1, 2]]),
    invalidDate: { when: new Date(NaN) },
    cycle,
    instance: new (class Point {
      x = 1;
    })(),
  }[kind];
}
