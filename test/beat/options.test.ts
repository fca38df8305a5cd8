import { ConfigError } from '../../src';
import { resolveBeatOptions } from '../../src/beat/options';

/** Beat's options are checked once; a delay its timers are armed with must fit setTimeout. */
test.each([
  [{ maxSleepMs: 3_000_000_000 }, /'beat.maxSleepMs'.*at most 2147483647 ms/],
  [{ pollIntervalMs: 2 ** 31 }, /'beat.pollIntervalMs'.*at most 2147483647 ms/],
  [{ heartbeatMs: 1e12 }, /'beat.heartbeatMs'.*at most 2147483647 ms/],
  [{ maxSleepMs: 0 }, /'beat.maxSleepMs'.*positive whole number/],
])('%j is refused', (options, message) => {
  expect(() => resolveBeatOptions(options)).toThrow(ConfigError);
  expect(() => resolveBeatOptions(options)).toThrow(message);
});

test('a marker lifetime past the timer ceiling is fine: it is a Redis TTL, not a timer', () => {
  expect(resolveBeatOptions({ sentMarkerTtlMs: 30 * 86_400_000, maxSleepMs: 2 ** 31 - 1 })).toMatchObject({
    sentMarkerTtlMs: 30 * 86_400_000,
    maxSleepMs: 2 ** 31 - 1,
  });
});
