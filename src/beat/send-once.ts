import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import type { Broker } from '../broker';
import { Keys } from '../broker/keys';

/** One run in an outbox batch: what the claim recorded, enough to send it again unchanged. */
export interface OutboxRun {
  periodicTaskId: number;
  name: string;
  task: string;
  taskId: string;
  /** The slot, ISO 8601. */
  scheduledAt: string;
  queue: string;
  priority: number;
  raw: string;
}

/**
 * Sends an outbox batch so that sending it twice delivers it once. Returns true when this call
 * delivered it, false when an earlier call already had.
 */
export interface BatchSender {
  sendOnce(batchId: string, runs: OutboxRun[], markerTtlMs: number): Promise<boolean>;
  close(): Promise<void>;
}

const SCRIPT = 'celeriac_beat_send_once_v1';

/**
 * Redis: the marker and the LPUSHes run in one Lua script (./lua/send-once.lua) on beat's own
 * connection. The queue keys come from the broker's Keys, so messages land exactly where
 * Broker.send would put them.
 */
export class RedisBatchSender implements BatchSender {
  private readonly redis: Redis;
  private connecting: Promise<void> | undefined;

  private readonly keys: Keys;

  constructor(url: string, keyPrefix: string) {
    // Keys only, no broker connection: a beat whose Redis is down still claims (into the outbox).
    this.keys = new Keys(keyPrefix, Number(new URL(url).pathname.slice(1) || 0));
    this.redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: 3000,
      maxRetriesPerRequest: 2,
      connectionName: `celeriac-beat${keyPrefix ? ':' + keyPrefix.replace(/[^\w:.-]/g, '_') : ''}`,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 3000),
    });
    this.redis.on('error', () => {}); // surfaced by the failing command, which the tick reports
    this.redis.defineCommand(SCRIPT, { lua: readFileSync(luaPath('send-once.lua'), 'utf8') });
  }

  async sendOnce(batchId: string, runs: OutboxRun[], markerTtlMs: number): Promise<boolean> {
    if (runs.length === 0) return false;
    this.connecting ??= this.redis.connect().catch((err) => {
      this.connecting = undefined;
      throw err;
    });
    await this.connecting;
    const keys = [
      this.keys.prefix + 'celeriac:beat:sent:' + batchId,
      ...runs.map((r) => this.keys.queue(r.queue, r.priority)),
    ];
    const pushed = await (this.redis as any)[SCRIPT](
      keys.length,
      ...keys,
      Math.max(1, Math.round(markerTtlMs)),
      ...runs.map((r) => r.raw),
    );
    return pushed >= 0;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** Markers of in-process brokers, shared by every beat of the process as one Redis would be. */
const memoryMarkers = new WeakMap<Broker, Map<string, number>>();

/**
 * memory://: one process, so a beat cannot die between sending and recording without taking
 * the broker with it; the markers still make a re-send by a second in-process beat a no-op.
 */
export class MemoryBatchSender implements BatchSender {
  constructor(private readonly broker: Broker) {}

  async sendOnce(batchId: string, runs: OutboxRun[], markerTtlMs: number): Promise<boolean> {
    let markers = memoryMarkers.get(this.broker);
    if (!markers) memoryMarkers.set(this.broker, (markers = new Map()));
    const now = Date.now();
    for (const [id, until] of markers) if (until <= now) markers.delete(id);
    if (markers.has(batchId)) return false;
    markers.set(batchId, now + markerTtlMs);
    await this.broker.send(runs.map((r) => ({ queue: r.queue, priority: r.priority, raw: r.raw })));
    return true;
  }

  async close(): Promise<void> {}
}

export async function createBatchSender(
  brokerUrl: string,
  keyPrefix: string,
  memoryBroker: () => Promise<Broker>,
): Promise<BatchSender> {
  return brokerUrl.startsWith('memory://')
    ? new MemoryBatchSender(await memoryBroker())
    : new RedisBatchSender(brokerUrl, keyPrefix);
}

/**
 * Lua ships next to this file; a build that copied only the compiled JavaScript (dist/) still
 * finds it in the package's src/ folder, which is published too.
 */
function luaPath(file: string): string {
  const beside = join(__dirname, 'lua', file);
  if (existsSync(beside)) return beside;
  return join(__dirname, '..', '..', '..', 'src', 'beat', 'lua', file);
}
