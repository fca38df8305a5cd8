import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { PerformanceObserver } from 'node:perf_hooks';
import { ConfigError } from '../errors';

/**
 * How large the worker lets V8's young generation grow once the app has loaded: semi-spaces of
 * `CELERIAC_SEMI_SPACE_MIB` (default 1: the 1 MiB heap-flags.ts holds them at while the package
 * loads, i.e. no growth).
 *
 * What 2 buys: each task's garbage dies young, and a 1 MiB semi-space is scavenged every ~80
 * tasks; at 2 MiB half as often (W1, 100,000 tasks: ~1,240 → ~590 scavenges), for 0.89–1.00× the
 * worker CPU (median 0.96×, 9 pairs) and ~3 MiB more peak RSS (73.6–74.4 → 76.2–77.7 MiB). Not the
 * default: the same builds later measured 80.8 (1 MiB) and 82.9–84.2 (2 MiB) once more of node's
 * binary sat in the page cache (its file pages in a worker's RSS grew 41.8 → 47.2 MiB), so 2 MiB
 * has no margin under the 80 MiB goal (bench/ANALYSIS.md, seventh round, "young").
 *
 * How: V8 has no run-time cap on the semi-space (--max-semi-space-size is read once, when the heap
 * is made), only the growth factor, read at each grow. So with the factor at 1 during the load,
 * this sets it to 2 while the young generation is below the cap and back to 1 once it reaches it,
 * after each collection (a perf_hooks 'gc' entry, delivered once the collection's task is done).
 * The bound is not exact: the observer runs a macrotask or two after a collection, so work that
 * keeps MiB alive across that window can grow the young generation again first (a test app doing
 * so reached 4 MiB semi-spaces under the 2 MiB cap); V8 shrinks it again when the worker idles.
 * Only the worker's own heap: V8's flags are process-wide, so a factor of 2 here would let a
 * threads pool's threads grow theirs too; with a pool of threads or processes the semi-spaces
 * stay at 1 MiB, as before.
 */
export const DEFAULT_SEMI_SPACE_MIB = 1;
export const SEMI_SPACE_MIB_ENV = 'CELERIAC_SEMI_SPACE_MIB';
/** V8's own cap on a semi-space (x64), which its growth stops at anyway. */
const V8_MAX_SEMI_SPACE_MIB = 16;
const MiB = 1024 * 1024;

/** The semi-space size (MiB) to let the young generation reach after the load; 1 = stay at 1 MiB. */
export function semiSpaceMiB(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[SEMI_SPACE_MIB_ENV]?.trim();
  if (raw === undefined || raw === '') return DEFAULT_SEMI_SPACE_MIB;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  // V8 grows a semi-space by doubling from 1 MiB: no other size can be reached.
  if (!(n >= 1 && n <= V8_MAX_SEMI_SPACE_MIB && (n & (n - 1)) === 0))
    throw new ConfigError(
      SEMI_SPACE_MIB_ENV,
      `'${env[SEMI_SPACE_MIB_ENV]}' is not a semi-space size V8 can grow to: use 1 (the default), 2, 4, 8 or 16 (MiB)`,
    );
  return n;
}

/** The young generation's size now: both semi-spaces, as V8 reports new_space. */
function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Lets the young generation grow to semi-spaces of `mib` MiB and no further (see above). Call it
 * after the app has loaded, only where the worker set `--semi-space-growth-factor=1` itself.
 * Returns a stop function (tests; a worker keeps it for its life).
 */
export function growYoungGenerationTo(mib: number): () => void {
  if (mib <= 1) return () => {};
  const capBytes = 2 * mib * MiB;
  let factor = 1;
  const steer = () => {
    const next = newSpaceBytes() < capBytes ? 2 : 1;
    if (next !== factor) setFlagsFromString(`--semi-space-growth-factor=${(factor = next)}`);
  };
  const observer = new PerformanceObserver(steer);
  observer.observe({ entryTypes: ['gc'] });
  steer();
  return () => {
    observer.disconnect();
    if (factor !== 1) setFlagsFromString(`--semi-space-growth-factor=${(factor = 1)}`);
  };
}
