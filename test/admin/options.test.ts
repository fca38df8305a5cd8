import { ConfigError } from '../../src';
import { resolveAdminOptions } from '../../src/admin/options';
import { cleanup, makeApp } from '../helpers';

const authorize = () => true;

test('refuses to build without authorize', () => {
  expect(() => resolveAdminOptions({})).toThrow(ConfigError);
  expect(() => resolveAdminOptions({})).toThrow(/authorize\(req\) hook/);
});

test('insecureNoAuth mounts outside production and is refused in production', () => {
  expect(resolveAdminOptions({ insecureNoAuth: true }, { NODE_ENV: 'development' }).authorize({} as never)).toBe(true);
  expect(() => resolveAdminOptions({ insecureNoAuth: true }, { NODE_ENV: 'production' })).toThrow(
    /NODE_ENV is production/,
  );
  expect(() => resolveAdminOptions({ insecureNoAuth: false })).toThrow(/authorize/);
});

test('authorize and insecureNoAuth together are a mistake', () => {
  expect(() => resolveAdminOptions({ authorize, insecureNoAuth: true })).toThrow(/one or the other/);
});

test('unknown options fail with a hint', () => {
  expect(() => resolveAdminOptions({ authorize, showTraceback: true } as never)).toThrow(
    /'admin.showTraceback': unknown option \(did you mean 'showTracebacks'\?\)/,
  );
});

test('bad values name the option', () => {
  expect(() => resolveAdminOptions({ authorize: 'yes' } as never)).toThrow(/admin.authorize/);
  expect(() => resolveAdminOptions({ authorize, showTracebacks: 'yes' } as never)).toThrow(/admin.showTracebacks/);
  expect(() => resolveAdminOptions({ authorize, loginUrl: 'https://evil.example/login' })).toThrow(/admin.loginUrl/);
  expect(() => resolveAdminOptions({ authorize, trustedOrigins: ['https://a.example/path'] })).toThrow(
    /admin.trustedOrigins/,
  );
  expect(() => resolveAdminOptions({ authorize, maxSseClients: 0 })).toThrow(/admin.maxSseClients/);
  // Armed with setTimeout, which fires after 1 ms past 2^31-1 ms: every read would answer 503 at once.
  expect(() => resolveAdminOptions({ authorize, readTimeoutMs: 2 ** 31 })).toThrow(
    /'admin.readTimeoutMs'.*at most 2147483647 ms/,
  );
  expect(resolveAdminOptions({ authorize, maxSseClients: 2 ** 31 }).maxSseClients).toBe(2 ** 31); // a count
});

test('defaults', () => {
  const o = resolveAdminOptions({ authorize });
  expect(o).toMatchObject({
    readOnly: false,
    bodyLimit: '100kb',
    sseHeartbeatMs: 15000,
    maxSseClients: 100,
    title: 'Celeriac',
    trustedOrigins: [],
  });
  expect(o.showTracebacks({} as never)).toBe(false);
});

test('Celeriac#admin is the entry point and applies the same checks', async () => {
  // Its own schema, as every test file has: nothing here should write, and nothing can reach another's tables.
  const app = await makeApp('admin_options', { brokerUrl: 'memory://admin-options' });
  try {
    expect(() => app.admin({})).toThrow(/authorize/);
    expect(typeof app.admin({ authorize })).toBe('function');
  } finally {
    await cleanup(app);
  }
});
