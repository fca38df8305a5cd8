import { join } from 'node:path';
import { ConfigError, type Celeriac } from '../../src';
import { cleanup, makeApp } from '../helpers';

/**
 * Found from outside (session 8) by calling app.control with timeouts of the wrong kind: on Redis
 * `ping({ timeoutMs: NaN })` or Infinity threw BrokerUnavailableError (BRPOP refused the
 * timeout; the broker was fine) and 3e9 ms or '1000' (joined to a time as text) blocked for
 * weeks; on memory:// (and RabbitMQ, the same timer) Infinity and 3e9 ms, past setTimeout's
 * ceiling, ended the wait after 1 ms. Each is a ConfigError naming options.timeoutMs, before
 * anything is broadcast.
 */
const WORKER = 'probe-bcast@test';

describe.each(['memory://probe-bcast', 'redis://127.0.0.1:6379/0'])('on %s', (brokerUrl) => {
  let app: Celeriac;
  beforeAll(async () => {
    app = await makeApp('probe_broadcast', { brokerUrl, apps: [join(__dirname, '../fixtures/apps/math')] });
    await app.worker({ name: WORKER }).start();
  });
  afterAll(() => cleanup(app));

  test.each([NaN, Infinity, -1, 3e9, '1000'])('timeoutMs %p is a ConfigError naming it', async (timeoutMs) => {
    // A guard, so the previous code's endless wait fails this test instead of hanging it.
    const guard = new Promise((r) => setTimeout(() => r('still waiting after 3 s'), 3000).unref());
    const got = await Promise.race([
      app.control.ping({ timeoutMs: timeoutMs as number }).then(
        (v) => v,
        (e: unknown) => e,
      ),
      guard,
    ]);
    expect(got).toBeInstanceOf(ConfigError);
    expect(String((got as Error).message)).toMatch(/'options\.timeoutMs'/);
  });

  test('good timeouts still broadcast', async () => {
    expect(await app.control.ping({ destination: [WORKER], timeoutMs: 5000 })).toEqual({ [WORKER]: { ok: 'pong' } });
    await expect(app.control.ping({ timeoutMs: 0 })).resolves.toBeDefined();
  });
});
