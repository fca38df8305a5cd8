/**
 * The suite's test environment: Node's, plus a guard that fails a test file which leaves a timer,
 * socket, server, worker thread or child process open after its last afterAll.
 *
 * Why: a leaked interval keeps running against an app that was closed (and logs, writes or throws
 * into the next file run by the same jest worker); a leaked socket or child holds a connection
 * slot or a CPU on a machine that runs the suite beside other work; and a leak in a test is often a
 * leak in the product's close()/stop(). Jest's own --detectOpenHandles hooks every async resource,
 * promises included, which is too slow to leave on; this guard compares what Node reports open at
 * the start and at the end of each file, so it costs next to nothing until a file actually leaks.
 *
 * What counts as open: anything process.getActiveResourcesInfo() lists that was not there when the
 * file started (ref'd timers, sockets, servers, child processes), plus worker threads and child
 * processes started during the file and still alive (tracked here: Node lists no threads), plus
 * intervals still scheduled even when unref'd (they never end on their own). Something already
 * closing gets GRACE_MS to finish. A jest worker process that something still holds open after its
 * last file (which jest reports only as "failed to exit gracefully") prints what holds it.
 *
 * CELERIAC_LEAK_GUARD=0 turns it off; CELERIAC_LEAK_GRACE_MS changes the grace period.
 */
import { ChildProcess } from 'node:child_process';
import { Server, Socket } from 'node:net';
import { resolve } from 'node:path';
import type { Worker as Thread, WorkerOptions } from 'node:worker_threads';
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';

const ENABLED = process.env.CELERIAC_LEAK_GUARD !== '0';
const GRACE_MS = Number(process.env.CELERIAC_LEAK_GRACE_MS ?? 3000);
const STEP_MS = 20;
const ROOT = resolve(__dirname, '..') + '/';
const relative = (path: string) => path.split(ROOT).join('');

// ---- Threads and child processes, tracked once per jest process on the shared module objects, so
// the product's `new Worker()` and `spawn()` (which read them at call time) are seen too.

// require, not `import * as`: the module interop would hand this file a copy of the exports, and
// replacing Worker on a copy would track nothing.
const workerThreads = require('node:worker_threads') as typeof import('node:worker_threads');

interface LiveThread {
  worker: Thread;
  what: string;
}
const liveThreads = new Set<LiveThread>();
const liveChildren = new Set<ChildProcess>();

if (ENABLED && !(workerThreads.Worker as { trackedByLeakGuard?: boolean }).trackedByLeakGuard) {
  const Base = workerThreads.Worker;
  class TrackedWorker extends Base {
    static trackedByLeakGuard = true;
    constructor(filename: string | URL, options?: WorkerOptions) {
      super(filename, options);
      const what = `worker thread ${this.threadId} running ${options?.eval ? '(eval)' : relative(String(filename))}`;
      const entry: LiveThread = { worker: this, what };
      liveThreads.add(entry);
      this.once('exit', () => liveThreads.delete(entry));
    }
  }
  (workerThreads as { Worker: typeof Base }).Worker = TrackedWorker;

  // Every spawn (exec, execFile, fork) goes through ChildProcess#spawn, which Node's types omit.
  const proto = ChildProcess.prototype as unknown as { spawn: (...args: unknown[]) => unknown };
  const spawn = proto.spawn;
  proto.spawn = function (this: ChildProcess, ...args: unknown[]) {
    const out = spawn.apply(this, args);
    liveChildren.add(this);
    this.once('exit', () => liveChildren.delete(this));
    return out;
  };
}

/** Reaped children drop their handle even before 'exit' is emitted. */
const isAlive = (c: ChildProcess) => (c as unknown as { _handle: unknown })._handle != null;

// ---- Timers: Node reports ref'd timers only by count, so each environment's setTimeout/setInterval
// remember where each timer was made (a 6-frame stack, about a microsecond per timer).

interface NodeTimeout extends NodeJS.Timeout {
  _destroyed: boolean;
  _repeat: number | null;
  _idleTimeout: number;
  _onTimeout: (...args: unknown[]) => void;
}
interface TimerSite {
  stack?: string;
  file: string;
}
const timers = new Map<NodeTimeout, TimerSite>();

/** Still scheduled and either holding the process open or repeating forever. */
const isOpen = (t: NodeTimeout) => !t._destroyed && (t.hasRef() || Boolean(t._repeat));

function describeTimer(t: NodeTimeout, site: TimerSite): string {
  const kind = t._repeat ? `setInterval every ${t._repeat} ms` : `setTimeout of ${t._idleTimeout} ms`;
  const fn = String(t._onTimeout).replace(/\s+/g, ' ').slice(0, 100);
  // "made at", not Node's "at": jest reads lines starting with "at" as the error's own stack.
  const frames = (site.stack ?? '')
    .split('\n')
    .slice(1)
    .map((l) => relative(l.trim().replace(/^at /, '')))
    .filter((l) => !l.includes('leak-guard') && !l.includes('node_modules/jest-'))
    .slice(0, 3);
  return `${kind}${t.hasRef() ? '' : ' (unref)'}: ${fn}\n      made at ${frames.join(' ← ')}`;
}

function describeHandle(h: unknown): string | undefined {
  // Never read process.stdin here: its getter opens stdin, which then holds the jest worker open.
  if (h === process.stdout || h === process.stderr) return undefined;
  if (h instanceof ChildProcess) return undefined; // reported with the children
  if (h instanceof Socket) {
    if (h.remotePort) return `socket ${h.localAddress}:${h.localPort} → ${h.remoteAddress}:${h.remotePort}`;
    const fd = (h as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (fd === 0) return 'process.stdin (reading it, or only reading the property, holds the process open)';
    return `socket ${(h as unknown as { _host?: string })._host ?? `(connecting, or a pipe, fd ${fd})`}`;
  }
  if (h instanceof Server) return `server listening on ${JSON.stringify(h.address())}`;
  return (h as object)?.constructor?.name ?? typeof h;
}

const activeHandles = (): unknown[] => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();

function countByType(list: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of list) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

interface Baseline {
  resources: Map<string, number>;
  handles: Set<unknown>;
  threads: Set<LiveThread>;
  children: Set<ChildProcess>;
  timers: Set<NodeTimeout>;
}
const emptyBaseline = (): Baseline => ({
  resources: new Map(),
  handles: new Set(),
  threads: new Set(),
  children: new Set(),
  timers: new Set(),
});
// Node opens stdout/stderr on first use, often during the first file a jest worker runs: open them
// now, so they are in every baseline rather than blamed on that file.
void process.stdout;
void process.stderr;

const snapshot = (): Baseline => ({
  resources: countByType(process.getActiveResourcesInfo()),
  handles: new Set(activeHandles()),
  threads: new Set(liveThreads),
  children: new Set([...liveChildren].filter(isAlive)),
  timers: new Set([...timers.keys()].filter(isOpen)),
});

/** What is open now and was not in `since`: described one by one, and Node's own count by type. */
function openSince(since: Baseline, file?: string): { details: string[]; counts: string[] } {
  const details: string[] = [];
  const children = [...liveChildren].filter((c) => isAlive(c) && !since.children.has(c));
  for (const c of children) details.push(`child process ${c.pid}: ${relative(c.spawnargs.join(' ')).slice(0, 200)}`);
  for (const t of liveThreads) if (!since.threads.has(t)) details.push(t.what);
  const childStdio = new Set<unknown>(children.flatMap((c) => c.stdio));
  for (const h of activeHandles()) {
    if (since.handles.has(h) || childStdio.has(h)) continue;
    const what = describeHandle(h);
    if (what) details.push(what);
  }
  for (const [t, site] of timers) {
    if (t._destroyed) timers.delete(t);
    else if (isOpen(t) && !since.timers.has(t))
      details.push(describeTimer(t, site) + (site.file === file ? '' : ` (made by ${site.file})`));
  }
  const counts: string[] = [];
  for (const [type, n] of countByType(process.getActiveResourcesInfo())) {
    const extra = n - (since.resources.get(type) ?? 0);
    if (extra > 0) counts.push(`${extra} × ${type}`);
  }
  return { details, counts };
}

// ---- The jest worker process: told to end (jest-worker's CHILD_MESSAGE_END), it should exit at
// once; jest force-kills it after 500 ms with a message that names nothing. Say what holds it.
if (ENABLED && process.send && !(globalThis as { leakGuardExitReport?: boolean }).leakGuardExitReport) {
  (globalThis as { leakGuardExitReport?: boolean }).leakGuardExitReport = true;
  const atStart = snapshot();
  const onMessage = (msg: unknown) => {
    if (!Array.isArray(msg) || msg[0] !== 2) return;
    // A 'message' listener keeps the IPC channel open: this one must not be what holds the process.
    process.removeListener('message', onMessage);
    setTimeout(() => {
      const { details, counts } = openSince(atStart);
      if (details.length + counts.length === 0) return;
      process.stderr.write(
        `Leak guard: jest worker ${process.pid} is held open after its last test file by:\n` +
          details.map((d) => `  - ${d}\n`).join('') +
          (counts.length ? `  Node reports: ${counts.join(', ')}\n` : ''),
      );
    }, 250).unref();
  };
  process.on('message', onMessage);
}

export default class LeakGuardEnvironment extends TestEnvironment {
  private readonly file: string;
  private baseline = emptyBaseline();

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    this.file = relative(context.testPath);
    if (!ENABLED) return;
    for (const name of ['setTimeout', 'setInterval'] as const) {
      const original = this.global[name] as typeof setTimeout;
      const file = this.file;
      const wrapped = function (this: unknown, ...args: Parameters<typeof setTimeout>) {
        const t = original.apply(this, args) as unknown as NodeTimeout;
        const site: TimerSite = { file };
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 6;
        Error.captureStackTrace(site, wrapped);
        Error.stackTraceLimit = limit;
        if (timers.size >= 2000) for (const [old] of timers) if (old._destroyed) timers.delete(old);
        timers.set(t, site);
        return t;
      };
      // Keeps setTimeout[util.promisify.custom], so `promisify(setTimeout)` still works.
      Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(original));
      this.global[name] = wrapped as never;
    }
  }

  async setup(): Promise<void> {
    await super.setup();
    if (ENABLED) this.baseline = snapshot();
  }

  handleTestEvent(event: Circus.Event, state: Circus.State): void | Promise<void> {
    // After every afterAll of the file; an error added to unhandledErrors here fails the file.
    if (ENABLED && event.name === 'run_finish') return this.check(state);
  }

  private async check(state: Circus.State): Promise<void> {
    const started = Date.now();
    let open = openSince(this.baseline, this.file);
    while (open.details.length + open.counts.length > 0 && Date.now() - started < GRACE_MS) {
      await new Promise((r) => setTimeout(r, STEP_MS));
      open = openSince(this.baseline, this.file);
    }
    if (open.details.length + open.counts.length === 0) return;
    const lines = [
      `Leak guard: ${this.file} left these open after its last afterAll (waited ${GRACE_MS} ms for them to close):`,
      ...open.details.map((d) => `  - ${d}`),
    ];
    if (open.counts.length) lines.push(`  Node reports these as new since the file started: ${open.counts.join(', ')}`);
    lines.push(
      'Close what the file opened in afterAll (cleanup(app), worker.stop(), beat.stop(), redis.quit(), server.close(),',
      'child.kill() and await its exit). If the product left it open, fix its close()/stop().',
    );
    const error = new Error(lines.join('\n'));
    error.stack = ''; // the guard's own frames would only hide the list
    state.unhandledErrors.push(error);
  }
}
