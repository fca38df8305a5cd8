import { ConfigError } from '../../src';
import { resolveConfig } from '../../src/config';

/**
 * Found from outside (session 7) by giving each option a value of the wrong kind: `signing` as
 * the secret itself (`signing: process.env.SIGNING_KEY`) threw a bare TypeError ("Cannot use 'in'
 * operator"); `timezone` was never checked (an unknown zone, a number, an object were taken, and
 * every cron-string schedule failed later, far from the cause); `keyPrefix` took numbers and
 * objects, which then prefixed every Redis key with '1.5' or '[object Object]'. Each must be a
 * ConfigError naming the option.
 */

const base = { databaseUrl: 'postgres://u@h/db', brokerUrl: 'redis://h/0' };

function refusal(options: Record<string, unknown>): unknown {
  try {
    resolveConfig({ ...base, ...options } as never, {});
  } catch (err) {
    return err;
  }
  return undefined;
}

test.each([
  ['signing', 'a-secret-string-of-at-least-32-characters'],
  ['signing', null],
  ['signing', 42],
  ['timezone', 'Nowhere/Zone'],
  ['timezone', 'Europe/Berln'],
  ['timezone', 5],
  ['timezone', {}],
  ['timezone', ''],
  ['keyPrefix', 1.5],
  ['keyPrefix', {}],
  ['keyPrefix', true],
])('%s = %p: a ConfigError naming the option', (key, value) => {
  const err = refusal({ [key]: value });
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).key).toMatch(new RegExp(`^${key}`));
});

test('good values still pass; a mis-cased zone is taken under its proper name', () => {
  expect(
    refusal({ timezone: 'Europe/Berlin', keyPrefix: 'app:', signing: { secret: 'x'.repeat(32) } }),
  ).toBeUndefined();
  expect(resolveConfig({ ...base, timezone: 'europe/berlin' }, {}).timezone).toBe('Europe/Berlin');
  expect(resolveConfig({ ...base, timezone: 'US/Eastern' }, {}).timezone).toBe('US/Eastern');
  expect(resolveConfig({ ...base }, {}).timezone).toBe('UTC');
});

test('a canonical zone, in any case, is checked without an Intl.DateTimeFormat (its ICU data is ~8 MiB of RSS in every worker)', () => {
  const Real = Intl.DateTimeFormat;
  let made = 0;
  Intl.DateTimeFormat = new Proxy(Real, {
    construct: (target, args) => (made++, Reflect.construct(target, args)),
    apply: (target, self, args) => (made++, Reflect.apply(target, self, args)),
  });
  try {
    expect(resolveConfig({ ...base }, {}).timezone).toBe('UTC');
    expect(resolveConfig({ ...base, timezone: 'utc' }, {}).timezone).toBe('UTC');
    expect(resolveConfig({ ...base, timezone: 'america/new_york' }, {}).timezone).toBe('America/New_York');
    expect(made).toBe(0);
    // An alias is not in Intl's list of canonical names: Intl itself still says whether it is a zone.
    expect(resolveConfig({ ...base, timezone: 'US/Pacific' }, {}).timezone).toBe('US/Pacific');
    expect(made).toBeGreaterThan(0);
  } finally {
    Intl.DateTimeFormat = Real;
  }
});
