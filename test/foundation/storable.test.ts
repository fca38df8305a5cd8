import { findUnstorable, pathKey, textProblem } from '../../src/storable';
import { fc, propertyOptions } from '../property';

/**
 * findUnstorable clears most values with a walk that builds no paths, and walks again with paths
 * only when that one does not clear them (or the value nests past its depth): both must find the
 * same first problem, wherever it is.
 */

function nested(depth: number, leaf: unknown): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? { k: v } : [v];
  return v;
}

test('a NUL or a lone surrogate is found with its path at any depth, in a value or a key', () => {
  expect(findUnstorable([1, 'ok', { a: 'x\u0000y' }], 'args')).toBe(
    'args[2].a contains U+0000 (NUL) at index 1, which Postgres text and jsonb cannot hold',
  );
  expect(findUnstorable({ ['bad\ud800']: 1 }, 'kwargs')).toMatch(/^kwargs has a key that contains a lone surrogate/);
  for (const depth of [1, 31, 32, 33, 200]) {
    expect(findUnstorable(nested(depth, 'a\u0000'), 'args')).toMatch(/^args[[\].k0]* contains U\+0000/);
    expect(findUnstorable(nested(depth, 'fine'), 'args')).toBeNull();
  }
});

test('the same answer as a walk that spells out every path (property)', () => {
  const text = fc.oneof(fc.string(), fc.constantFrom('\u0000', 'a\ud800', '\udc00b', 'ok'));
  const value = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      text,
      fc.integer(),
      fc.constant(null),
      fc.array(tie('v'), { maxLength: 4 }),
      fc.dictionary(text, tie('v'), { maxKeys: 4 }),
    ),
  })).v;
  fc.assert(
    fc.property(value, fc.integer({ min: 0, max: 60 }), (v, depth) => {
      const deep = nested(depth, v);
      expect(findUnstorable(deep, 'args')).toBe(reference(deep, 'args'));
    }),
    propertyOptions(300),
  );
});

/** findUnstorable as it was before its fast walk: a path for every element. */
function reference(value: unknown, path: string): string | null {
  const stack: [unknown, string][] = [[value, path]];
  while (stack.length > 0) {
    const [v, p] = stack.pop()!;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) return `${p} ${problem}`;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${p}[${i}]`]);
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, item] = entries[i];
        const keyProblem = textProblem(k);
        if (keyProblem) return `${p} has a key that ${keyProblem}`;
        stack.push([item, p + pathKey(k)]);
      }
    }
  }
  return null;
}
