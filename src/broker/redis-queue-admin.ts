import type Redis from 'ioredis';
import { SCAN_LIMIT, type DeadLetter, type QueueAdmin, type QueueCounts, type QueuedMessage } from './broker';
import { ConfigError } from '../errors';
import { PRIORITY_SEP, reservedQueueProblem, type Keys } from './keys';
import { routeOf } from './message';
import { describeQueued, queuedId, QueueTally } from './queued';
import { runScript } from './redis-scripts';

/** Messages read per round trip while searching a list or the delayed set. */
const CHUNK = 1000;
/**
 * Delayed and dead-lettered messages read to split their counts by queue: the admin's dashboard
 * asks every few seconds, so a backlog of 100,000 countdowns must not be parsed each time. Past
 * it, per-queue counts cover the earliest SPLIT_LIMIT; the totals still count every message.
 */
const SPLIT_LIMIT = 10_000;
/** SCAN steps (of ~1000 keys each) spent looking for queues nobody named. */
const DISCOVER_ROUNDS = 20;

/**
 * Queue management on kombu's Redis layout. A queue is its priority lists plus Celeriac's
 * redelivered side list; unacked messages are the consumers' held hashes and processing lists;
 * delayed ones sit in one sorted set for every queue, so per-queue delayed counts read it
 * (bounded by SCAN_LIMIT).
 * Deletes are by value (LREM, ZREM): a message a worker took meanwhile is simply not found.
 */
export class RedisQueueAdmin implements QueueAdmin {
  constructor(
    private readonly redis: () => Redis,
    private readonly keys: Keys,
    private readonly run: <T>(fn: () => Promise<T>) => Promise<T>,
  ) {}

  async counts(queues: string[]): Promise<{ queues: QueueCounts[]; delayed: number; deadLettered: number }> {
    return this.run(async () => {
      const r = this.redis();
      // The per-queue split reads at most SPLIT_LIMIT messages of each set; the totals count all.
      const [consumers, delayed, revoked, dead, delayedAll, deadAll] = await Promise.all([
        r.sunion(this.keys.consumers, this.keys.legacyConsumers),
        r.zrange(this.keys.delayed, 0, String(SPLIT_LIMIT - 1)),
        r.zrangebyscore(this.keys.revoked, Date.now(), '+inf'),
        r.lrange(this.keys.deadLetter, 0, SPLIT_LIMIT - 1),
        r.zcard(this.keys.delayed),
        r.llen(this.keys.deadLetter),
      ]);
      const tally = new QueueTally([...queues, ...(await this.discover())], 0, 0, null);
      // A revoked countdown is dropped by the worker when due: it is not waiting to run.
      const skip = new Set(revoked);
      let delayedTotal = Math.max(0, delayedAll - delayed.length);
      for (const raw of delayed) {
        const m = describeQueued(raw, 'delayed');
        if (skip.has(m.id)) continue;
        tally.row(m.queue).delayed!++;
        delayedTotal++;
      }
      for (const entry of dead) tally.row(routeOf(deadRaw(entry)).queue).deadLettered++;
      const held = await Promise.all(
        consumers.flatMap((c) => [r.lrange(this.keys.processing(c), 0, -1), r.hvals(this.keys.held(c))]),
      );
      for (const raws of held) for (const raw of raws) tally.row(routeOf(raw).queue).unacked!++;
      const names = tally.names;
      const pipe = r.pipeline();
      for (const q of names) for (const key of this.keys.consumeOrder([q])) pipe.llen(key);
      const lengths = ((await pipe.exec()) ?? []).map(([err, n]) => {
        if (err) throw err;
        return Number(n);
      });
      const per = this.keys.consumeOrder(['x']).length;
      names.forEach((q, i) => {
        tally.row(q).ready = lengths.slice(i * per, (i + 1) * per).reduce((a, b) => a + b, 0);
      });
      return { queues: tally.list(), delayed: delayedTotal, deadLettered: deadAll };
    });
  }

  /**
   * Queues that hold ready messages though nobody named them (no worker consumes them yet): the
   * list keys under the prefix in kombu's layout. Bounded (DISCOVER_ROUNDS SCAN steps), so a huge
   * keyspace costs a few round trips, and a queue it misses can still be asked for by name.
   */
  private async discover(): Promise<string[]> {
    const r = this.redis();
    const prefix = this.keys.prefix;
    const names = new Set<string>();
    let cursor = '0';
    for (let round = 0; round < DISCOVER_ROUNDS; round++) {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 1000, 'TYPE', 'list');
      for (const key of keys) {
        const name = key.slice(prefix.length).split(PRIORITY_SEP)[0];
        if (
          name &&
          !name.startsWith('celeriac:') &&
          !name.startsWith('_kombu') &&
          !name.includes('.reply.celery.pidbox')
        )
          names.add(name);
      }
      cursor = next;
      if (cursor === '0') break;
    }
    return [...names];
  }

  async purge(queue: string): Promise<number> {
    // `celeriac purge -Q celeriac:delayed` would delete the broker's own key (keys.ts).
    const reserved = reservedQueueProblem(queue);
    if (reserved) throw new ConfigError('queue', reserved);
    const keys = this.keys.consumeOrder([queue]);
    return this.run(async () => {
      const tx = this.redis().multi();
      for (const key of keys) tx.llen(key);
      tx.del(...keys);
      const res = (await tx.exec()) ?? [];
      return res.slice(0, keys.length).reduce((sum, [, n]) => sum + Number(n ?? 0), 0);
    });
  }

  async peek(queue: string, limit: number, only?: QueuedMessage['state']): Promise<QueuedMessage[]> {
    return this.run(async () => {
      const r = this.redis();
      const out: QueuedMessage[] = [];
      for (const key of only === 'delayed' ? [] : this.keys.consumeOrder([queue])) {
        if (out.length >= limit) break;
        // Consumers take from the right: the last elements are next.
        const raws = await r.lrange(key, -(limit - out.length), -1);
        for (const raw of raws.reverse()) out.push(describeQueued(raw, 'ready'));
      }
      for (let start = 0; only !== 'ready' && out.length < limit && start < SCAN_LIMIT; start += CHUNK) {
        const flat = await r.zrange(this.keys.delayed, start, String(start + CHUNK - 1), 'WITHSCORES');
        for (let i = 0; i < flat.length && out.length < limit; i += 2)
          if (routeOf(flat[i]).queue === queue) out.push(describeQueued(flat[i], 'delayed', Number(flat[i + 1])));
        if (flat.length < CHUNK * 2) break;
      }
      return out;
    });
  }

  async deleteMessage(queue: string, taskId: string): Promise<'ready' | 'delayed' | null> {
    if (!taskId) return null;
    return this.run(async () => {
      const r = this.redis();
      for (const key of this.keys.consumeOrder([queue])) {
        for (let start = 0; start < SCAN_LIMIT; start += CHUNK) {
          const raws = await r.lrange(key, start, start + CHUNK - 1);
          const raw = raws.find((x) => queuedId(x) === taskId);
          if (raw !== undefined && (await r.lrem(key, 1, raw)) > 0) return 'ready';
          if (raws.length < CHUNK) break;
        }
      }
      for (let start = 0; start < SCAN_LIMIT; start += CHUNK) {
        const raws = await r.zrange(this.keys.delayed, start, String(start + CHUNK - 1));
        const raw = raws.find((x) => queuedId(x) === taskId && routeOf(x).queue === queue);
        if (raw !== undefined && (await r.zrem(this.keys.delayed, raw)) > 0) return 'delayed';
        if (raws.length < CHUNK) break;
      }
      return null;
    });
  }

  async requeueDeadLetter(taskId: string): Promise<boolean> {
    return this.takeDeadLetter(taskId, true);
  }

  async deleteDeadLetter(taskId: string): Promise<boolean> {
    return this.takeDeadLetter(taskId, false);
  }

  private async takeDeadLetter(taskId: string, requeue: boolean): Promise<boolean> {
    if (!taskId) return false;
    return this.run(async () => {
      const r = this.redis();
      for (let start = 0; start < SCAN_LIMIT; start += CHUNK) {
        const entries = await r.lrange(this.keys.deadLetter, start, start + CHUNK - 1);
        const entry = entries.find((e) => queuedId(deadRaw(e)) === taskId);
        if (entry !== undefined) {
          const raw = deadRaw(entry);
          const { queue, priority } = routeOf(raw);
          const keys = [this.keys.deadLetter, this.keys.queue(queue, priority)];
          return (await runScript<number>(r, 'move-out', keys, [entry, requeue ? raw : ''])) === 1;
        }
        if (entries.length < CHUNK) break;
      }
      return false;
    });
  }
}

/** A key prefix as a literal in a SCAN MATCH pattern. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => '\\' + c);
}

function deadRaw(entry: string): string {
  try {
    return String((JSON.parse(entry) as DeadLetter).raw ?? '');
  } catch {
    return '';
  }
}
