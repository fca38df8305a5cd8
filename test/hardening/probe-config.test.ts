import { ConfigError } from '../../src';
import { resolveConfig } from '../../src/config';

/**
 * Found from outside (session 7): a password with a bare '%' (`100%`, or one copied from a
 * Python app's broker_url, where urllib leaves a stray '%' alone) made the broker or database
 * URL throw a bare `URIError: URI malformed` (no option named, no hint), from resolveConfig
 * for the broker and from the pg pool on first use for the database. Each must be a ConfigError
 * naming the option and the fix, and never show the password.
 */

const BROKERS = [
  'redis://:100%@127.0.0.1:6379/0',
  'redis://us%er:pw@127.0.0.1:6379/0',
  'rediss://:pa%zzword@127.0.0.1:6380/1',
  'amqp://guest:gu%st@127.0.0.1:5672/vh',
  'amqp://guest:guest@127.0.0.1:5672/v%h',
  'sentinel://:p%@127.0.0.1:26379?master_name=x',
];

test.each(BROKERS)('brokerUrl %s: a ConfigError naming brokerUrl and %%25', (brokerUrl) => {
  let thrown: unknown;
  try {
    resolveConfig({ brokerUrl, databaseUrl: 'postgres://u@h/db' }, {});
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  const message = (thrown as Error).message;
  expect(message).toMatch(/'brokerUrl'/);
  expect(message).toMatch(/%25/);
  expect(message).not.toMatch(/100%|pa%zz|gu%st|:p%@/);
});

test.each(['postgres://postgres:p%ZZ@127.0.0.1:5432/test', 'postgresql://us%er@127.0.0.1/test'])(
  'databaseUrl %s: a ConfigError naming databaseUrl, before anything connects',
  (databaseUrl) => {
    for (const config of [{ databaseUrl }, {}]) {
      let thrown: unknown;
      try {
        resolveConfig({ brokerUrl: 'redis://127.0.0.1:6379/0', ...config }, { DATABASE_URL: databaseUrl });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as Error).message).toMatch(/'databaseUrl'.*%25/);
      expect((thrown as Error).message).not.toMatch(/p%ZZ/);
    }
  },
);

test('percent-encoded credentials still decode', () => {
  const c = resolveConfig(
    { brokerUrl: 'redis://:100%25@127.0.0.1:6379/0', databaseUrl: 'postgres://postgres:p%25ZZ@127.0.0.1:5432/test' },
    {},
  );
  expect(c.broker).toMatchObject({ password: '100%' });
});
