import { spawn, type ChildProcess } from 'node:child_process';
import { eventually, REDIS_URL } from '../helpers';

/**
 * Real Celery 5.2.6 (kombu 5.2.4, py-amqp 5.1.1, Debian's /usr/bin/python3) for interop tests, on
 * Redis or RabbitMQ: send_tasks.py runs one request (send, canvas, revoke, inspect, control,
 * events) and prints JSON lines; a `celery worker` runs celery_app.py's tasks. On Redis both sides
 * share the test app's keys through kombu's `global_keyprefix` (= the app's keyPrefix); on RabbitMQ
 * the test file's vhost isolates them. What a Python worker ran is RPUSHed to a Redis list (a side
 * channel for the test, whatever the broker). Every process started here is killed when the test
 * process exits, even if afterAll never runs.
 */
export const PYTHON = '/usr/bin/python3'; // the pyenv python3 on PATH has no celery

/** Every Python process a test file started, killed should jest exit without running afterAll. */
const children = new Set<ChildProcess>();
export const killChildren = () => children.forEach((c) => c.kill('SIGKILL'));
process.once('exit', killChildren);

export function pythonEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...extra };
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  return env;
}

/** A Python process whose stdout JSON lines can be awaited one by one, its whole log kept. */
export class PythonProcess {
  log = '';
  readonly lines: any[] = [];
  exitCode: number | null | undefined = undefined;

  constructor(
    readonly child: ChildProcess,
    lifetimeMs: number,
  ) {
    children.add(child);
    let partial = '';
    child.stdout!.on('data', (d) => {
      this.log += d;
      partial += d;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        try {
          this.lines.push(JSON.parse(line));
        } catch {
          // a log line, not a result
        }
      }
    });
    child.stderr!.on('data', (d) => (this.log += d));
    child.on('exit', (code, signal) => {
      this.exitCode = code ?? (signal ? -1 : null);
      children.delete(child);
    });
    // A process the test forgot (or a hung one) never outlives the test file's budget (0: no bound).
    if (lifetimeMs > 0) setTimeout(() => child.kill('SIGKILL'), lifetimeMs).unref();
  }

  static start(args: string[], cwd: string, env: NodeJS.ProcessEnv, lifetimeMs = 60_000): PythonProcess {
    return new PythonProcess(spawn(PYTHON, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }), lifetimeMs);
  }

  /** The first JSON line matching `pick`, waiting up to timeoutMs. */
  async line<T = any>(pick: (line: any) => boolean, timeoutMs = 20_000): Promise<T> {
    return eventually(
      () => {
        const found = this.lines.find(pick);
        if (found !== undefined) return found as T;
        if (this.exitCode !== undefined) throw new Error(`python exited (${this.exitCode}) without it:\n${this.log}`);
        throw new Error(`no such line from python within ${timeoutMs} ms:\n${this.log}`);
      },
      timeoutMs,
      25,
    );
  }

  /** Resolves once the process exited; its last JSON line (rejects on a non-zero exit). */
  async result(timeoutMs: number): Promise<any> {
    await eventually(
      () => {
        if (this.exitCode === undefined) throw new Error(`python still running after ${timeoutMs} ms:\n${this.log}`);
      },
      timeoutMs,
      25,
    );
    if (this.exitCode !== 0) throw new Error(`python exited with ${this.exitCode}:\n${this.log}`);
    if (this.lines.length === 0) throw new Error(`python printed no JSON:\n${this.log}`);
    return this.lines[this.lines.length - 1];
  }

  async waitForLog(pattern: RegExp | string, timeoutMs = 10_000): Promise<void> {
    await eventually(
      () => {
        if (this.exitCode !== undefined) throw new Error(`python exited early:\n${this.log}`);
        const found = typeof pattern === 'string' ? this.log.includes(pattern) : pattern.test(this.log);
        if (!found) throw new Error(`python's log does not show ${pattern} within ${timeoutMs} ms:\n${this.log}`);
      },
      timeoutMs,
      50,
    );
  }

  /** Warm shutdown (SIGTERM), then SIGKILL after 5 s. */
  async stop(): Promise<void> {
    if (this.exitCode !== undefined) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** A running Celery worker: a PythonProcess whose log is read for assertions. */
export class PythonWorker extends PythonProcess {
  constructor(child: ChildProcess, lifetimeMs = 0) {
    super(child, lifetimeMs);
  }
}

/** The Python side of one test file: celery_app.py on the test's broker, its records in `recordKey`. */
export class PythonSide {
  constructor(
    private readonly dir: string,
    /** The test app's keyPrefix: kombu's global_keyprefix on Redis (unused on RabbitMQ: the vhost isolates). */
    private readonly prefix: string,
    private readonly recordKey: string,
    private readonly brokerUrl: string = REDIS_URL,
  ) {}

  env(): NodeJS.ProcessEnv {
    return pythonEnv({
      INTEROP_BROKER_URL: this.brokerUrl,
      INTEROP_KEY_PREFIX: this.prefix,
      INTEROP_RECORD_URL: REDIS_URL,
      INTEROP_RECORD_KEY: this.recordKey,
    });
  }

  /** send_tasks.py with one JSON request; resolves its last JSON line. Killed after timeoutMs. */
  sendTasks(request: unknown, timeoutMs = 30_000): Promise<any> {
    return this.run(request, timeoutMs).result(timeoutMs);
  }

  /** send_tasks.py left running (an events reader): its JSON lines are awaited as they come. */
  run(request: unknown, lifetimeMs = 30_000): PythonProcess {
    return PythonProcess.start(['send_tasks.py', JSON.stringify(request)], this.dir, this.env(), lifetimeMs);
  }

  /** `celery -A celery_app worker --pool solo -Q <queue> -n <name>@%h`, ready to take tasks. */
  async startWorker(queue: string, name = 'py-interop', lifetimeMs = 90_000): Promise<PythonWorker> {
    const args = [
      '-m',
      'celery',
      '-A',
      'celery_app',
      'worker',
      '--pool',
      'solo',
      '-Q',
      queue,
      '-n',
      `${name}@%h`,
      '--without-mingle',
      '--without-gossip',
      '--loglevel',
      'INFO',
    ];
    const worker = new PythonWorker(
      spawn(PYTHON, args, { cwd: this.dir, env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] }),
      lifetimeMs,
    );
    await worker.waitForLog(new RegExp(`${name}@\\S+ ready\\.`), 30_000);
    return worker;
  }

  close(): void {
    killChildren();
  }
}
