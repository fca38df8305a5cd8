import Redis, { type RedisOptions } from 'ioredis';
import { BrokerUnavailableError, ConfigError, NotReplicatedError } from '../errors';
import { Keys } from './keys';
import { defineScripts } from './redis-scripts';
import { redactUrl, type RedisAddress } from './url';

/**
 * Every Redis connection Celeriac opens, with one set of options. A broker opens a few kinds,
 * which differ only in how long a command may wait for a lost connection:
 * - `command`: the shared one. A producer should hear promptly that Redis is down rather than
 *   wait in an offline queue (2 retries); workers and beat loop and retry on their own.
 * - `blocking`: one per blocking fetch or reply wait (BLMOVE, BRPOP would hold up every other
 *   command on a shared connection). One retry: the caller loops.
 * - `subscriber`: pub/sub. Never gives up: a subscription must outlive any outage, and ioredis
 *   re-subscribes on reconnect.
 *
 * With Sentinel, every kind asks the sentinels for the current primary on each (re)connect, so a
 * failover is followed by every connection on its own.
 */
export type ConnectionRole = 'command' | 'blocking' | 'subscriber';

const RETRIES: Record<ConnectionRole, number | null> = { command: 2, blocking: 1, subscriber: null };

export function redisOptions(address: RedisAddress, keyPrefix: string, role: ConnectionRole): RedisOptions {
  const options: RedisOptions = {
    lazyConnect: role === 'command',
    connectTimeout: 3000,
    // Named so operators (and tests) can tell Celeriac's connections apart in CLIENT LIST.
    connectionName: `celeriac${keyPrefix ? ':' + keyPrefix.replace(/[^\w:.-]/g, '_') : ''}`,
    maxRetriesPerRequest: RETRIES[role],
    // Jittered, so a fleet of workers does not reconnect in step after an outage.
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 3000) + Math.floor(Math.random() * 100),
    db: address.db,
    username: address.username,
    password: address.password,
  };
  const server = address.server;
  if ('sentinels' in server) {
    Object.assign(options, {
      sentinels: server.sentinels,
      name: server.masterName,
      role: 'master',
      sentinelPassword: server.sentinelPassword,
      sentinelRetryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 3000),
      // Subscribes to +switch-master on a sentinel, so a failover is noticed when it happens,
      // not when a command to the old primary times out. Its sentinel connections retry like ours
      // (ioredis' default waits a minute), so a restarted sentinel is watched again promptly.
      failoverDetector: true,
      sentinelReconnectStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 3000),
      // A primary demoted under us (it came back as a replica) refuses writes with READONLY:
      // reconnect, which asks the sentinels again, and resend the command.
      reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
    } satisfies RedisOptions);
  } else {
    options.host = server.host;
    options.port = server.port;
    if (server.tls) options.tls = { rejectUnauthorized: server.tls.rejectUnauthorized };
  }
  return options;
}

/** A connection of the given kind. Errors surface through the commands that fail, which name the host. */
export function openRedis(address: RedisAddress, keyPrefix: string, role: ConnectionRole): Redis {
  const redis = new Redis(redisOptions(address, keyPrefix, role));
  redis.on('error', () => {});
  if ('sentinels' in address.server) redis.on('end', () => stopFailoverDetector(redis));
  return redis;
}

/**
 * ioredis (6.0) starts the failover detector when the primary's socket connects, even if the
 * connection was closed while it was connecting (a worker stopping mid-reconnect): the detector's
 * sentinel clients then outlive the connection and retry for ever. A connection that ended for
 * good stops its detector.
 */
function stopFailoverDetector(redis: Redis): void {
  const connector = (redis as unknown as { connector?: { failoverDetector?: { cleanup(): void } | null } }).connector;
  connector?.failoverDetector?.cleanup();
}

/** Messages of the errors that mean "no server answered", as opposed to a command Redis refused. */
const UNAVAILABLE =
  /ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|Connection is closed|max retries|Stream isn't writeable|EPIPE|ECONNRESET|All sentinels are unreachable|READONLY|LOADING/i;

/**
 * What the parts of a Redis broker share: the address, the key names, the shared command
 * connection (with every Lua script defined on it), and one rule for turning "Redis is not there"
 * into a BrokerUnavailableError that says what to do.
 */
export class RedisLink {
  readonly keys: Keys;
  private cmd: Redis | undefined;
  private connecting: Promise<void> | undefined;

  constructor(
    readonly address: RedisAddress,
    readonly keyPrefix: string,
  ) {
    this.keys = new Keys(keyPrefix, address.db);
  }

  connect(): Promise<void> {
    this.connecting ??= (async () => {
      const redis = openRedis(this.address, this.keyPrefix, 'command');
      defineScripts(redis);
      this.cmd = redis;
      try {
        await redis.connect();
        await this.selectDatabase(redis);
      } catch (err) {
        this.connecting = undefined;
        this.cmd = undefined;
        redis.disconnect();
        throw err instanceof ConfigError ? err : this.unavailable(err);
      }
    })();
    return this.connecting;
  }

  /**
   * ioredis reports a SELECT the server refuses (a db past its `databases`, 16 by default) only as
   * an 'error' event and goes on in database 0: every message would land where another app's
   * workers read. Selecting again, awaited, turns the refusal into an error before anything is sent.
   */
  private async selectDatabase(redis: Redis): Promise<void> {
    const db = this.address.db;
    if (db === 0) return;
    try {
      await redis.select(db);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (!/DB index|invalid DB|SELECT is not allowed/i.test(reason)) throw err;
      throw new ConfigError(
        'brokerUrl',
        `Redis at ${this.address.description} refused database ${db} (${reason}): use a database number the server has (0 to its 'databases' setting minus 1; 0-15 by default)`,
      );
    }
  }

  async close(): Promise<void> {
    const cmd = this.cmd;
    this.cmd = undefined;
    this.connecting = undefined;
    if (cmd) await cmd.quit().catch(() => cmd.disconnect());
  }

  /** The shared command connection. */
  get redis(): Redis {
    if (!this.cmd)
      throw new BrokerUnavailableError(
        `The broker at ${this.address.description} is not connected: call connect() first.`,
      );
    return this.cmd;
  }

  /** A dedicated connection, for a blocking command or for pub/sub. */
  open(role: Exclude<ConnectionRole, 'command'>): Redis {
    return openRedis(this.address, this.keyPrefix, role);
  }

  unavailable(err: unknown): BrokerUnavailableError {
    const reason = err instanceof Error ? err.message : String(err);
    return new BrokerUnavailableError(
      `Redis at ${this.address.description} is unavailable (${redactUrl(reason)}). Nothing was sent; start Redis or fix CELERIAC_BROKER_URL and try again.`,
      { cause: err },
    );
  }

  /**
   * With brokerTransportOptions.waitReplicas: returns once that many replicas have every write
   * this process sent on the command connection so far (Redis WAIT), else throws
   * NotReplicatedError. Redis replicates asynchronously; this is what makes a send that returned
   * survive the primary's death. Without the option it returns at once, as kombu does.
   */
  async replicated(): Promise<void> {
    const wait = this.address.waitReplicas;
    if (!wait) return;
    const acked = await this.run(() => this.redis.wait(wait.count, wait.timeoutMs));
    if (acked < wait.count)
      throw new NotReplicatedError(
        `Redis at ${this.address.description} has the message, but only ${acked} of the ${wait.count} replicas ` +
          `brokerTransportOptions.waitReplicas asks for confirmed it within ${wait.timeoutMs} ms, so losing the primary ` +
          `now could lose it. Check the replicas (INFO replication), lower waitReplicas, or send again (the same task ` +
          `id runs at most twice, never lost).`,
      );
  }

  /** Runs a command; an error that means Redis could not be reached becomes a BrokerUnavailableError. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof BrokerUnavailableError) throw err;
      if (UNAVAILABLE.test(err instanceof Error ? err.message : '')) throw this.unavailable(err);
      throw err;
    }
  }
}
