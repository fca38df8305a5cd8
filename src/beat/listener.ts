import { EventEmitter } from 'node:events';
import type { Client } from 'pg';

export interface ListenerEvents {
  /** A schedule table of this schema changed (or the session was re-established: look again). */
  change: [];
  /** LISTEN is active (true) or lost (false); while lost the beat polls. */
  state: [listening: boolean];
  error: [err: Error];
}

/**
 * The dedicated LISTEN session. The triggers NOTIFY 'celeriac_beat' with the schema as the
 * payload (one channel for all schemas keeps the name under Postgres's 63-byte limit whatever
 * the schema is called). When the session drops, it reconnects with backoff and reports a
 * change on success, since notifications sent while it was away are lost.
 */
export class ChangeListener extends EventEmitter<ListenerEvents> {
  private client: Client | null = null;
  private stopped = false;
  private retryMs = 100;
  private timer: NodeJS.Timeout | undefined;
  listening = false;

  constructor(
    private readonly newClient: () => Client | null,
    private readonly schema: string,
  ) {
    super();
  }

  /** Resolves once the first attempt finished, listening or not (then it keeps retrying). */
  async start(): Promise<boolean> {
    await this.connect();
    return this.listening;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = this.newClient();
    if (!client) return;
    this.client = client;
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('LISTEN session ended')));
    client.on('notification', (msg) => {
      if (msg.channel === 'celeriac_beat' && msg.payload === this.schema) this.emit('change');
    });
    try {
      await client.connect();
      await client.query('LISTEN celeriac_beat');
      if (this.stopped) return void client.end().catch(() => {});
      this.retryMs = 100;
      this.setListening(true);
      this.emit('change');
    } catch (err) {
      this.lost(client, err as Error);
    }
  }

  private lost(client: Client, err: Error): void {
    if (this.client !== client) return;
    this.client = null;
    client.removeAllListeners('notification');
    client.end().catch(() => {});
    this.setListening(false);
    if (this.stopped) return;
    this.emit(
      'error',
      new Error(`beat lost its LISTEN session (${err.message}); polling until it is back`, { cause: err }),
    );
    this.timer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 5000);
  }

  private setListening(value: boolean): void {
    if (this.listening === value) return;
    this.listening = value;
    this.emit('state', value);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    this.setListening(false);
    if (client) await client.end().catch(() => {});
  }
}
