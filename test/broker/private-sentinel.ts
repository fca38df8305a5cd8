import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';

/**
 * A Redis deployment that survives losing a node, of the test's own: a primary, one replica and
 * three sentinels (quorum 2), each a child process in a temp dir on ports of this suite's range
 * (8000-8099), never the shared Redis on 6379. Debian's `redis-sentinel` runs the sentinels.
 *
 * Failure detection is tuned down (down-after 1 s) so a failover completes in seconds; what the
 * test measures is how Celeriac follows it, not how patient Sentinel is.
 */
export const MASTER_NAME = 'celeriac-ha';

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One short-lived client for the harness itself: no retries, so a dead server answers at once. */
async function ask<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

export class PrivateSentinelSet {
  readonly dir = mkdtempSync(join(tmpdir(), 'celeriac-sentinel-'));
  readonly primaryPort: number;
  readonly replicaPort: number;
  readonly sentinelPorts: number[];
  private readonly procs = new Map<number, ChildProcess>();

  /** Ports base (primary), base+1 (replica), base+11..13 (sentinels). */
  constructor(base: number) {
    this.primaryPort = base;
    this.replicaPort = base + 1;
    this.sentinelPorts = [base + 11, base + 12, base + 13];
  }

  /** kombu's spelling: one sentinel:// URL per sentinel, joined by ';'. */
  get brokerUrl(): string {
    return this.sentinelPorts.map((p) => `sentinel://127.0.0.1:${p}`).join(';');
  }

  async start(): Promise<void> {
    await this.startRedis(this.primaryPort, []);
    await this.startRedis(this.replicaPort, ['--replicaof', '127.0.0.1', String(this.primaryPort)]);
    await until('the replica in sync', () =>
      ask(this.replicaPort, async (r) => /master_link_status:up/.test(await r.info('replication'))),
    );
    for (const port of this.sentinelPorts) {
      // Sentinel rewrites its config file as it learns the topology, so each has its own.
      const conf = join(this.dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `dir ${this.dir}`,
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${this.primaryPort} 2`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
          `sentinel failover-timeout ${MASTER_NAME} 5000`,
          `sentinel parallel-syncs ${MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      this.spawn(port, 'redis-sentinel', [conf]);
    }
    // Ready when every sentinel knows the replica and the two other sentinels: before that a
    // failover could not be agreed on, or would have nothing to promote.
    for (const port of this.sentinelPorts)
      await until(`sentinel ${port} seeing the replica and its peers`, () =>
        ask(port, async (r) => {
          const replicas = (await r.call('SENTINEL', 'REPLICAS', MASTER_NAME)) as string[][];
          const master = (await r.call('SENTINEL', 'MASTER', MASTER_NAME)) as string[];
          const field = (k: string) => master[master.indexOf(k) + 1];
          return replicas.length === 1 && Number(field('num-other-sentinels')) === 2;
        }),
      );
  }

  /** The primary the sentinels name now. */
  async currentPrimaryPort(): Promise<number> {
    for (const port of this.sentinelPorts) {
      try {
        const addr = await ask(port, (r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME));
        return Number((addr as string[])[1]);
      } catch {
        // that sentinel is away: ask the next
      }
    }
    throw new Error('no sentinel answered');
  }

  /**
   * Starts a server that was killed again, as a replica of the current primary, and waits until it
   * is in sync and every sentinel counts it as a healthy replica (they notice it within a few
   * seconds: Sentinel asks the primary for its replicas every 10 s at most).
   */
  async rejoin(port: number): Promise<void> {
    const primary = await this.currentPrimaryPort();
    await this.startRedis(port, ['--replicaof', '127.0.0.1', String(primary)]);
    await until('the rejoined replica in sync', () =>
      ask(port, async (r) => /master_link_status:up/.test(await r.info('replication'))),
    );
    for (const sentinel of this.sentinelPorts)
      await until(
        `sentinel ${sentinel} counting ${port} as a healthy replica`,
        () =>
          ask(sentinel, async (r) => {
            const replicas = (await r.call('SENTINEL', 'REPLICAS', MASTER_NAME)) as string[][];
            return replicas.some((fields) => {
              const field = (k: string) => fields[fields.indexOf(k) + 1];
              return Number(field('port')) === port && !/s_down|disconnected/.test(field('flags'));
            });
          }),
        60_000,
      );
  }

  /** A switchover: the sentinels promote the replica while the primary is still up (it is demoted). */
  async failover(): Promise<void> {
    await ask(this.sentinelPorts[0], (r) => r.call('SENTINEL', 'FAILOVER', MASTER_NAME));
  }

  /** A client straight to a server (not through the sentinels), for the test's own reads. */
  client(port: number): Redis {
    const r = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
    r.on('error', () => {});
    return r;
  }

  /** SIGKILL: no shutdown, nothing flushed, as a lost machine. */
  async kill(port: number): Promise<void> {
    const proc = this.procs.get(port);
    this.procs.delete(port);
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  async remove(): Promise<void> {
    for (const port of [...this.procs.keys()]) await this.kill(port);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async startRedis(port: number, extra: string[]): Promise<void> {
    // No persistence: the replica is the copy, which is the deployment this test is about.
    this.spawn(port, 'redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--dbfilename',
      `dump-${port}.rdb`,
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
      ...extra,
    ]);
    await until(`redis on ${port}`, () => ask(port, async (r) => (await r.ping()) === 'PONG'));
  }

  private spawn(port: number, cmd: string, args: string[]): void {
    const proc = spawn(cmd, args, { stdio: 'ignore' });
    proc.on('error', () => {});
    this.procs.set(port, proc);
  }
}
