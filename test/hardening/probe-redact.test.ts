import { ConfigError } from '../../src';
import { redactUrl, resolveConfig } from '../../src/config';
import { describeConf } from '../../src/worker/conf';

/**
 * Found from outside (session 7): redactUrl, which keeps passwords out of errors, logs and the
 * `conf` remote-control reply (readable by anything on the broker), cut the password at its first
 * '@' or ';' and never looked at the query. Each of these URLs works (WHATWG URL and pg take the
 * last '@'; libpq-style URLs take ?password=), and each leaked all or part of its password.
 */
const LEAKS: [string, string][] = [
  ['postgres://app:p@ssw0rd@db.internal:5432/prod', 'postgres://app:***@db.internal:5432/prod'],
  ['redis://:sec;ret@cache:6379/0', 'redis://:***@cache:6379/0'],
  ['amqp://user:a@b;c@rabbit:5672/vh', 'amqp://user:***@rabbit:5672/vh'],
  [
    'postgres://db.internal/prod?user=app&password=hunter2&sslmode=require',
    'postgres://db.internal/prod?user=app&password=***&sslmode=require',
  ],
  ['postgresql://app@db/prod?sslpassword=k3y', 'postgresql://app@db/prod?sslpassword=***'],
  // An unencoded '/' ends a URL's authority, so such a URL fails to parse, and the error quotes it.
  ['redis://:pa/ss@cache:6379/0', 'redis://:***@cache:6379/0'],
  ['amqp://user:a/b/c@rabbit:5672/vh', 'amqp://user:***@rabbit:5672/vh'],
  // Likewise an unencoded '?' or '#' (common in generated passwords): the URL fails to parse, or
  // (Postgres) is taken with the rest as its query, and the error or the conf reply quotes it.
  ['redis://:Xy?9b@cache:6379/0', 'redis://:***@cache:6379/0'],
  ['amqp://user:Xy#9b@rabbit:5672/vh', 'amqp://user:***@rabbit:5672/vh'],
  ['postgres://app:a?b#c@db.internal:5432/prod', 'postgres://app:***@db.internal:5432/prod'],
  [
    'sentinel://:p@1@s1:26379;sentinel://:p@1@s2:26380?master_name=m',
    'sentinel://:***@s1:26379;sentinel://:***@s2:26380?master_name=m',
  ],
];

test.each(LEAKS)('redactUrl(%s) shows no part of the password', (url, shown) => {
  expect(redactUrl(url)).toBe(shown);
});

test('plain URLs and text around them are unchanged, the simple password still masked', () => {
  expect(redactUrl('redis://127.0.0.1:6379/0')).toBe('redis://127.0.0.1:6379/0');
  expect(redactUrl('amqp://guest@host:5672/')).toBe('amqp://guest@host:5672/');
  expect(redactUrl('redis://:s3cret@host:6379/0')).toBe('redis://:***@host:6379/0');
  expect(redactUrl('failed: connect to redis://u:pw@h:1/0 (ECONNREFUSED)')).toBe(
    'failed: connect to redis://u:***@h:1/0 (ECONNREFUSED)',
  );
  expect(redactUrl('sentinel://s1:26379;sentinel://:pw@s2:26380')).toBe('sentinel://s1:26379;sentinel://:***@s2:26380');
});

test('the conf reply and config errors keep such passwords out', () => {
  const config = resolveConfig(
    { brokerUrl: 'redis://:sec;ret@cache:6379/0', databaseUrl: 'postgres://app:p@ss?w0rd@db.internal:5432/prod' },
    {},
  );
  const conf = JSON.stringify(
    describeConf(config, { name: 'w', queues: [], concurrency: 1, pool: 'async' } as unknown as Parameters<
      typeof describeConf
    >[1]),
  );
  expect(conf).not.toMatch(/sec;ret|ss\?w0rd|w0rd/);
  expect(() => resolveConfig({ brokerUrl: 'redis://:Xy?9b@cache:6379/0' }, {})).toThrow(ConfigError);
  expect(() => resolveConfig({ brokerUrl: 'redis://:Xy?9b@cache:6379/0' }, {})).not.toThrow(/9b/);
  expect(() => resolveConfig({ brokerUrl: 'kafka://u:a@b;c@host' }, {})).toThrow(ConfigError);
  expect(() => resolveConfig({ brokerUrl: 'kafka://u:a@b;c@host' }, {})).not.toThrow(/b;c/);
});
