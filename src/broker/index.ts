import type { Broker } from './broker';
import type { MemoryBroker } from './memory-broker';
import { RedisBroker } from './redis-broker';
import type { AmqpBrokerOptions } from './amqp/amqp-broker';
import type { BrokerAddress } from './url';

/** memory:// brokers are shared per URL and prefix within the process, as one Redis would be. */
const memoryBrokers = new Map<string, MemoryBroker>();

/** The broker for a parsed address (config.ts parses the URL once: url.ts). */
export function createBroker(address: BrokerAddress, keyPrefix: string, amqp: AmqpBrokerOptions = {}): Broker {
  if (address.transport === 'amqp') {
    // Required only here: amqplib and the AMQP broker are modules a Redis app never needs to load.
    const { AmqpBroker } = require('./amqp/amqp-broker') as typeof import('./amqp/amqp-broker');
    return new AmqpBroker(address, keyPrefix, amqp);
  }
  if (address.transport !== 'memory') return new RedisBroker(address, keyPrefix);
  const key = address.url + '|' + keyPrefix;
  let broker = memoryBrokers.get(key);
  if (!broker) {
    // Required here, as amqplib is: a Redis app never loads the in-memory transport.
    const { MemoryBroker } = require('./memory-broker') as typeof import('./memory-broker');
    memoryBrokers.set(key, (broker = new MemoryBroker(keyPrefix)));
  }
  return broker;
}
export type { Broker, Delivery, OutgoingMessage, DeadLetter, HeldMessage } from './broker';
export type { Coordination } from './amqp/coordination';
export { parseBrokerUrl, redactUrl } from './url';
export type { BrokerAddress, BrokerTransportOptions } from './url';
