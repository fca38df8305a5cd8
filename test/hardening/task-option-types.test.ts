import { ConfigError, task } from '../../src';

/**
 * Task options were taken by truthiness or typeof: `acksLate: 'false'` (a value read from an
 * environment variable) or `ignoreResult: 'false'` were true, `acksLate: 0` acked every message
 * before its task ran (a crash then lost it), and `retryBackoff: 'yes'`, NaN or 10n was silently
 * no backoff at all. Each is a ConfigError naming the task and the option, as the app's own
 * boolean options are (config.ts bool()).
 */
test.each([
  ['acksLate', 'false'],
  ['acksLate', 0],
  ['ignoreResult', 'false'],
  ['ignoreResult', 1],
  ['trackStarted', 'yes'],
  ['retryJitter', null],
  ['retryBackoff', 'yes'],
  ['retryBackoff', NaN],
  ['retryBackoff', -1],
  ['retryBackoff', Infinity],
  ['retryBackoff', 10n],
  ['retryBackoff', Symbol('x')],
])('%s: %p is a ConfigError naming the task and the option', (option, value) => {
  const define = () => task('review.types.bad', () => 1, { [option]: value });
  expect(define).toThrow(ConfigError);
  expect(define).toThrow(new RegExp(`'task 'review.types.bad' option ${option}': expected`));
});

test('booleans, and a backoff factor in seconds, are taken as before', () => {
  const t = task('review.types.good', () => 1, {
    acksLate: false,
    ignoreResult: true,
    trackStarted: true,
    retryJitter: false,
    retryBackoff: 2.5,
  });
  expect(t.options).toMatchObject({
    acksLate: false,
    ignoreResult: true,
    trackStarted: true,
    retryJitter: false,
    retryBackoff: 2.5,
  });
  expect(task('review.types.on', () => 1, { retryBackoff: true }).options.retryBackoff).toBe(1);
  expect(task('review.types.off', () => 1, { retryBackoff: false }).options.retryBackoff).toBe(0);
  expect(task('review.types.zero', () => 1, { retryBackoff: 0 }).options.retryBackoff).toBe(0);
  expect(task('review.types.default', () => 1).options).toMatchObject({
    acksLate: true,
    ignoreResult: false,
    trackStarted: false,
    retryJitter: true,
    retryBackoff: 0,
  });
});
