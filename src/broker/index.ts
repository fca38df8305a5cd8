import type { Broker } from './broker';
import { MemoryBroker } from './memory-broker';
import { RedisBroker } from './redis-broker';

/** memory:// brokers are shared per URL and prefix within the process, as one Redis would be. */
const memoryBrokers = new Map<string, MemoryBroker>();

export function createBroker(url: string, keyPrefix: string): Broker {
  if (!url.startsWith('memory://')) return new RedisBroker(url, keyPrefix);
  const key = url + '|' + keyPrefix;
  let broker = memoryBrokers.get(key);
  if (!broker) memoryBrokers.set(key, (broker = new MemoryBroker(keyPrefix)));
  return broker;
}
export type { Broker, Delivery, OutgoingMessage, DeadLetter } from './broker';
