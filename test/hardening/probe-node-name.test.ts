import { hostname } from 'node:os';
import { CeleriacError } from '../../src';
import { hostnameFlag } from '../../src/cli/args';

/**
 * Found from outside (session 8) by starting workers as Celery's guide does,
 * `celeriac worker -n worker1@%h`: Celery expands %h (the host name), %n (its first label) and
 * %d (the domain), so each host gets its own node name; Celeriac named every worker literally
 * 'worker1@%h', the same pidbox destination and row `worker` on every host. An unknown %x is
 * refused, as Celery refuses it, instead of becoming part of the name.
 */
const flags = (n?: string) => new Map<string, string | true>(n === undefined ? [] : [['hostname', n]]);

test('%h, %n and %d expand as Celery expands them', () => {
  const host = hostname();
  const dot = host.indexOf('.');
  const [name, domain] = dot < 0 ? [host, ''] : [host.slice(0, dot), host.slice(dot + 1)];
  expect(hostnameFlag(flags('worker1@%h'))).toBe(`worker1@${host}`);
  expect(hostnameFlag(flags('%n@x'))).toBe(`${name}@x`);
  expect(hostnameFlag(flags('w@%d'))).toBe(`w@${domain}`);
  expect(hostnameFlag(flags('a%%b@%h'))).toBe(`a%b@${host}`);
});

test('a name without % stays as given; no flag is no name', () => {
  expect(hostnameFlag(flags('mail@host'))).toBe('mail@host');
  expect(hostnameFlag(flags())).toBeUndefined();
});

test('an unknown %x is refused, naming what -n takes', () => {
  expect(() => hostnameFlag(flags('w@%x'))).toThrow(CeleriacError);
  expect(() => hostnameFlag(flags('w@%x'))).toThrow(/'%x'.*%h.*%n.*%d/);
  expect(() => hostnameFlag(flags('w@host%'))).toThrow(/'%'/);
});
