import { ConfigError, closest, shown } from '../errors';

/**
 * The broker URL, parsed once (at config time) into what every connection needs. Nothing else
 * reads the URL string: the transport, its connections, beat's send-once and the error messages
 * all take this.
 *
 * Spellings are kombu's, so a Celery project's broker_url works unchanged:
 *   redis://[[user]:password@]host[:port][/db]     rediss:// for TLS
 *   sentinel://[:password@]host:26379[/db];sentinel://host2:26379;…
 *     with the primary's name in transport options (kombu's `master_name`), or `?master_name=`
 *     on the URL (handy where only an environment variable can be set)
 *   amqp://[user:password@]host[:port][/vhost]     RabbitMQ (kombu's pyamqp); amqps:// for TLS
 *   memory://[name]                                one process only: tests and the embedded demo
 */
export type BrokerAddress = MemoryAddress | RedisAddress | AmqpAddress;

export interface AmqpAddress {
  transport: 'amqp';
  /** What amqplib connects with (credentials included: never log it; use description). */
  url: string;
  host: string;
  port: number;
  vhost: string;
  tls: boolean;
  description: string;
}

export interface MemoryAddress {
  transport: 'memory';
  /** The whole URL: brokers of one process with the same URL (and key prefix) are one broker. */
  url: string;
  description: string;
}

export interface RedisAddress {
  transport: 'redis' | 'sentinel';
  db: number;
  username: string | undefined;
  password: string | undefined;
  /** One server to connect to, or the sentinels that name the current primary. */
  server: RedisServer | SentinelServers;
  /** Where the messages go, never the password: for logs, errors and `inspect stats`. */
  description: string;
  /** brokerTransportOptions.waitReplicas: a send returns once this many replicas have it. */
  waitReplicas: { count: number; timeoutMs: number } | undefined;
}

export interface RedisServer {
  host: string;
  port: number;
  /** rediss://; `?ssl_cert_reqs=CERT_NONE` (kombu's spelling) turns certificate checks off. */
  tls: false | { rejectUnauthorized: boolean };
}

export interface SentinelServers {
  sentinels: { host: string; port: number }[];
  masterName: string;
  /** Password of the sentinels themselves (kombu: sentinel_kwargs.password), when they require one. */
  sentinelPassword: string | undefined;
}

/** Celery's broker_transport_options, in Celeriac's casing. Only what a Redis deployment needs today. */
export interface BrokerTransportOptions {
  /** The name the sentinels know the primary by (`sentinel monitor <name> …`; kombu: master_name). */
  masterName?: string;
  /** The sentinels' own password, if they have `requirepass` (kombu: sentinel_kwargs={'password': …}). */
  sentinelPassword?: string;
  /**
   * Redis (redis://, sentinel://): a send returns only once this many replicas have it (Redis
   * `WAIT`), so a failover cannot lose a send that returned. 0 (the default, as kombu): a send
   * returns on the primary's reply, and the last writes before a primary dies may be lost.
   */
  waitReplicas?: number;
  /** How long a send waits for waitReplicas before it fails with NotReplicatedError. Default 1000 ms. */
  waitReplicasTimeoutMs?: number;
}

const STRING_OPTIONS: ReadonlySet<string> = new Set<keyof BrokerTransportOptions>(['masterName', 'sentinelPassword']);
const NUMBER_OPTIONS: ReadonlySet<string> = new Set<keyof BrokerTransportOptions>([
  'waitReplicas',
  'waitReplicasTimeoutMs',
]);
const TRANSPORT_OPTIONS: ReadonlySet<string> = new Set([...STRING_OPTIONS, ...NUMBER_OPTIONS]);
const EXAMPLES =
  'use redis://host:6379/0, rediss://…, sentinel://host:26379;sentinel://host2:26379 (with brokerTransportOptions.masterName), amqp://user:pass@host:5672/vhost, amqps://… or memory://';

/** The AMQP heartbeat (seconds) an amqp:// URL gets when it names none. */
const AMQP_HEARTBEAT_S = 10;

/** Parses and validates; a ConfigError names what is wrong and what would be right. */
export function parseBrokerUrl(url: string, options: BrokerTransportOptions = {}): BrokerAddress {
  if (typeof url !== 'string')
    throw new ConfigError('brokerUrl', `expected a URL string, got ${typeof url}; ${EXAMPLES}`);
  checkTransportOptions(options);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'memory':
      notForRedisOnly(options, 'memory://');
      return { transport: 'memory', url, description: 'memory://' };
    case 'redis':
    case 'rediss':
      return { ...parseRedis(url, scheme === 'rediss'), waitReplicas: waitReplicasOf(options) };
    case 'sentinel':
      return { ...parseSentinel(url, options), waitReplicas: waitReplicasOf(options) };
    case 'amqp':
    case 'amqps':
    case 'pyamqp':
      notForRedisOnly(options, 'RabbitMQ (publisher confirms already mean a send that returned is on disk)');
      return parseAmqp(url, scheme);
    default:
      throw new ConfigError('brokerUrl', `'${redactUrl(url)}' is not supported: ${EXAMPLES}`);
  }
}

function waitReplicasOf(options: BrokerTransportOptions): RedisAddress['waitReplicas'] {
  if (!options.waitReplicas) {
    if (options.waitReplicasTimeoutMs !== undefined)
      throw new ConfigError(
        'brokerTransportOptions.waitReplicasTimeoutMs',
        'has no effect without waitReplicas: set waitReplicas to the number of replicas a send must reach, or drop it',
      );
    return undefined;
  }
  return { count: options.waitReplicas, timeoutMs: options.waitReplicasTimeoutMs ?? 1000 };
}

function notForRedisOnly(options: BrokerTransportOptions, where: string): void {
  for (const key of ['waitReplicas', 'waitReplicasTimeoutMs'] as const)
    if (options[key] !== undefined)
      throw new ConfigError(
        `brokerTransportOptions.${key}`,
        `is a Redis option (redis://, sentinel://) and does not apply to ${where}: remove it`,
      );
}

function parseRedis(url: string, secure: boolean): Omit<RedisAddress, 'waitReplicas'> {
  const parsed = parseUrl(url);
  const host = parsed.hostname || '127.0.0.1';
  const port = portOf(url, parsed, 6379);
  const db = dbOf(url, parsed);
  let rejectUnauthorized = true;
  for (const [key, value] of parsed.searchParams) {
    if (secure && key === 'ssl_cert_reqs') rejectUnauthorized = !/^(CERT_)?NONE$/i.test(value);
    else
      throw new ConfigError(
        'brokerUrl',
        `unknown option '${key}' in '${redactUrl(url)}'${secure ? ': the only one is ssl_cert_reqs' : ': redis:// URLs take none'}`,
      );
  }
  const tls = secure ? { rejectUnauthorized } : (false as const);
  return {
    transport: 'redis',
    db,
    username: percentDecoded('brokerUrl', url, parsed.username, 'user name') || undefined,
    password: percentDecoded('brokerUrl', url, parsed.password, 'password') || undefined,
    server: { host, port, tls },
    description: `${secure ? 'rediss' : 'redis'}://${host}:${port}/${db}`,
  };
}

/**
 * kombu's pyamqp URL: the path is the vhost ('/' when empty, as kombu; `%2F` spells '/' too),
 * guest:guest when no user is given. `pyamqp://` is Celery's explicit spelling of the same thing.
 */
function parseAmqp(url: string, scheme: string): AmqpAddress {
  const parsed = parseUrl(url);
  const tls = scheme === 'amqps';
  const host = parsed.hostname || '127.0.0.1';
  const port = portOf(url, parsed, tls ? 5671 : 5672);
  const vhost = percentDecoded('brokerUrl', url, parsed.pathname.replace(/^\//, ''), 'vhost') || '/';
  for (const [key] of parsed.searchParams)
    if (key !== 'heartbeat' && key !== 'frameMax' && key !== 'channelMax' && key !== 'locale')
      throw new ConfigError(
        'brokerUrl',
        `unknown option '${key}' in '${redactUrl(url)}': amqp:// URLs take heartbeat, frameMax, channelMax and locale`,
      );
  const user = percentDecoded('brokerUrl', url, parsed.username, 'user name') || 'guest';
  const password = parsed.username ? percentDecoded('brokerUrl', url, parsed.password, 'password') : 'guest';
  const connect = new URL(`${tls ? 'amqps' : 'amqp'}://${host.includes(':') ? `[${host}]` : host}:${port}`);
  connect.username = encodeURIComponent(user);
  connect.password = encodeURIComponent(password);
  connect.pathname = '/' + encodeURIComponent(vhost);
  connect.search = parsed.search;
  // AMQP heartbeats, so a peer that vanished without closing its socket is noticed.
  if (!connect.searchParams.has('heartbeat')) connect.searchParams.set('heartbeat', String(AMQP_HEARTBEAT_S));
  return {
    transport: 'amqp',
    url: connect.toString(),
    host,
    port,
    vhost,
    tls,
    description: `${tls ? 'amqps' : 'amqp'}://${host}:${port}/${vhost === '/' ? '' : vhost}`,
  };
}

/**
 * kombu's sentinel spelling: one `sentinel://` URL per sentinel, joined by ';'. The password and
 * db are the primary's, taken from the first URL that gives them (kombu reads them per URL and
 * they are the same in practice); the query may carry master_name.
 */
function parseSentinel(url: string, options: BrokerTransportOptions): Omit<RedisAddress, 'waitReplicas'> {
  const parts = url
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean);
  const sentinels: { host: string; port: number }[] = [];
  let username: string | undefined;
  let password: string | undefined;
  let db: number | undefined;
  let queryMaster: string | undefined;
  for (const part of parts) {
    if (!/^sentinel:\/\//i.test(part))
      throw new ConfigError(
        'brokerUrl',
        `'${redactUrl(part)}' in a sentinel URL list: every entry must be sentinel://host:port, joined by ';'`,
      );
    const parsed = parseUrl(part);
    if (!parsed.hostname)
      throw new ConfigError('brokerUrl', `'${redactUrl(part)}' names no sentinel host: use sentinel://host:26379`);
    sentinels.push({ host: parsed.hostname, port: portOf(part, parsed, 26379) });
    username ??= percentDecoded('brokerUrl', part, parsed.username, 'user name') || undefined;
    password ??= percentDecoded('brokerUrl', part, parsed.password, 'password') || undefined;
    if (parsed.pathname && parsed.pathname !== '/') db ??= dbOf(part, parsed);
    for (const [key, value] of parsed.searchParams) {
      if (key === 'master_name' || key === 'masterName') queryMaster = value;
      else
        throw new ConfigError(
          'brokerUrl',
          `unknown sentinel URL option '${key}' in '${redactUrl(part)}': the only one is master_name (or pass brokerTransportOptions)`,
        );
    }
  }
  if (queryMaster !== undefined && options.masterName !== undefined && queryMaster !== options.masterName)
    throw new ConfigError(
      'brokerTransportOptions.masterName',
      `'${options.masterName}' differs from master_name '${queryMaster}' in the broker URL: give it in one place`,
    );
  const masterName = options.masterName ?? queryMaster;
  if (!masterName)
    throw new ConfigError(
      'brokerTransportOptions.masterName',
      `a sentinel:// broker needs the primary's name as the sentinels know it: pass brokerTransportOptions: { masterName: 'mymaster' } (Celery: broker_transport_options={'master_name': 'mymaster'}) or add ?master_name=mymaster to the URL`,
    );
  const dbNumber = db ?? 0;
  return {
    transport: 'sentinel',
    db: dbNumber,
    username,
    password,
    server: { sentinels, masterName, sentinelPassword: options.sentinelPassword },
    description: `sentinel://${sentinels.map((s) => `${s.host}:${s.port}`).join(',')}/${masterName}/${dbNumber}`,
  };
}

function checkTransportOptions(options: BrokerTransportOptions): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new ConfigError('brokerTransportOptions', `expected an object such as { masterName: 'mymaster' }`);
  for (const [key, value] of Object.entries(options)) {
    if (!TRANSPORT_OPTIONS.has(key)) {
      // kombu users write master_name; point them at the camel-cased key.
      const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
      const hint = TRANSPORT_OPTIONS.has(camel) ? camel : closest(key, TRANSPORT_OPTIONS);
      throw new ConfigError(
        `brokerTransportOptions.${key}`,
        `unknown transport option${hint ? ` (did you mean '${hint}'?)` : ''}; known: ${[...TRANSPORT_OPTIONS].join(', ')}`,
      );
    }
    if (value === undefined) continue;
    if (STRING_OPTIONS.has(key) && (typeof value !== 'string' || value === ''))
      throw new ConfigError(`brokerTransportOptions.${key}`, `expected a non-empty string, got ${shown(value)}`);
    const least = key === 'waitReplicas' ? 0 : 1;
    if (NUMBER_OPTIONS.has(key) && !(Number.isInteger(value) && (value as number) >= least))
      throw new ConfigError(
        `brokerTransportOptions.${key}`,
        `expected an integer ≥ ${least}, got ${shown(value)}` +
          (key === 'waitReplicas' ? ' (the number of replicas a send must reach, e.g. 1)' : ' (milliseconds)'),
      );
  }
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new ConfigError('brokerUrl', `'${redactUrl(url)}' is not a valid URL; ${EXAMPLES}`);
  }
}

function portOf(raw: string, parsed: URL, fallback: number): number {
  if (!parsed.port) return fallback;
  const port = Number(parsed.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new ConfigError('brokerUrl', `'${redactUrl(raw)}' has port ${parsed.port}: use 1-65535`);
  return port;
}

function dbOf(raw: string, parsed: URL): number {
  const path = parsed.pathname.replace(/^\//, '');
  if (path === '') return 0;
  if (!/^\d{1,5}$/.test(path))
    throw new ConfigError(
      'brokerUrl',
      `'${redactUrl(raw)}' names database '${path}': the path is a Redis database number, e.g. /0`,
    );
  return Number(path);
}

/**
 * A URL's user name, password or path, percent-decoded. A bare '%' (a password such as `100%`;
 * Python's urllib, hence kombu, leaves one alone) would otherwise surface as a URIError naming
 * neither the option nor the fix.
 */
export function percentDecoded(option: string, url: string, text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ConfigError(
      option,
      `the ${what} in '${redactUrl(url)}' has a '%' that does not start percent-encoding: write a literal '%' as %25 (encodeURIComponent does it)`,
    );
  }
}

/**
 * Never let a password reach a log line, an error message or the `conf` reply. The password runs
 * to the authority's last '@' (as WHATWG URL and pg read it: `p@ss` and `a;b` are passwords), and
 * libpq-style URLs may carry it in the query (`?password=`, `?sslpassword=`). It crosses a single
 * '/', a '?' and a '#' (unencoded, each breaks the URL, whose error then quotes it; generated
 * passwords hold them) but never a '//', where the next URL of a sentinel list starts, nor a space,
 * where the text around a quoted URL goes on. An '@' in the path or query is then taken as the
 * password's end too: more is hidden, never less.
 */
export function redactUrl(url: string): string {
  return url
    .replace(/\/\/([^:@/\s]*):(?:[^/\s]|\/(?!\/))*@/g, '//$1:***@')
    .replace(/([?&](?:ssl)?password=)[^&#\s]*/gi, '$1***');
}
