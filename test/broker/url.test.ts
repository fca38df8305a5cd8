import { resolveConfig } from '../../src/config';
import { parseBrokerUrl, type RedisAddress } from '../../src/broker/url';
import { redisOptions } from '../../src/broker/redis-connection';
import { fc, propertyOptions } from '../property';

const redisOf = (url: string, options = {}) => parseBrokerUrl(url, options) as RedisAddress;

test('redis:// and rediss://: host, port, db, credentials; defaults as kombu has them', () => {
  expect(redisOf('redis://r:6380/2')).toMatchObject({
    transport: 'redis',
    db: 2,
    server: { host: 'r', port: 6380, tls: false },
    description: 'redis://r:6380/2',
  });
  expect(redisOf('redis://')).toMatchObject({ db: 0, server: { host: '127.0.0.1', port: 6379 } });
  expect(redisOf('redis://:s3cret@h/0')).toMatchObject({ username: undefined, password: 's3cret' });
  expect(redisOf('rediss://u:p@h:6390/1?ssl_cert_reqs=CERT_NONE')).toMatchObject({
    username: 'u',
    password: 'p',
    server: { tls: { rejectUnauthorized: false } },
    description: 'rediss://h:6390/1',
  });
  expect(redisOf('rediss://h').server).toMatchObject({ tls: { rejectUnauthorized: true } });
});

test("sentinel:// in kombu's spelling: every sentinel, the primary's password and db, master_name from options or the URL", () => {
  const address = redisOf('sentinel://:pw@s1:26379/3;sentinel://:pw@s2:26380/3; sentinel://s3', {
    masterName: 'mymaster',
  });
  expect(address).toMatchObject({
    transport: 'sentinel',
    db: 3,
    password: 'pw',
    server: {
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: 's3', port: 26379 },
      ],
      masterName: 'mymaster',
    },
  });
  expect(address.description).not.toContain('pw');
  expect(redisOf('sentinel://s1:26379?master_name=m1;sentinel://s2').server).toMatchObject({ masterName: 'm1' });
  // Every connection asks the sentinels for the primary: no fixed host.
  const options = redisOptions(address, 'p:', 'subscriber');
  expect(options).toMatchObject({
    name: 'mymaster',
    role: 'master',
    db: 3,
    password: 'pw',
    maxRetriesPerRequest: null,
  });
  expect(options.host).toBeUndefined();
});

test.each([
  ['sentinel://s1:26379', {}, /brokerTransportOptions\.masterName.*masterName: 'mymaster'.*master_name=mymaster/],
  ['sentinel://s1?master_name=a', { masterName: 'b' }, /'b' differs from master_name 'a'/],
  ['sentinel://s1;redis://r', { masterName: 'm' }, /every entry must be sentinel:\/\/host:port/],
  ['sentinel://s1?socket_timeout=1', { masterName: 'm' }, /unknown sentinel URL option 'socket_timeout'/],
  ['redis://h:6379/zero', {}, /names database 'zero'.*e\.g\. \/0/],
  ['redis://h:6379/0?family=6', {}, /unknown option 'family'/],
  ['redis://h:99999/0', {}, /not a valid URL|port/],
  ['kafka://x', {}, /use redis:\/\/host:6379\/0.*sentinel:\/\/.*amqp:\/\//],
  ['redis://h', { master_name: 'm' }, /brokerTransportOptions\.master_name.*did you mean 'masterName'/],
  ['redis://h', { masterName: '' }, /brokerTransportOptions\.masterName.*non-empty string/],
  ['redis://h', { waitReplicas: -1 }, /brokerTransportOptions\.waitReplicas.*integer ≥ 0.*e\.g\. 1/],
  ['redis://h', { waitReplicas: '1' }, /brokerTransportOptions\.waitReplicas.*integer ≥ 0, got "1"/],
  ['redis://h', { waitReplicas: 1, waitReplicasTimeoutMs: 0.5 }, /waitReplicasTimeoutMs.*integer ≥ 1.*milliseconds/],
  ['redis://h', { waitReplicasTimeoutMs: 500 }, /waitReplicasTimeoutMs.*no effect without waitReplicas/],
  ['amqp://h', { waitReplicas: 1 }, /waitReplicas.*a Redis option.*does not apply to RabbitMQ/],
  ['memory://', { waitReplicas: 1 }, /waitReplicas.*a Redis option.*memory:\/\//],
])('%s %j is refused with what to write instead', (url, options, message) => {
  expect(() => parseBrokerUrl(url, options as never)).toThrow(message);
});

test('config parses the broker URL once, with brokerTransportOptions, and keeps the URL as given', () => {
  const c = resolveConfig(
    { brokerUrl: 'sentinel://s1:26379;sentinel://s2:26379', brokerTransportOptions: { masterName: 'mymaster' } },
    {},
  );
  expect(c.brokerUrl).toBe('sentinel://s1:26379;sentinel://s2:26379');
  expect(c.broker).toMatchObject({ transport: 'sentinel', server: { masterName: 'mymaster' } });
  expect(() => resolveConfig({ brokerTransportOptions: { mastername: 'x' } as never }, {})).toThrow(
    /did you mean 'masterName'/,
  );
});

test('waitReplicas: a Redis send waits for that many replicas (1 s unless told), none by default as kombu', () => {
  expect(redisOf('redis://h').waitReplicas).toBeUndefined();
  expect(redisOf('redis://h', { waitReplicas: 0 }).waitReplicas).toBeUndefined();
  expect(redisOf('redis://h', { waitReplicas: 1 }).waitReplicas).toEqual({ count: 1, timeoutMs: 1000 });
  expect(
    redisOf('sentinel://s1', { masterName: 'm', waitReplicas: 2, waitReplicasTimeoutMs: 250 }).waitReplicas,
  ).toEqual({ count: 2, timeoutMs: 250 });
});

const password = fc.string({ minLength: 1, maxLength: 24, unit: 'grapheme' });

test('a password of any characters round-trips through the URL and never reaches the description or an error', () => {
  fc.assert(
    fc.property(password, fc.constantFrom('redis', 'rediss', 'sentinel'), (pw, scheme) => {
      const url = `${scheme}://user:${encodeURIComponent(pw)}@host:1234/5${scheme === 'sentinel' ? '?master_name=m' : ''}`;
      const address = redisOf(url);
      expect(address.password).toBe(pw);
      expect(address.username).toBe('user');
      expect(address.db).toBe(5);
      expect(address.description).not.toContain(encodeURIComponent(pw));
      // A bad db in the same URL: the error names the URL without the password.
      const bad = url.replace('/5', '/x');
      expect(() => parseBrokerUrl(bad)).toThrow(/names database 'x'/);
      try {
        parseBrokerUrl(bad);
      } catch (err) {
        expect((err as Error).message).not.toContain(`:${encodeURIComponent(pw)}@`);
      }
    }),
    propertyOptions(200),
  );
});

test('any list of sentinels parses to the same hosts and ports, in order', () => {
  const host = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
  const port = fc.integer({ min: 1, max: 65535 });
  fc.assert(
    fc.property(fc.array(fc.record({ host, port }), { minLength: 1, maxLength: 6 }), (sentinels) => {
      const url = sentinels.map((s) => `sentinel://${s.host}:${s.port}`).join(';');
      expect(redisOf(url, { masterName: 'm' }).server).toEqual({
        sentinels,
        masterName: 'm',
        sentinelPassword: undefined,
      });
    }),
    propertyOptions(200),
  );
});

test("amqp:// and amqps:// in kombu's spelling: vhost from the path ('/' when empty), guest by default", () => {
  expect(parseBrokerUrl('amqp://u:p@rabbit:5673/prod')).toMatchObject({
    transport: 'amqp',
    host: 'rabbit',
    port: 5673,
    vhost: 'prod',
    tls: false,
    description: 'amqp://rabbit:5673/prod',
  });
  expect(parseBrokerUrl('amqp://')).toMatchObject({ host: '127.0.0.1', port: 5672, vhost: '/' });
  expect(parseBrokerUrl('amqp://h/%2F')).toMatchObject({ vhost: '/' });
  expect(parseBrokerUrl('amqps://h')).toMatchObject({ port: 5671, tls: true, description: 'amqps://h:5671/' });
  expect(parseBrokerUrl('pyamqp://h')).toMatchObject({ transport: 'amqp', port: 5672 });
  expect(new URL((parseBrokerUrl('amqp://h') as { url: string }).url)).toMatchObject({
    username: 'guest',
    password: 'guest',
  });
  expect(() => parseBrokerUrl('amqp://h/v?bogus=1')).toThrow(/unknown option 'bogus'.*heartbeat/);
});

test('amqp://: any user, password and vhost reach the connection intact and the password never the description', () => {
  const text = fc.string({ minLength: 1, maxLength: 20 });
  fc.assert(
    fc.property(text, text, text, (user, password, vhost) => {
      const raw = `amqp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@h:5672/${encodeURIComponent(vhost)}`;
      const a = parseBrokerUrl(raw) as { url: string; vhost: string; description: string };
      const u = new URL(a.url);
      expect(decodeURIComponent(u.username)).toBe(user);
      expect(decodeURIComponent(u.password)).toBe(password);
      expect(decodeURIComponent(u.pathname.slice(1))).toBe(vhost);
      expect(a.vhost).toBe(vhost);
      expect(a.description).toBe(`amqp://h:5672/${vhost === '/' ? '' : vhost}`);
    }),
    propertyOptions(200),
  );
});
