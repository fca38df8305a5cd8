import { setFlagsFromString } from 'node:v8';
import { ConfigError } from '../errors';

/**
 * How the worker command sizes V8's heap: `--heap-growing-percent=50` for the old generation and
 * `--semi-space-growth-factor=1` for the young one, unless told otherwise.
 *
 * Why: a worker's live heap is ~10 MiB however many tasks it runs; what its RSS holds beyond
 * node's own ~52 MiB (binary, libraries, malloc) is heap V8 let grow for speed:
 * - The old generation: V8's own sizing lets it grow up to 4× the live size between full
 *   collections for a process that allocates fast, which a draining worker does (each task's
 *   message, job and result batch are promoted while in flight). A fixed 1.5× keeps it near
 *   20 MiB instead of ~45 (133 → 110 MiB peak RSS, flat from 10,000 to 100,000 tasks) for no
 *   measurable worker CPU. The flag is read at each full collection.
 * - The young generation: its two semi-spaces start at 1 MiB and V8 doubles them (to 16 MiB
 *   each) while modules load, so 32 MiB of RSS for a worker whose tasks are short-lived. A growth
 *   factor of 1 keeps them at 1 MiB (~103 → 73–78 MiB peak RSS). V8 reads the factor at each grow,
 *   so it works at run time, but only before the package loads: the CLI's own modules are ~10
 *   small ones, and the app module is what loads the package, so the worker command sets it
 *   before loading the app (test/foundation/worker-heap.test.ts fails if that changes). The cost
 *   is more, smaller scavenges (bench/ANALYSIS.md, "Fifth round").
 *
 * Only at run time: on node's command line V8 raises a growth factor below 2 to 2 when it makes
 * the heap (and a factor of 0 set at run time crashes node, so 0 never reaches V8 here).
 *
 * Opt out with `CELERIAC_HEAP_GROWING_PERCENT=0` / `CELERIAC_SEMI_SPACE_GROWTH_FACTOR=0` (V8's own
 * sizing), or set other values there. A V8 flag on node's command line or in NODE_OPTIONS wins:
 * `--heap-growing-percent`, or any of `--max-semi-space-size`, `--min-semi-space-size`,
 * `--semi-space-growth-factor` for the young generation.
 */
export const DEFAULT_HEAP_GROWING_PERCENT = 50;
export const HEAP_GROWING_ENV = 'CELERIAC_HEAP_GROWING_PERCENT';
export const DEFAULT_SEMI_SPACE_GROWTH_FACTOR = 1;
export const SEMI_SPACE_GROWTH_ENV = 'CELERIAC_SEMI_SPACE_GROWTH_FACTOR';

/** Node's command-line flags and NODE_OPTIONS', where a flag the user chose would be. */
function nodeFlags(env: NodeJS.ProcessEnv, execArgv: readonly string[]): string[] {
  return [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean)];
}

// V8 takes the dash and the underscore spelling alike.
const HEAP_GROWING_FLAG = /^--heap[-_]growing[-_]percent(=|$)/;
const YOUNG_GENERATION_FLAG = /^--((max|min)[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)(=|$)/;

/** A whole number from the env; undefined when unset. */
function wholeNumber(env: NodeJS.ProcessEnv, key: string, hint: string): number | undefined {
  const raw = env[key];
  if (raw === undefined || raw.trim() === '') return undefined;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(key, `'${raw}' is not a whole number: ${hint}`);
  return Number(raw.trim());
}

/** The old generation's V8 flag the worker command sets, or undefined to leave V8's sizing alone. */
export function heapGrowingFlag(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): string | undefined {
  if (nodeFlags(env, execArgv).some((a) => HEAP_GROWING_FLAG.test(a))) return undefined;
  const percent =
    wholeNumber(env, HEAP_GROWING_ENV, "use a percentage, e.g. 50 (the default), or 0 for V8's own heap sizing") ??
    DEFAULT_HEAP_GROWING_PERCENT;
  return percent === 0 ? undefined : `--heap-growing-percent=${percent}`;
}

/** The young generation's V8 flag the worker command sets, or undefined to leave V8's sizing alone. */
export function semiSpaceGrowthFlag(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): string | undefined {
  if (nodeFlags(env, execArgv).some((a) => YOUNG_GENERATION_FLAG.test(a))) return undefined;
  const factor =
    wholeNumber(
      env,
      SEMI_SPACE_GROWTH_ENV,
      "use 1 (the default: the young generation stays at 1 MiB semi-spaces), 2 to double them as V8 does, or 0 for V8's own sizing",
    ) ?? DEFAULT_SEMI_SPACE_GROWTH_FACTOR;
  // 0 is never handed to V8: a growth factor of 0 crashes node at its first scavenge.
  return factor === 0 ? undefined : `--semi-space-growth-factor=${factor}`;
}

/** Every heap flag the worker command sets. Throws ConfigError for a bad env value. */
export function workerHeapFlags(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): string[] {
  return [heapGrowingFlag(env, execArgv), semiSpaceGrowthFlag(env, execArgv)].filter((f) => f !== undefined);
}

let applied: readonly string[] = [];

/**
 * Applies workerHeapFlags() to this process; returns them. The pools' children set them again
 * at run time before loading the app (process-entry.ts's argv, thread-pool.ts's bootstrap): on
 * node's command line, or when a thread's heap is made, V8 raises a growth factor of 1 to 2.
 */
export function applyWorkerHeapFlags(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const flags = workerHeapFlags(env);
  for (const flag of flags) setFlagsFromString(flag);
  applied = flags;
  return flags;
}

/** The flags applyWorkerHeapFlags() set in this process, if it ran. */
export function appliedWorkerHeapFlags(): readonly string[] {
  return applied;
}

/**
 * Sets the flags again in this process every millisecond while `thread` starts. Making a thread's
 * heap puts the process-wide semi-space growth factor back to 2, on the new thread, before its
 * bootstrap sets it again (thread-pool.ts): a scavenge of the worker's own heap in that window
 * doubled its semi-spaces for good. This narrows the window to a millisecond; it does not close
 * it (V8 offers no hook between making the heap and running the bootstrap, and treats flags
 * changed after start as the embedder's risk: here one number read when a space grows).
 * Measured (bench/ANALYSIS.md, sixth round, "harden"): 200 thread restarts (maxTasksPerChild 1)
 * left the worker's young generation at 8–16 MiB (4 with no restarts); with this, 4 MiB in 3
 * runs of 3 (peak RSS moved within its spread, 132–141 before, 124–157 after). The timer runs
 * only until the thread is online (tens of ms), and only when the worker command set the flags.
 */
export function holdHeapFlagsWhileStarting(thread: {
  once(event: 'online' | 'exit', listener: () => void): unknown;
}): void {
  const flags = applied;
  if (flags.length === 0) return;
  const apply = () => {
    for (const flag of flags) setFlagsFromString(flag);
  };
  const timer = setInterval(apply, 1);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    apply();
  };
  thread.once('online', stop);
  thread.once('exit', stop);
}
