import { task } from '../../../src';

/** CPU-bound: the n-th Fibonacci number the slow way (fib(27) is about 5 ms of one core here). */
function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}
export const cpu = task('bench.fib', (_ctx, n: number) => fib(n));

/** Returns its argument's size: the serializer comparison measures the message, not the work. */
export const echo = task('bench.echo', (_ctx, payload: unknown) => JSON.stringify(payload).length);
