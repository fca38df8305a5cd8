import { BulkSendError, CeleriacError, shown } from '../errors';
import type { ApplyOptions } from './options';

/** One task of a bulk send (`celeriac.sendMany`): what `sendTask(name, args, kwargs, options)` takes. */
export interface TaskCall<A extends readonly unknown[] = unknown[]> {
  name: string;
  args?: A;
  kwargs?: Record<string, unknown>;
  options?: ApplyOptions;
}

/** One call of a bulk send of one task (`task.applyAsyncMany`): its arguments are required and typed. */
export interface TaskCallOf<A extends readonly unknown[]> {
  args: A;
  kwargs?: Record<string, unknown>;
  options?: ApplyOptions;
}

export interface BulkOptions {
  /** Messages per round trip to the broker. Default 1000 (BullMQ's addBulk is usually called with as many). */
  chunkSize?: number;
}

export const DEFAULT_CHUNK = 1000;
const MAX_CHUNK = 10_000;

export function chunkSizeOf(options: BulkOptions | undefined): number {
  const size = options?.chunkSize ?? DEFAULT_CHUNK;
  if (!Number.isInteger(size) || size < 1 || size > MAX_CHUNK)
    throw new CeleriacError(`chunkSize ${shown(size)}: use an integer from 1 to ${MAX_CHUNK}.`);
  return size;
}

/**
 * Prepares every item before anything is sent (so a bad item fails the call with nothing sent,
 * its index in the message), then sends chunk after chunk, each in one round trip.
 */
export async function sendInChunks<P extends { id: string }>(
  items: readonly TaskCall<readonly unknown[]>[],
  chunkSize: number,
  prepare: (item: TaskCall<readonly unknown[]>) => P,
  send: (chunk: P[]) => Promise<void>,
): Promise<string[]> {
  if (!Array.isArray(items))
    throw new CeleriacError(`sendMany(items): items must be an array of { name, args?, kwargs?, options? }.`);
  const prepared = items.map((item, i) => {
    try {
      if (item === null || typeof item !== 'object' || typeof item.name !== 'string')
        throw new CeleriacError(`expected { name: 'task.name', args?, kwargs?, options? }, got ${describe(item)}`);
      return prepare(item);
    } catch (err) {
      // Same class (callers catch EncodeError, TaskNotRegisteredError…), the item's index in front.
      if (err instanceof Error) err.message = `items[${i}]: ${err.message}`;
      throw err;
    }
  });
  const sent: string[] = [];
  for (let i = 0; i < prepared.length; i += chunkSize) {
    const chunk = prepared.slice(i, i + chunkSize);
    try {
      await send(chunk);
    } catch (err) {
      throw new BulkSendError(sent, prepared.length, err);
    }
    for (const p of chunk) sent.push(p.id);
  }
  return sent;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `an object without a string name` : typeof value;
}
