import { Acker } from '../../src/worker/acker';
import { MemoryBroker } from '../../src/broker/memory-broker';
import type { Job } from '../../src/worker/pool';

/**
 * A worker's stop drains the acker without a bound. With acks still queued that armed
 * setTimeout(Infinity): Node fires it after 1 ms and prints a TimeoutOverflowWarning
 * ("Infinity does not fit into a 32-bit signed integer"), once per turn of the drain loop.
 */
test('an unbounded drain arms no overflowing timer and resolves once every ack is sent', async () => {
  // Node's warning goes to the real process, not jest's sandbox: record the delays asked for instead.
  const delays: number[] = [];
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    delays.push(ms ?? 0);
    return realSetTimeout(fn, ms);
  }) as typeof setTimeout;
  try {
    const released: Job[] = [];
    const acker = new Acker(
      new MemoryBroker(),
      'consumer-1',
      (j) => released.push(j),
      () => {},
    );
    const jobs = [1, 2, 3].map((i) => ({ acked: false, msg: { raw: `m${i}` }, redeliveries: 0 }) as unknown as Job);
    const acks = jobs.map((j) => acker.ack(j));
    expect(await acker.drain()).toBe(true);
    await Promise.all(acks);
    expect(released).toEqual(jobs);
    expect(delays.filter((ms) => !(ms <= 2 ** 31 - 1))).toEqual([]);
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
});
