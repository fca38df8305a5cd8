import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import type { Broker } from '../broker';
import { encodeControl } from '../broker/pidbox';
import type { Logger } from '../log';
import { decodeEvents, type CeleryEvent } from '../worker/events';
import type { AdminEventJson, StateName } from './types';

/** Routing keys workers publish on: Celeriac batches task events on task.multi; Python Celery may send single ones. */
const ROUTING_KEYS = [
  'task.multi',
  'task.received',
  'task.started',
  'task.succeeded',
  'task.failed',
  'task.retried',
  'task.revoked',
  'task.rejected',
  'worker.online',
  'worker.heartbeat',
  'worker.offline',
];

const STATE_OF: Record<string, StateName> = {
  'task-received': 'RECEIVED',
  'task-started': 'STARTED',
  'task-succeeded': 'SUCCESS',
  'task-failed': 'FAILURE',
  'task-retried': 'RETRY',
  'task-revoked': 'REVOKED',
  'task-rejected': 'REJECTED',
};

/** Fields of Celery's events worth forwarding to a page; the rest (clock, utcoffset, sw_*) are noise there. */
const TASK_FIELDS = [
  'name',
  'args',
  'kwargs',
  'retries',
  'root_id',
  'parent_id',
  'eta',
  'expires',
  'result',
  'runtime',
  'exception',
  'terminated',
  'expired',
  'reason',
];
const WORKER_FIELDS = [
  'pid',
  'queues',
  'concurrency',
  'pool',
  'active',
  'held',
  'processed',
  'succeeded',
  'failed',
  'retried',
  'heartbeatAt',
  'startedAt',
];

export interface EventHubEvents {
  error: [err: Error];
}

interface Client {
  res: Response;
  heartbeat: NodeJS.Timeout;
}

/**
 * Fans the broker's event channels out to Server-Sent-Event clients: one set of subscriptions
 * for the whole process, however many pages are open, taken when the first client connects and
 * dropped when the last one leaves. A client that cannot keep up (its socket buffer past
 * MAX_BUFFERED) is disconnected rather than buffered without bound; its page reconnects and
 * reloads the table.
 */
export class EventHub extends EventEmitter<EventHubEvents> {
  private readonly clients = new Set<Client>();
  private unsubscribe: (() => Promise<void>)[] = [];
  private starting: Promise<void> | undefined;
  private static readonly MAX_BUFFERED = 1 << 20;

  constructor(
    private readonly broker: () => Promise<Broker>,
    private readonly logger: Logger,
    private readonly heartbeatMs: number,
    readonly maxClients: number,
  ) {
    super();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over `res` as an event stream until the client goes away. */
  async attach(res: Response): Promise<void> {
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      // nginx buffers responses by default, which would hold events back.
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write('retry: 3000\n\n');
    const client: Client = {
      res,
      heartbeat: setInterval(() => this.write(client, ': ping\n\n'), this.heartbeatMs),
    };
    this.clients.add(client);
    res.on('close', () => this.detach(client));
    try {
      await this.start();
      this.write(client, `event: ready\ndata: {}\n\n`);
    } catch (err) {
      this.report(err);
      this.write(
        client,
        `event: unavailable\ndata: ${JSON.stringify({ message: 'The event stream is unavailable; the page falls back to polling.' })}\n\n`,
      );
    }
  }

  private detach(client: Client): void {
    if (!this.clients.delete(client)) return;
    clearInterval(client.heartbeat);
    if (!client.res.writableEnded) client.res.end();
    if (this.clients.size === 0) void this.stop();
  }

  private start(): Promise<void> {
    this.starting ??= (async () => {
      const broker = await this.broker();
      for (const key of ROUTING_KEYS) {
        this.unsubscribe.push(await broker.subscribe(broker.channels.events(key), (raw) => this.onMessage(raw)));
      }
      // Workers build task events only while someone listens; tell them now, as Flower does.
      await broker.publish(
        broker.channels.pidbox,
        encodeControl({ method: 'enable_events', arguments: {}, destination: null }),
      );
    })().catch((err) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  async stop(): Promise<void> {
    const starting = this.starting;
    this.starting = undefined;
    await starting?.catch(() => {});
    const subs = this.unsubscribe.splice(0);
    for (const unsub of subs) await unsub().catch((err) => this.report(err));
  }

  /** Ends every stream (app shutdown). */
  async close(): Promise<void> {
    for (const client of [...this.clients]) this.detach(client);
    await this.stop();
  }

  private onMessage(raw: string): void {
    try {
      const lines: string[] = [];
      for (const event of decodeEvents(raw)) {
        const json = toAdminEvent(event);
        if (json) lines.push(`event: ${json.kind}\ndata: ${JSON.stringify(json)}\n\n`);
      }
      if (lines.length === 0) return;
      const chunk = lines.join('');
      for (const client of this.clients) this.write(client, chunk);
    } catch (err) {
      // A malformed event must never take the hub (or the web process) down.
      this.report(err);
    }
  }

  private write(client: Client, chunk: string): void {
    if (client.res.writableEnded || client.res.destroyed) return this.detach(client);
    if (client.res.writableLength > EventHub.MAX_BUFFERED) {
      this.logger.log('warn', 'admin event stream client too slow; disconnected it');
      return this.detach(client);
    }
    client.res.write(chunk);
  }

  private report(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.logger.log('warn', 'admin event stream problem', { error: error.message });
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

export function toAdminEvent(e: CeleryEvent): AdminEventJson | null {
  if (!e || typeof e.type !== 'string') return null;
  const timestamp = new Date(typeof e.timestamp === 'number' ? e.timestamp * 1000 : Date.now()).toISOString();
  const out: AdminEventJson = {
    kind: e.type.startsWith('worker-') ? 'worker' : 'task',
    type: e.type,
    hostname: String(e.hostname ?? ''),
    timestamp,
  };
  if (out.kind === 'task') {
    if (typeof e.uuid !== 'string') return null;
    out.id = e.uuid;
    const state = STATE_OF[e.type];
    if (state) out.state = state;
    for (const f of TASK_FIELDS) if (e[f] !== undefined) out[f] = e[f];
  } else {
    for (const f of WORKER_FIELDS) if (e[f] !== undefined) out[f] = e[f];
    // Celeriac workers put their registry name in hostname; that is what the workers page keys on.
    out.name = String(e.name ?? e.hostname ?? '');
  }
  return out;
}
