import { ConfigError } from '../../src';
import { redactUrl, resolveConfig } from '../../src/config';

test('defaults come from the environment', () => {
  const c = resolveConfig({}, { DATABASE_URL: 'postgres://u:p@db:5432/x', CELERIAC_BROKER_URL: 'redis://r:6379/2' });
  expect(c.databaseUrl).toBe('postgres://u:p@db:5432/x');
  expect(c.brokerUrl).toBe('redis://r:6379/2');
  expect(c.defaultQueue).toBe('celery');
  expect(c.maxPayloadBytes).toBe(1024 * 1024);
});

test('an unknown option is named, with a suggestion', () => {
  expect(() => resolveConfig({ brokerUlr: 'redis://x' } as any, {})).toThrow(
    /'brokerUlr': unknown option \(did you mean 'brokerUrl'\?\)/,
  );
});

test.each([
  [{ brokerUrl: 'kafka://x' }, /brokerUrl.*use redis:\/\/host:6379\/0/],
  [{ databaseUrl: 'mysql://x' }, /databaseUrl.*not a Postgres URL/],
  [{ schema: 'Bad-Schema' }, /schema.*plain lower-case identifier/],
  [{ maxPayloadBytes: -1 }, /maxPayloadBytes.*positive integer, got -1/],
  [{ routes: { 'a.*': { queue: 'bad queue' } } }, /routes\['a\.\*'\]\.queue/],
  [{ routes: { 'a.*': { priority: 11 } } }, /priority.*0-9/],
  [{ apps: ['ok', 3] }, /apps.*array of folder paths/],
  [{ logFormat: 'xml' }, /logFormat.*'text' or 'json'/],
])('rejects %j', (options, message) => {
  expect(() => resolveConfig(options as any, {})).toThrow(ConfigError);
  expect(() => resolveConfig(options as any, {})).toThrow(message);
});

test('passwords never reach messages', () => {
  expect(redactUrl('redis://:s3cret@host:6379/0')).toBe('redis://:***@host:6379/0');
  expect(() => resolveConfig({ brokerUrl: 'kafka://user:s3cret@host' }, {})).toThrow(/user:\*\*\*@host/);
});
