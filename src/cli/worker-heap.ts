import { setFlagsFromString } from 'node:v8';
import { ConfigError } from '../errors';

/**
 * How much V8 lets a worker's old generation grow past what survived its last full collection:
 * the worker command sets `--heap-growing-percent=50` unless told otherwise.
 *
 * Why: a worker's live heap is ~10 MiB however many tasks it runs, but V8's own sizing lets the
 * old generation grow up to 4× the live size between full collections for a process that
 * allocates fast, which a draining worker does (each task's message, job and result batch are
 * promoted while in flight). Those pages stay in RSS: under W1 the old generation reached
 * ~45 MiB of mostly garbage. A fixed 1.5× keeps it near 20 MiB, ~25 MiB less peak RSS (133 → 110
 * MiB, flat from 10,000 to 100,000 tasks) for no measurable worker CPU (bench/ANALYSIS.md,
 * "Fourth round"). The flag is read at each full collection, so setting it at run time works,
 * unlike the young generation's size (`--max-semi-space-size`), which V8 fixes when the heap is made.
 *
 * Opt out: `CELERIAC_HEAP_GROWING_PERCENT=0` (V8's own sizing), another percentage, or
 * `node --heap-growing-percent=N …/celeriac.js worker` (a flag on node's command line wins).
 */
export const DEFAULT_HEAP_GROWING_PERCENT = 50;
export const HEAP_GROWING_ENV = 'CELERIAC_HEAP_GROWING_PERCENT';

/** The V8 flag the worker command sets, or undefined to leave V8's sizing alone. */
export function heapGrowingFlag(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): string | undefined {
  // V8 takes the dash and the underscore spelling alike.
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return undefined;
  const raw = env[HEAP_GROWING_ENV];
  if (raw === undefined || raw === '') return `--heap-growing-percent=${DEFAULT_HEAP_GROWING_PERCENT}`;
  if (!/^\d+$/.test(raw.trim()))
    throw new ConfigError(
      HEAP_GROWING_ENV,
      `'${raw}' is not a whole percentage: use e.g. 50 (the default), or 0 for V8's own heap sizing`,
    );
  const percent = Number(raw.trim());
  return percent === 0 ? undefined : `--heap-growing-percent=${percent}`;
}

/** Applies heapGrowingFlag() to this process; returns the flag set, if any. */
export function applyWorkerHeapGrowing(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const flag = heapGrowingFlag(env);
  if (flag) setFlagsFromString(flag);
  return flag;
}
