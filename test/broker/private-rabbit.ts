import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A RabbitMQ node of the test's own (never the shared one on 5672, which other developers' tests
 * use), for tests that kill and restart the broker: its own node name, AMQP and distribution
 * ports (the range 7800-7899 / 25800-25899 is this suite's), data and logs in a temp dir, no plugins.
 * Debian's rabbitmq-server switches to the rabbitmq user, so the dir is handed to it.
 */
export class PrivateRabbit {
  readonly port: number;
  readonly url: string;
  private dir = '';
  private child: ChildProcess | undefined;
  log = '';

  constructor(private readonly slot: number) {
    this.port = 7800 + slot;
    this.url = `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      RABBITMQ_NODENAME: `rabbit-ci-${this.slot}@localhost`,
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(25800 + this.slot),
      RABBITMQ_MNESIA_BASE: join(this.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(this.dir, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: join(this.dir, 'none'),
      RABBITMQ_PID_FILE: join(this.dir, 'pid'),
    };
  }

  /** Start (or start again, on the same data: durable queues and persistent messages survive). */
  async start(timeoutMs = 120_000): Promise<void> {
    if (!this.dir) {
      this.dir = await mkdtemp(join(tmpdir(), `rabbit-ci-${this.slot}-`));
      await writeFile(join(this.dir, 'enabled_plugins'), '[].\n');
      await run('mkdir', ['-p', join(this.dir, 'mnesia'), join(this.dir, 'log')]);
      if (process.getuid?.() === 0) await run('chown', ['-R', 'rabbitmq:rabbitmq', this.dir]);
    }
    const child = spawn('rabbitmq-server', [], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child = child;
    child.stdout!.on('data', (d) => (this.log += d));
    child.stderr!.on('data', (d) => (this.log += d));
    const deadline = Date.now() + timeoutMs;
    while (!(await listening(this.port))) {
      if (/Kernel pid terminated|ERROR: node with name/.test(this.log) || child.exitCode !== null)
        throw new Error(`the private RabbitMQ on ${this.port} did not start:\n${this.log}`);
      if (Date.now() > deadline)
        throw new Error(`the private RabbitMQ on ${this.port} not up in ${timeoutMs} ms:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** SIGKILL the node's Erlang VM (found by its own pid file, so nothing else is touched); wait until its port closes. */
  async kill(): Promise<void> {
    const pid = Number((await readFile(join(this.dir, 'pid'), 'utf8').catch(() => '')).trim());
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // Gone only when its AMQP and distribution ports are closed and epmd has forgotten its name:
    // a node started before that refuses to boot ("distribution port in use by another node").
    const name = `rabbit-ci-${this.slot}`;
    for (;;) {
      const epmd = await run('epmd', ['-names']).then(
        (r) => r.stdout,
        () => '',
      );
      const up = (await listening(this.port)) || (await listening(25800 + this.slot)) || epmd.includes(`name ${name} `);
      if (!up) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await rm(join(this.dir, 'pid'), { force: true });
  }

  async dispose(): Promise<void> {
    if (!this.dir) return;
    await this.kill();
    this.child = undefined;
    await rm(this.dir, { recursive: true, force: true });
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
