import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';

/**
 * Servers a test may stop and start: never the shared ones on 5432/6379, which other test files
 * (and other developers) use at the same time. Each lives in a temp dir on a port of its own and
 * is removed by `remove()`. Each test file passes a port no other file uses (7101 redis-restart,
 * 7711 redis-away, 7810-7812 the outage-* files, 7931 redis-tag-scan; private-rabbit.ts and
 * private-sentinel.ts have theirs).
 */

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A persistent Redis (AOF, fsync on every write), so a restart keeps everything that was acknowledged. */
export class PrivateRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'celeriac-redis-'));
  private proc: ChildProcess | undefined;

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    this.proc = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--protected-mode',
        'no',
      ],
      { stdio: 'ignore' },
    );
    await until(`redis on ${this.port}`, async () => {
      const r = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => {});
      try {
        await r.connect();
        return (await r.ping()) === 'PONG';
      } finally {
        r.disconnect();
      }
    });
  }

  /** SIGTERM: Redis writes its AOF and exits, as a service manager's restart would. */
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }

  async remove(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc!.once('exit', r));
      this.proc.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A Postgres cluster of its own (initdb + pg_ctl as user postgres), trust auth, database `test`. */
export class PrivatePostgres {
  readonly dir = mkdtempSync(join(tmpdir(), 'celeriac-pg-'));

  constructor(readonly port: number) {
    const { uid, gid } = postgresUser();
    chownSync(this.dir, uid, gid);
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/test`;
  }

  get logFile(): string {
    return join(this.dir, 'server.log');
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  async init(): Promise<void> {
    asPostgres(`${PG_BIN}/initdb`, ['-D', join(this.dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
    await this.start();
    const c = new Client({ connectionString: `postgres://postgres@127.0.0.1:${this.port}/postgres` });
    await c.connect();
    await c.query('CREATE DATABASE test');
    await c.end();
  }

  async start(): Promise<void> {
    asPostgres(`${PG_BIN}/pg_ctl`, [
      '-D',
      join(this.dir, 'data'),
      '-l',
      this.logFile,
      '-w',
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      'start',
    ]);
    await until(`postgres on ${this.port}`, async () => {
      const c = new Client({ connectionString: `postgres://postgres@127.0.0.1:${this.port}/postgres` });
      await c.connect();
      await c.end();
      return true;
    });
  }

  /** A fast shutdown: open connections are cut, as a service manager's restart would. */
  stop(): void {
    asPostgres(`${PG_BIN}/pg_ctl`, ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']);
  }

  /** An immediate shutdown (as a crash): sessions end without finishing, so no statement waiting on a lock commits on the way out. */
  crash(): void {
    asPostgres(`${PG_BIN}/pg_ctl`, ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  }

  remove(): void {
    try {
      asPostgres(`${PG_BIN}/pg_ctl`, ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    } catch {
      // not running
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

function asPostgres(cmd: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' });
  else execFileSync(cmd, args, { stdio: 'pipe' });
}
