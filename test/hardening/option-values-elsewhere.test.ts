import { CeleriacError, ConfigError } from '../../src';
import { resolveAdminOptions } from '../../src/admin/options';
import { resolveSerialOptions } from '../../src/broker/serializers/options';
import { chunkSizeOf } from '../../src/plugin/bulk';

/**
 * The lead's probe-option-values fix (errors.ts shown()) left some checks quoting the value with
 * JSON.stringify: the admin's options, an acceptContent entry and sendMany's chunkSize. A BigInt
 * or a cyclic object there threw a bare TypeError ("Do not know how to serialize a BigInt",
 * "Converting circular structure to JSON") from the code building the error meant to name the
 * option; the admin's title was not checked, and a prototype-less object there (a YAML or
 * query-string parser's result) threw on every page it titled (String() of it throws).
 */
const cyclic: Record<string, unknown> = {};
cyclic.self = cyclic;
const HOSTILE: [string, unknown][] = [
  ['10n', 10n],
  ['a cyclic object', cyclic],
  ['a Symbol', Symbol('x')],
  ['a prototype-less object', Object.create(null) as object],
];

const admin = (extra: Record<string, unknown>) => () => resolveAdminOptions({ insecureNoAuth: true, ...extra }, {});

describe.each(HOSTILE)('%s', (_label, value) => {
  test.each([
    ['loginUrl', { loginUrl: value }],
    ['trustedOrigins', { trustedOrigins: [value] }],
    ['maxSseClients', { maxSseClients: value }],
    ['readTimeoutMs', { readTimeoutMs: value }],
    ['signOutUrl', { signOutUrl: value }],
    ['appUrl', { appUrl: value }],
    ['title', { title: value }],
  ])('admin.%s is refused by the ConfigError naming it', (key, options) => {
    expect(admin(options)).toThrow(ConfigError);
    expect(admin(options)).toThrow(`admin.${key}`);
  });

  test('an acceptContent entry is refused by the ConfigError naming it', () => {
    const resolve = () => resolveSerialOptions({ acceptContent: ['json', value] } as never);
    expect(resolve).toThrow(ConfigError);
    expect(resolve).toThrow('acceptContent[1]');
  });

  test("sendMany's chunkSize is refused by a CeleriacError naming it", () => {
    expect(() => chunkSizeOf({ chunkSize: value as number })).toThrow(CeleriacError);
    expect(() => chunkSizeOf({ chunkSize: value as number })).toThrow(/chunkSize .*: use an integer from 1 to/);
  });
});

test('good values are still taken', () => {
  const o = resolveAdminOptions(
    { insecureNoAuth: true, title: 'Ops', loginUrl: '/login', trustedOrigins: ['https://a.example'] },
    {},
  );
  expect(o).toMatchObject({ title: 'Ops', loginUrl: '/login', trustedOrigins: ['https://a.example'] });
  expect(resolveAdminOptions({ insecureNoAuth: true }, {}).title).toBe('Celeriac');
  expect(chunkSizeOf({ chunkSize: 500 })).toBe(500);
});
