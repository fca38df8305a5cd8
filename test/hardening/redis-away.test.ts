import { BrokerUnavailableError, Celeriac, TimeoutError } from '../../src';
import { silentLogger } from '../../src/log';
import { cleanup, DATABASE_URL, isolation } from '../helpers';
import { PrivateRedis } from '../private-servers';

/**
 * The sending process with Redis away: get() fails at once with BrokerUnavailableError (its
 * wake-ups come through Redis), close() still closes everything, and once Redis is there the next
 * get() subscribes again instead of failing on the first attempt's error for good.
 */
const redis = new PrivateRedis(7711);
let app: Celeriac;

beforeAll(async () => {
  app = new Celeriac({
    databaseUrl: DATABASE_URL,
    brokerUrl: redis.url,
    logger: silentLogger,
    ...isolation('redis_away'),
  });
  await app.migrate();
});
afterAll(async () => {
  await cleanup(app);
  await redis.remove();
});

test('get() while Redis is away fails at once; after Redis starts, get() waits again; close() closes either way', async () => {
  await expect(app.asyncResult('never-sent').get({ timeout: 5 })).rejects.toThrow(BrokerUnavailableError);
  await redis.start();
  await expect(app.asyncResult('never-sent').get({ timeout: 0.5 })).rejects.toThrow(TimeoutError);

  const other = new Celeriac({
    databaseUrl: DATABASE_URL,
    brokerUrl: 'redis://127.0.0.1:7712/0', // nothing listens there
    logger: silentLogger,
    schema: app.config.schema,
  });
  await expect(other.asyncResult('x').get({ timeout: 5 })).rejects.toThrow(BrokerUnavailableError);
  await expect(other.close()).resolves.toBeUndefined();
}, 60_000);
