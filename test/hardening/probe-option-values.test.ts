import { ConfigError } from '../../src';
import { resolveBeatOptions } from '../../src/beat/options';
import { resolveConfig } from '../../src/config';
import { resolveTaskOptions } from '../../src/plugin/options';
import { checkSendOptions } from '../../src/runtime/send-options';
import { resolveWorkerOptions } from '../../src/worker/options';

/**
 * Found from outside (session 8): an option whose value JSON cannot write or a template cannot
 * print — a BigInt (`concurrency: 10n`, what a value read through a BigInt-returning parser
 * gives), a Symbol, an object without a prototype (a query-string or YAML parser's result) —
 * threw a bare TypeError ("Do not know how to serialize a BigInt", "Cannot convert a Symbol
 * value to a string", "Cannot convert object to primitive value") from the code that was
 * building the ConfigError meant to name the option. Each must be that ConfigError.
 */

const cyclic: Record<string, unknown> = {};
cyclic.self = cyclic;
const HOSTILE: [string, () => unknown][] = [
  ['10n', () => 10n],
  ['a Symbol', () => Symbol('x')],
  ['a prototype-less object holding a BigInt', () => Object.assign(Object.create(null) as object, { n: 1n })],
  ['a cyclic object', () => cyclic],
];

const CONFIG_KEYS = [
  'taskModules',
  'schema',
  'tables',
  'keyPrefix',
  'queueMaxPriority',
  'queueType',
  'defaultQueue',
  'resultExpires',
  'trackPending',
  'resultBatchesInFlight',
  'maxPayloadBytes',
  'leaseMs',
  'events',
  'taskSendSentEvent',
  'alwaysEager',
  'eagerPropagates',
  'taskTimeLimit',
  'taskSoftTimeLimit',
  'taskDefaultRateLimit',
  'timezone',
  'logFormat',
  'logLevel',
  'taskSerializer',
  'acceptContent',
  'taskCompression',
];
const WORKER_KEYS = [
  'name',
  'concurrency',
  'pool',
  'prefetchMultiplier',
  'shutdownGraceMs',
  'maxRedeliveries',
  'blockMs',
  'timeLimit',
  'softTimeLimit',
  'queues',
];
const BEAT_KEYS = [
  'name',
  'batchSize',
  'claimAheadMs',
  'maxSleepMs',
  'pollIntervalMs',
  'misfireGraceMs',
  'outboxLeaseMs',
  'heartbeatMs',
  'listen',
  'syncSchedule',
];
const TASK_KEYS = [
  'queue',
  'priority',
  'maxRetries',
  'defaultRetryDelay',
  'retryBackoff',
  'retryBackoffMax',
  'rateLimit',
  'timeLimit',
  'softTimeLimit',
  'expires',
  'serializer',
  'compression',
  'acksLate',
  'ignoreResult',
  'trackStarted',
  'retryJitter',
];
const SEND_KEYS = ['countdown', 'eta', 'expires', 'priority', 'timeLimit', 'softTimeLimit'];

/** No option takes these values: each must be refused, by the ConfigError that names it. */
function refusal(run: () => unknown): unknown {
  try {
    run();
    return 'accepted';
  } catch (err) {
    return err;
  }
}

const cases: [string, string, string, (v: unknown) => unknown][] = [];
for (const k of CONFIG_KEYS)
  cases.push([
    'config',
    k,
    k,
    (v) => resolveConfig({ brokerUrl: 'redis://127.0.0.1:6379/0', databaseUrl: 'postgres://u@h/db', [k]: v }, {}),
  ]);
for (const k of WORKER_KEYS) cases.push(['worker', k, k, (v) => resolveWorkerOptions({ [k]: v }, 'celery')]);
for (const k of BEAT_KEYS) cases.push(['beat', k, k, (v) => resolveBeatOptions({ [k]: v })]);
for (const k of TASK_KEYS) cases.push(['task', k, k, (v) => resolveTaskOptions('t', { [k]: v })]);
for (const k of SEND_KEYS) cases.push(['send', k, `options.${k}`, (v) => checkSendOptions({ [k]: v })]);

describe.each(HOSTILE)('%s', (_label, make) => {
  test.each(cases)('%s option %s: refused by a ConfigError naming it', (_part, _key, named, run) => {
    const out = refusal(() => run(make()));
    expect(out).toBeInstanceOf(ConfigError);
    expect((out as Error).message).toContain(named);
  });
});
