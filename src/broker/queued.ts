import type { QueueCounts, QueuedMessage } from './broker';
import { routeOf } from './message';

/**
 * What queue management needs from a raw envelope without decoding the task (a message the worker
 * would refuse must still be listed, counted and deletable): its task id, name, queue and eta.
 * Unreadable envelopes get id '' and task '?', so they are counted but cannot be picked by id.
 */
export function describeQueued(raw: string, state: QueuedMessage['state'], dueAtMs?: number): QueuedMessage {
  let headers: Record<string, unknown> = {};
  try {
    const env = JSON.parse(raw);
    if (env && typeof env.headers === 'object' && env.headers !== null) headers = env.headers;
  } catch {
    // counted, listed with what routeOf can tell
  }
  const { queue, priority } = routeOf(raw);
  const eta = typeof headers.eta === 'string' && !Number.isNaN(Date.parse(headers.eta)) ? headers.eta : null;
  return {
    id: typeof headers.id === 'string' ? headers.id : '',
    task: typeof headers.task === 'string' ? headers.task : '?',
    queue,
    priority,
    state,
    dueAt: dueAtMs !== undefined ? new Date(dueAtMs).toISOString() : eta,
    raw,
  };
}

/** The task id of a raw envelope, '' when it has none. */
export function queuedId(raw: string): string {
  return describeQueued(raw, 'ready').id;
}

/** Tallies per queue, with every queue met along the way added, sorted by name. */
export class QueueTally {
  private readonly rows = new Map<string, QueueCounts>();

  constructor(
    queues: string[],
    private readonly unacked: number | null,
    private readonly delayed: number | null,
    private readonly consumers: number | null,
  ) {
    for (const q of queues) this.row(q);
  }

  row(queue: string): QueueCounts {
    let r = this.rows.get(queue);
    if (!r)
      this.rows.set(
        queue,
        (r = {
          queue,
          ready: 0,
          unacked: this.unacked,
          delayed: this.delayed,
          deadLettered: 0,
          consumers: this.consumers,
        }),
      );
    return r;
  }

  get names(): string[] {
    return [...this.rows.keys()];
  }

  list(): QueueCounts[] {
    return [...this.rows.values()].sort((a, b) => a.queue.localeCompare(b.queue));
  }
}
