import type { DataSource } from 'typeorm';
import { ConfigError, closest, quoted, shown } from './errors';
import type { Logger, LogFormat, LogLevel } from './log';
import { MessageSigner, type SigningOptions } from './broker/signing';
import {
  parseBrokerUrl,
  percentDecoded,
  redactUrl,
  type BrokerAddress,
  type BrokerTransportOptions,
} from './broker/url';
import { validateQueueArgs } from './broker/amqp/topology';
import { reservedQueueProblem } from './broker/keys';
import { properZoneName } from './beat/schedule/zone-name';
import { timeLimitSeconds } from './time-limit';
import { parseRateLimit, type RateLimit } from './plugin/rate-limit';
import type { BeatSchedule, ResolvedBeatEntry } from './beat/config';
import { resolveSerialOptions, type ResolvedSerialOptions, type SerialOptions } from './broker/serializers/options';
import type { TableMode } from './results/table-mode';
import { checkBatchesInFlight, DEFAULT_BATCHES_IN_FLIGHT } from './results/batches-in-flight';

/** A task route (Celery's task_routes entry): where a task name, or a glob of names, is sent. */
export interface RouteOptions {
  queue?: string;
  priority?: number;
}

const TASK_MODULES = ['auto', 'ts', 'js'] as const;
/** The `taskModules` option: which task modules autodiscovery (plugin/autodiscover.ts) imports. */
export type TaskModules = (typeof TASK_MODULES)[number];

export interface CeleriacOptions extends SerialOptions {
  /** App folders (like Django's INSTALLED_APPS): every tasks.ts / tasks.js inside is imported. */
  apps?: string[];
  /**
   * Which task modules autodiscovery imports: 'ts' (tasks.ts first, for a process that loads
   * TypeScript), 'js' (compiled tasks.js only), or 'auto', decided from the process (a registered
   * .ts loader, or Jest's transform; see plugin/autodiscover.ts). Default: CELERIAC_TASK_MODULES, else 'auto'.
   */
  taskModules?: TaskModules;
  /** Postgres URL for results and schedules. Default: DATABASE_URL. */
  databaseUrl?: string;
  /** Or a TypeORM DataSource the host app already has (not initialised yet, or initialised). */
  dataSource?: DataSource;
  /** Postgres schema for Celeriac's tables. Default: CELERIAC_SCHEMA, else 'public'. */
  schema?: string;
  /**
   * Whose result tables: 'celeriac' (default) or 'django', a Django project's django-celery-results
   * tables in `schema`, written as Python's django-db backend writes them. Default: CELERIAC_TABLES.
   */
  tables?: TableMode;
  /**
   * redis://[:password@]host:port/db, rediss://…, sentinel://host:26379;sentinel://host2:26379 (kombu's
   * spelling) or memory://. Default: CELERIAC_BROKER_URL, else redis://127.0.0.1:6379/0.
   */
  brokerUrl?: string;
  /** Celery's broker_transport_options: for sentinel://, the primary's name ({ masterName: 'mymaster' }); Redis: waitReplicas. */
  brokerTransportOptions?: BrokerTransportOptions;
  /** kombu's global_keyprefix: prefixes every Redis key, so several apps (or test files) share one Redis. Default: CELERIAC_KEY_PREFIX, else ''. */
  keyPrefix?: string;
  /**
   * RabbitMQ: declare task queues with `x-max-priority` (Celery's task_queue_max_priority), so a
   * message's AMQP priority counts (higher first). Every app sharing a queue must agree.
   */
  queueMaxPriority?: number;
  /** RabbitMQ: 'classic' (default, as kombu) or 'quorum' (replicated; no priorities). */
  queueType?: 'classic' | 'quorum';
  /** Queue a task goes to when neither its options nor a route name one (Celery's task_default_queue). */
  defaultQueue?: string;
  /** Task routes: task name or glob (`reports.*`) → queue and priority. */
  routes?: Record<string, RouteOptions>;
  /** The queues that exist (Celery's task_queues). When given, a route naming another queue is a config error. */
  queues?: string[];
  /** Seconds a finished task's result is kept; the built-in cleanup task deletes older ones. Default 86400 (one day), as Celery. */
  resultExpires?: number;
  /** Sign sent messages, and refuse unsigned or forged ones in workers. Off by default. */
  signing?: SigningOptions;
  /** Record PENDING in the result table when a task is sent. Default true. */
  trackPending?: boolean;
  /**
   * Result batches a process writes to Postgres at once, each on its own pooled connection (1–8).
   * Default 1 (one batch at a time). A task's states always commit in the order written.
   */
  resultBatchesInFlight?: number;
  /** Largest encoded message accepted by send, in bytes. Default 1 MiB. */
  maxPayloadBytes?: number;
  /** How long a worker may go silent before its tasks are given to another worker. Default 5000 ms. */
  leaseMs?: number;
  /** Publish task and worker events on Redis. Default true. */
  events?: boolean;
  /**
   * Celery's task_send_sent_event: the sender publishes a `task-sent` event for each task it sends
   * (Flower counts them). Default false, as in Celery.
   */
  taskSendSentEvent?: boolean;
  /**
   * Celery's task_always_eager: delay(), applyAsync(), sendTask() and work-flows run in this process
   * at once (as task.apply()) and resolve to an EagerResult; no broker or database is used. For tests.
   */
  alwaysEager?: boolean;
  /** Celery's task_eager_propagates: an eager run throws the task's own error instead of recording FAILURE only. */
  eagerPropagates?: boolean;
  /** Celery's task_time_limit: the hard limit, in seconds, of every task that sets none (a worker's timeLimit comes first). */
  taskTimeLimit?: number;
  /** Celery's task_soft_time_limit: the soft limit, in seconds, of every task that sets none. */
  taskSoftTimeLimit?: number;
  /** Celery's task_default_rate_limit ('10/s', '100/m', '1000/h'): per worker, for every task that sets none. */
  taskDefaultRateLimit?: string;
  /** Default time zone for crontab schedules declared without one. Default 'UTC'. */
  timezone?: string;
  /** Periodic tasks declared in code (Celery's beat_schedule), synced into the beat tables when a beat starts. */
  beatSchedule?: BeatSchedule;
  /** Where log lines go instead of stdout/stderr (then logLevel and logFormat are the logger's business). */
  logger?: Logger;
  /** 'text' (default) or 'json' (one object per line). Default: CELERIAC_LOG_FORMAT, else 'text'. */
  logFormat?: LogFormat;
  /** Lowest level written: 'debug', 'info' (default: a line per task state), 'warn' or 'error'. Default: CELERIAC_LOG_LEVEL, else 'info'. */
  logLevel?: LogLevel;
}

export interface ResolvedConfig extends ResolvedSerialOptions {
  apps: string[];
  taskModules: TaskModules;
  databaseUrl: string | undefined;
  dataSource: DataSource | undefined;
  schema: string;
  tables: TableMode;
  brokerUrl: string;
  /** The broker URL and transport options, parsed: what every connection is opened from. */
  broker: BrokerAddress;
  queueMaxPriority: number | null;
  queueType: 'classic' | 'quorum';
  keyPrefix: string;
  defaultQueue: string;
  routes: Record<string, RouteOptions>;
  queues: string[] | undefined;
  resultExpires: number;
  signing: SigningOptions | undefined;
  trackPending: boolean;
  resultBatchesInFlight: number;
  maxPayloadBytes: number;
  leaseMs: number;
  events: boolean;
  taskSendSentEvent: boolean;
  alwaysEager: boolean;
  eagerPropagates: boolean;
  taskTimeLimit: number | undefined;
  taskSoftTimeLimit: number | undefined;
  taskDefaultRateLimit: RateLimit | undefined;
  timezone: string;
  /** undefined when the option was not given: then beat leaves code-declared rows alone. */
  beatSchedule: ResolvedBeatEntry[] | undefined;
  logger: Logger | undefined;
  logFormat: LogFormat;
  logLevel: LogLevel;
}

const defaults = {
  schema: 'public',
  keyPrefix: '',
  defaultQueue: 'celery',
  trackPending: true,
  maxPayloadBytes: 1024 * 1024,
  leaseMs: 5000,
  events: true,
  timezone: 'UTC',
  logFormat: 'text',
  logLevel: 'info',
} satisfies Partial<ResolvedConfig>;

const knownKeys: ReadonlySet<string> = new Set<keyof CeleriacOptions>([
  'apps',
  'taskModules',
  'databaseUrl',
  'dataSource',
  'schema',
  'tables',
  'brokerUrl',
  'brokerTransportOptions',
  'keyPrefix',
  'queueMaxPriority',
  'queueType',
  'defaultQueue',
  'routes',
  'queues',
  'resultExpires',
  'signing',
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
  'beatSchedule',
  'logger',
  'logFormat',
  'logLevel',
  'taskSerializer',
  'acceptContent',
  'taskCompression',
  'security',
]);

/** Validates the options once, at construction; nothing later re-checks them. */
export function resolveConfig(options: CeleriacOptions, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('options', `expected an object, got ${typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (!knownKeys.has(key)) {
      const hint = closest(key, knownKeys);
      throw new ConfigError(key, `unknown option${hint ? ` (did you mean '${hint}'?)` : ''}`);
    }
  }
  const apps = options.apps ?? [];
  if (!Array.isArray(apps) || apps.some((a) => typeof a !== 'string' || a === '')) {
    throw new ConfigError(
      'apps',
      "expected an array of folder paths relative to the module that creates the app, e.g. ['./reports']",
    );
  }
  const taskModules =
    options.taskModules ?? ((env.CELERIAC_TASK_MODULES || undefined) as TaskModules | undefined) ?? 'auto';
  if (!TASK_MODULES.includes(taskModules))
    throw new ConfigError(
      options.taskModules === undefined ? 'CELERIAC_TASK_MODULES' : 'taskModules',
      `${quoted(taskModules)}: use 'ts' (import tasks.ts; the process loads TypeScript), 'js' (compiled tasks.js only) or 'auto' (decided from the process)`,
    );
  const brokerUrl = options.brokerUrl ?? env.CELERIAC_BROKER_URL ?? 'redis://127.0.0.1:6379/0';
  const broker = parseBrokerUrl(brokerUrl, options.brokerTransportOptions);
  const { maxPriority: queueMaxPriority, queueType } = validateQueueArgs({
    maxPriority: options.queueMaxPriority ?? null,
    queueType: options.queueType ?? 'classic',
  });
  const databaseUrl = options.databaseUrl ?? env.DATABASE_URL;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      'databaseUrl',
      `'${redactUrl(databaseUrl)}' is not a Postgres URL: use postgres://user:pass@host:5432/db`,
    );
  }
  if (databaseUrl !== undefined) checkDatabaseCredentials(databaseUrl);
  const schema = options.schema ?? (env.CELERIAC_SCHEMA || undefined) ?? defaults.schema;
  if (typeof schema !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigError(
      options.schema === undefined ? 'CELERIAC_SCHEMA' : 'schema',
      `${quoted(schema)} is not a plain lower-case identifier (letters, digits, _)`,
    );
  }
  const tables = options.tables ?? ((env.CELERIAC_TABLES || undefined) as TableMode | undefined) ?? 'celeriac';
  if (tables !== 'celeriac' && tables !== 'django')
    throw new ConfigError(
      options.tables === undefined ? 'CELERIAC_TABLES' : 'tables',
      `${quoted(tables)}: use 'celeriac' (Celeriac's own tables) or 'django' (a Django project's django-celery-results tables)`,
    );
  const queues = options.queues;
  if (queues !== undefined) {
    if (!Array.isArray(queues) || queues.length === 0)
      throw new ConfigError('queues', 'expected a non-empty array of queue names, e.g. ["celery", "emails"]');
    queues.forEach((q, i) => requireName(`queues[${i}]`, q));
  }
  const routes = options.routes ?? {};
  for (const [pattern, route] of Object.entries(routes)) {
    if (!route || typeof route !== 'object')
      throw new ConfigError(`routes['${pattern}']`, 'expected { queue?, priority? }');
    for (const k of Object.keys(route))
      if (k !== 'queue' && k !== 'priority')
        throw new ConfigError(`routes['${pattern}'].${k}`, "unknown route option: use 'queue' and 'priority'");
    if (route.queue !== undefined) requireName(`routes['${pattern}'].queue`, route.queue);
    if (route.priority !== undefined) requirePriority(`routes['${pattern}'].priority`, route.priority);
    if (route.queue !== undefined && queues && !queues.includes(route.queue)) {
      const hint = closest(route.queue, queues);
      throw new ConfigError(
        `routes['${pattern}'].queue`,
        `'${route.queue}' is not one of the declared queues (${queues.join(', ')})${hint ? `; did you mean '${hint}'?` : ''}`,
      );
    }
  }
  const logFormat = options.logFormat ?? (env.CELERIAC_LOG_FORMAT as LogFormat | undefined) ?? defaults.logFormat;
  if (logFormat !== 'text' && logFormat !== 'json')
    throw new ConfigError(
      options.logFormat === undefined ? 'CELERIAC_LOG_FORMAT' : 'logFormat',
      `${quoted(logFormat)}: use 'text' or 'json'`,
    );
  const logLevel =
    options.logLevel ?? (env.CELERIAC_LOG_LEVEL?.toLowerCase() as LogLevel | undefined) ?? defaults.logLevel;
  if (!logLevels.includes(logLevel))
    throw new ConfigError(
      options.logLevel === undefined ? 'CELERIAC_LOG_LEVEL' : 'logLevel',
      `${quoted(logLevel)}: use one of ${logLevels.map((l) => `'${l}'`).join(', ')}`,
    );
  const defaultQueue = options.defaultQueue ?? defaults.defaultQueue;
  requireName('defaultQueue', defaultQueue);
  if (queues && !queues.includes(defaultQueue))
    throw new ConfigError('defaultQueue', `'${defaultQueue}' is not one of the declared queues (${queues.join(', ')})`);
  if (options.signing !== undefined) {
    const signing: unknown = options.signing;
    // `signing: process.env.SIGNING_KEY` (the secret itself) threw a TypeError from the `in` check.
    if (signing === null || typeof signing !== 'object' || Array.isArray(signing))
      throw new ConfigError(
        'signing',
        `expected { secret } (a random string of at least 32 characters) or { privateKey, publicKeys }, got ${signing === null ? 'null' : Array.isArray(signing) ? 'an array' : typeof signing}`,
      );
    new MessageSigner(options.signing); // validates secret or keys now, not at the first send
  }
  const keyPrefix: unknown = options.keyPrefix ?? env.CELERIAC_KEY_PREFIX ?? defaults.keyPrefix;
  if (typeof keyPrefix !== 'string')
    throw new ConfigError(
      'keyPrefix',
      `expected a string such as 'myapp:' (every Redis key starts with it), got ${typeof keyPrefix}`,
    );
  const timezone = checkTimezone(options.timezone ?? defaults.timezone);
  return {
    apps,
    taskModules,
    databaseUrl,
    dataSource: options.dataSource,
    schema,
    tables,
    brokerUrl,
    broker,
    keyPrefix,
    queueMaxPriority,
    queueType,
    defaultQueue,
    routes,
    queues,
    resultExpires: positiveInt('resultExpires', options.resultExpires, 86_400),
    signing: options.signing,
    trackPending: bool('trackPending', options.trackPending, defaults.trackPending),
    resultBatchesInFlight: batchesInFlight(options.resultBatchesInFlight),
    maxPayloadBytes: positiveInt('maxPayloadBytes', options.maxPayloadBytes, defaults.maxPayloadBytes),
    leaseMs: positiveInt('leaseMs', options.leaseMs, defaults.leaseMs),
    events: bool('events', options.events, defaults.events),
    taskSendSentEvent: bool('taskSendSentEvent', options.taskSendSentEvent, false),
    alwaysEager: bool('alwaysEager', options.alwaysEager, false),
    eagerPropagates: bool('eagerPropagates', options.eagerPropagates, false),
    taskTimeLimit: timeLimitSeconds('taskTimeLimit', options.taskTimeLimit),
    taskSoftTimeLimit: timeLimitSeconds('taskSoftTimeLimit', options.taskSoftTimeLimit),
    taskDefaultRateLimit:
      options.taskDefaultRateLimit === undefined
        ? undefined
        : parseRateLimit('taskDefaultRateLimit', options.taskDefaultRateLimit),
    timezone,
    beatSchedule:
      options.beatSchedule === undefined
        ? undefined
        : // Required only here: schedule validation loads luxon and cron-parser, which an app without
          // a beatSchedule (and every worker of one) never needs.
          (require('./beat/config') as typeof import('./beat/config')).resolveBeatSchedule(
            options.beatSchedule,
            timezone,
          ),
    logger: options.logger,
    logFormat,
    logLevel,
    ...resolveSerialOptions(options),
  };
}

const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

function batchesInFlight(value: unknown): number {
  try {
    return checkBatchesInFlight('resultBatchesInFlight', value ?? DEFAULT_BATCHES_IN_FLIGHT);
  } catch (err) {
    throw new ConfigError('resultBatchesInFlight', (err as Error).message.replace(/^resultBatchesInFlight: /, ''));
  }
}

function bool(key: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigError(key, `expected true or false, got ${shown(value)}`);
  return value;
}

function positiveInt(key: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(key, `expected a positive integer, got ${shown(value)}`);
  }
  return value;
}

export function requireName(key: string, value: unknown): void {
  if (typeof value !== 'string' || !/^[\w.:@-]{1,200}$/.test(value)) {
    throw new ConfigError(
      key,
      `${shown(value)} is not a valid queue name: use 1-200 letters, digits, '.', '_', '-', ':' or '@'`,
    );
  }
  const reserved = reservedQueueProblem(value);
  if (reserved) throw new ConfigError(key, reserved);
}

export function requirePriority(key: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 9) {
    throw new ConfigError(
      key,
      `${shown(value)} is not a priority: use an integer 0-9 (0 runs first, as on Celery's Redis transport)`,
    );
  }
}

/**
 * TypeORM percent-decodes the URL's user and password strictly when the DataSource is built: a
 * bare '%' threw a URIError from the first migrate() or query, naming nothing. Checked here, up
 * front, as the broker URL's are.
 */
function checkDatabaseCredentials(databaseUrl: string): void {
  const authority = databaseUrl.replace(/^postgres(ql)?:\/\//, '').split(/[/?#]/)[0];
  const at = authority.lastIndexOf('@');
  if (at < 0) return;
  const [user, ...password] = authority.slice(0, at).split(':');
  percentDecoded('databaseUrl', databaseUrl, user, 'user name');
  percentDecoded('databaseUrl', databaseUrl, password.join(':'), 'password');
}

/**
 * The zone crontabs without their own are in. Checked here: an unknown one was taken and every
 * cron-string schedule failed later, each naming its own field. A mis-cased name (Intl takes any
 * case) becomes its proper one, which Python's zoneinfo also knows.
 */
function checkTimezone(zone: unknown): string {
  if (typeof zone === 'string' && zone !== '') {
    try {
      return properZoneName(zone);
    } catch {
      // not a zone Intl knows: refused below
    }
  }
  const shown = typeof zone === 'string' ? `'${zone.slice(0, 80)}'` : typeof zone;
  throw new ConfigError('timezone', `${shown} is not a time zone: use an IANA name such as Europe/Berlin or UTC`);
}

export { redactUrl };
