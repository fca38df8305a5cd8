import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { REDIS_URL } from './helpers';

const run = promisify(execFile);

/**
 * The transports the parametrised suites run on: `TEST_BROKERS=redis,amqp` (the default: both).
 * Suites use `describe.each(TEST_BROKERS)` and take their broker URL from `testBroker()`, so one
 * test body checks the same behaviour on Redis and on RabbitMQ.
 */
export type BrokerKind = 'redis' | 'amqp';
export const TEST_BROKERS: BrokerKind[] = (process.env.TEST_BROKERS ?? 'redis,amqp')
  .split(',')
  .map((s) => s.trim())
  .filter((s): s is BrokerKind => s === 'redis' || s === 'amqp');

export const AMQP_BASE = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export interface TestBroker {
  kind: BrokerKind;
  brokerUrl: string;
  /** For amqp: the vhost of this test file, deleted by dispose(). */
  vhost?: string;
  dispose(): Promise<void>;
}

/**
 * A broker of its own for one test file. Redis: the shared server (files isolate by key prefix,
 * see isolation()). RabbitMQ: a fresh vhost, since the pidbox and event exchanges are vhost-wide
 * and another file's workers would answer this file's broadcasts; deleted with everything in it.
 */
export async function testBroker(kind: BrokerKind, label: string): Promise<TestBroker> {
  if (kind === 'redis') return { kind, brokerUrl: REDIS_URL, dispose: async () => {} };
  const vhost = `t_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  // One rabbitmqctl run instead of two (add_vhost, set_permissions): each starts an Erlang VM,
  // which takes seconds on a busy machine.
  const bin = (s: string) => `<<"${s}">>`;
  await rabbitmqctl(
    'eval',
    `rabbit_vhost:add(${bin(vhost)}, ${bin('celeriac-tests')}), ` +
      `rabbit_auth_backend_internal:set_permissions(${bin('guest')}, ${bin(vhost)}, ${bin('.*')}, ${bin('.*')}, ${bin('.*')}, ${bin('celeriac-tests')}).`,
  );
  return {
    kind,
    vhost,
    brokerUrl: `${AMQP_BASE}/${vhost}`,
    dispose: () => rabbitmqctl('delete_vhost', vhost).then(() => {}),
  };
}

export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', ['-q', ...args], { timeout: 60_000 });
  return stdout;
}
