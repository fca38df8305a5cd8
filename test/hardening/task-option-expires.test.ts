import { Celeriac, ConfigError, task } from '../../src';

/**
 * A task's own `expires` (seconds after sending, or an instant) was taken as given: 'soon', NaN,
 * Infinity, an invalid Date, a BigInt or a Symbol made every later send of the task throw a bare
 * RangeError ("Invalid time value", from toISOString) or TypeError ("Cannot mix BigInt and other
 * types"), naming neither the task nor the option, far from the task() call that set it. A send's
 * own `expires` is checked (runtime/send-options.ts); the task's is now checked where it is given.
 */
const app = new Celeriac({ brokerUrl: 'memory://', databaseUrl: undefined, apps: [] });

test.each([
  ['the string soon', 'soon'],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['0 (every send expired at once)', 0],
  ['-5', -5],
  ['3e11 seconds (the year 11476)', 3e11],
  ['an invalid Date', new Date('x')],
  ['a Date past the year 9999', new Date(Date.UTC(10_000, 0, 1))],
  ['10n', 10n],
  ['a Symbol', Symbol('x')],
  ['an object', { seconds: 5 }],
])('expires of %s is a ConfigError naming the task and the option', (_label, expires) => {
  const define = () => task('review.expires.bad', () => 1, { expires: expires as number });
  expect(define).toThrow(ConfigError);
  expect(define).toThrow(
    /'task 'review.expires.bad' option expires': expected seconds > 0 \(ending before the year 10000\) or a valid Date/,
  );
});

test('seconds and a Date are still sent as the expires header', () => {
  task('review.expires.seconds', () => 1, { expires: 60 });
  const at = new Date(Date.UTC(2030, 0, 1));
  task('review.expires.date', () => 1, { expires: at });
  const header = (name: string) => JSON.parse(app.prepare(name, [], {}).outgoing.raw).headers.expires as string;
  const inAMinute = Date.parse(header('review.expires.seconds')) - Date.now();
  expect(inAMinute).toBeGreaterThan(50_000);
  expect(inAMinute).toBeLessThanOrEqual(60_000);
  expect(header('review.expires.date')).toBe(at.toISOString());
});
