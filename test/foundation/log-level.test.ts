import { Celeriac, ConfigError } from '../../src';
import { resolveConfig } from '../../src/config';
import { consoleLogger } from '../../src/log';

test('logLevel and the other CELERIAC_* variables: option, then environment, then default', () => {
  expect(resolveConfig({}, {})).toMatchObject({ logLevel: 'info', logFormat: 'text', schema: 'public', keyPrefix: '' });
  const env = {
    CELERIAC_LOG_LEVEL: 'WARN',
    CELERIAC_SCHEMA: 'jobs',
    CELERIAC_KEY_PREFIX: 'app1:',
    CELERIAC_LOG_FORMAT: 'json',
  };
  expect(resolveConfig({}, env)).toMatchObject({
    logLevel: 'warn',
    schema: 'jobs',
    keyPrefix: 'app1:',
    logFormat: 'json',
  });
  expect(resolveConfig({ logLevel: 'debug', schema: 'other', keyPrefix: '' }, env)).toMatchObject({
    logLevel: 'debug',
    schema: 'other',
    keyPrefix: '',
  });
});

test('a bad level names where it came from and what would be right', () => {
  expect(() => resolveConfig({}, { CELERIAC_LOG_LEVEL: 'verbose' })).toThrow(
    new ConfigError('CELERIAC_LOG_LEVEL', "'verbose': use one of 'debug', 'info', 'warn', 'error'"),
  );
  expect(() => resolveConfig({ logLevel: 'loud' as never }, {})).toThrow(/config 'logLevel': 'loud': use one of/);
  expect(() => resolveConfig({}, { CELERIAC_SCHEMA: 'Bad-Schema' })).toThrow(
    /config 'CELERIAC_SCHEMA': 'Bad-Schema' is not a plain/,
  );
});

test('the console logger writes the configured level and above, as text or JSON lines', () => {
  const lines: string[] = [];
  const capture = (chunk: string | Uint8Array) => (lines.push(String(chunk)), true);
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    const app = new Celeriac({ brokerUrl: 'memory://', logLevel: 'warn', logFormat: 'json' });
    app.logger.log('info', 'task x succeeded');
    app.logger.log('debug', 'noise');
    app.logger.log('warn', 'result store write failed', { error: 'down' });
    app.logger.log('error', 'worker lost');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { time: expect.any(String), level: 'warn', message: 'result store write failed', error: 'down' },
      { time: expect.any(String), level: 'error', message: 'worker lost' },
    ]);
    lines.length = 0;
    const text = consoleLogger('text', 'debug');
    text.log('debug', 'claimed', { n: 3 });
    expect(lines).toEqual([expect.stringMatching(/^\[.+\] DEBUG claimed n=3\n$/)]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
});
