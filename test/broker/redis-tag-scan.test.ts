import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { createBroker, parseBrokerUrl } from '../../src/broker';
import type { RedisBroker } from '../../src/broker/redis-broker';
import { isolation } from '../helpers';
import { PrivateRedis } from '../private-servers';
import { testMessage } from './task-message';

/**
 * The Redis scripts read a message's delivery tag with a Lua pattern. Unanchored, a pattern that
 * opens with `.*` is tried from every start position when it does not match, each try running to
 * the end of the message: quadratic in the message's size. An envelope with no string
 * delivery_tag (another producer's, a hand-written one, a numeric tag) then held Redis inside
 * the fetch script: measured 0.5 s for a 10 KB message, 41 s for 80 KB, so about two hours for
 * the 1 MB one below, with every client of that Redis refused BUSY meanwhile (the script has
 * written, so SCRIPT KILL cannot stop it). On a private Redis (SIGKILLed at the end), never the
 * shared one: this test, failing, would hold the Redis it runs on.
 */
const server = new PrivateRedis(7931);
let redis: Redis;
let a: RedisBroker;
let b: RedisBroker;
const keyPrefix = isolation('redis_tag_scan').keyPrefix;

/** How long a fetch of one message may take here: ~ms when linear, hours when quadratic. */
const FETCH_BOUND_MS = 10_000;

beforeAll(async () => {
  await server.start();
  redis = new Redis(server.url);
  a = createBroker(parseBrokerUrl(server.url), keyPrefix) as RedisBroker;
  b = createBroker(parseBrokerUrl(server.url), keyPrefix) as RedisBroker;
  await Promise.all([a.connect(), b.connect()]);
}, 60_000);

afterAll(async () => {
  redis?.disconnect();
  // A server stuck in a script (the defect) does not answer QUIT: wait a bounded time for the
  // brokers to close, then SIGKILL the server whatever happened.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled([a?.close(), b?.close()]), new Promise((r) => (timer = setTimeout(r, 3000)))]);
  clearTimeout(timer);
  await server.remove();
}, 30_000);

/** `p`, or a rejection naming what did not finish within FETCH_BOUND_MS. */
function bounded<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} did not return within ${FETCH_BOUND_MS} ms: the tag scan is not linear`)),
        FETCH_BOUND_MS,
      );
    }),
  ]);
}

test.each([
  ['no delivery_tag at all', (props: Record<string, unknown>) => delete props.delivery_tag],
  ['a numeric delivery_tag', (props: Record<string, unknown>) => (props.delivery_tag = 7)],
  ['an empty delivery_tag', (props: Record<string, unknown>) => (props.delivery_tag = '')],
])(
  'a 1 MB message with %s is fetched, rewritten and let go of by value, each in linear time',
  async (_, untag) => {
    const queue = `q-${randomUUID()}`;
    const consumer = `c-${randomUUID()}`;
    await a.registerConsumer(consumer, 60_000);
    const env = JSON.parse(testMessage('tag.scan', queue).raw);
    env.headers.padding = 'p'.repeat(1_000_000);
    untag(env.properties);
    const raw = JSON.stringify(env);
    await a.send([{ queue, priority: 0, raw }]);

    // fetch-n.lua: held under a handle it makes (no tag to use).
    const got = await bounded('fetch', a.fetch(consumer, [queue], 10, 0));
    expect(got.map((d) => d.raw)).toEqual([raw]);
    // replace-held-2.lua with no handle (another connection rewrites it): read the tag from the raw.
    const rewritten = raw.replace('"padding":"p', '"padding":"q');
    await bounded('replace-held', b.replaceHeld(consumer, raw, rewritten));
    expect(await a.heldBy(consumer)).toEqual([rewritten]);
    // release-2.lua (a connection with no handle lets go of it): read the tag, then by value.
    await bounded('release', b.ack(consumer, [{ raw: rewritten }]));
    expect(await a.heldBy(consumer)).toEqual([]);
    await a.unregisterConsumer(consumer);
  },
  60_000,
);

test('the tag read is still the last string delivery_tag, also when the last one is not a string', async () => {
  const queue = `q-${randomUUID()}`;
  const consumer = `c-${randomUUID()}`;
  await a.registerConsumer(consumer, 60_000);
  const env = JSON.parse(testMessage('tag.scan', queue).raw);
  // A header holds a string tag; the properties' own (last in the envelope) is a number.
  env.headers.trace = { delivery_tag: 'from-a-header' };
  env.properties.delivery_tag = 7;
  const raw = JSON.stringify(env);
  await a.send([{ queue, priority: 0, raw }]);
  await bounded('fetch', a.fetch(consumer, [queue], 10, 0));
  expect(Object.keys(await redis.hgetall(a.keys.held(consumer)))).toEqual(['from-a-header']);
  await b.ack(consumer, [{ raw }]);
  expect(await a.heldBy(consumer)).toEqual([]);
  await a.unregisterConsumer(consumer);
});
