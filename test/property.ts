import fc from 'fast-check';

/**
 * Settings for every property test. CI runs a fixed seed so a failure reproduces; by hand,
 * `FC_SEED=<n>` replays one and `FC_RANDOM=1` draws a new one. fast-check prints the seed and the
 * shrunk counterexample in the failure message either way, so a failing run can be replayed.
 */
export const FIXED_SEED = 20261207;

export function propertyOptions<T>(numRuns: number, extra: fc.Parameters<T> = {}): fc.Parameters<T> {
  const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : process.env.FC_RANDOM ? Date.now() : FIXED_SEED;
  return { seed, numRuns, ...extra };
}

export { fc };
