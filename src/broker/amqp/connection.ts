import { EventEmitter } from 'node:events';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { BrokerUnavailableError } from '../../errors';
import { redactUrl } from '../url';

export interface AmqpConnectionEvents {
  /** A connection is open; `generation` counts them, so handles from an older one are known stale. */
  up: [generation: number];
  /** The connection was lost (not closed by us); a reconnect is under way. */
  down: [err: Error];
}

/** How long a caller waits for a connection that is being re-established before it is told the broker is down. */
export const RECONNECT_WAIT_MS = 10_000;
/**
 * Every handshake and channel open is bounded: a RabbitMQ that is booting (or half-dead) can
 * accept a socket and never answer, and one never-settling open would hold up every caller that
 * waits on it.
 */
const OPEN_TIMEOUT_MS = 10_000;

/** Rejects when `promise` has not settled within `ms`; `onLate` receives its value if it settles later. */
export function within<T>(promise: Promise<T>, ms: number, what: string, onLate?: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`${what}: no answer within ${ms} ms (connection closed or not answering)`));
    }, ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        if (timedOut) onLate?.(v);
        else resolve(v);
      },
      (err) => {
        clearTimeout(timer);
        if (!timedOut) reject(err);
      },
    );
  });
}

/**
 * One AMQP connection that comes back by itself. amqplib has no recovery, so this owns it: when
 * the socket closes (RabbitMQ restarted, a network drop) it reconnects with backoff and emits
 * `up` with a new generation; consumers then re-declare their queues and consume again, and the
 * publisher opens a new confirm channel. Every delivery handle carries the generation it came
 * from, because the broker has already requeued whatever an old connection held unacked: acking
 * an old tag on a new channel would ack some other message, or close the channel.
 */
export class AmqpConnection extends EventEmitter<AmqpConnectionEvents> {
  generation = 0;
  private model: ChannelModel | undefined;
  private opening: Promise<ChannelModel> | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private readonly channels = new Map<string, Promise<Channel>>();

  constructor(
    private readonly url: string,
    readonly description: string,
    private readonly connectionName: string,
  ) {
    super();
    this.setMaxListeners(0);
  }

  /** Open the first connection; fails at once (naming the host, never the password) when RabbitMQ is down. */
  async connect(): Promise<void> {
    this.closed = false;
    if (this.model) return;
    try {
      await this.open();
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  unavailable(err: unknown): BrokerUnavailableError {
    if (err instanceof BrokerUnavailableError) return err;
    const reason = err instanceof Error ? err.message : String(err);
    return new BrokerUnavailableError(
      `RabbitMQ at ${this.description} is unavailable (${redactUrl(reason)}). Start RabbitMQ or fix CELERIAC_BROKER_URL and try again.`,
      { cause: err },
    );
  }

  private open(): Promise<ChannelModel> {
    this.opening ??= (async () => {
      try {
        const model = await within(
          // The URL comes from parseBrokerUrl (../url.ts), heartbeat included.
          amqp.connect(this.url, {
            timeout: 3000,
            clientProperties: { connection_name: this.connectionName },
          }),
          OPEN_TIMEOUT_MS,
          `connecting to ${this.description}`,
          (late) => void late.close().catch(() => {}),
        );
        if (this.closed) {
          await model.close().catch(() => {});
          throw new BrokerUnavailableError(`The connection to ${this.description} was closed while opening.`);
        }
        model.on('error', () => {}); // followed by 'close', handled there
        model.on('close', (err?: Error) => this.lost(model, err ?? new Error('connection closed')));
        this.model = model;
        this.attempts = 0;
        this.generation++;
        this.emit('up', this.generation);
        return model;
      } finally {
        this.opening = undefined;
      }
    })();
    return this.opening;
  }

  private lost(model: ChannelModel, err: Error): void {
    if (this.model !== model) return;
    this.model = undefined;
    this.channels.clear();
    if (this.closed) return;
    this.emit('down', err);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = Math.min(100 * 2 ** Math.min(this.attempts++, 5), 2000) + Math.floor(Math.random() * 100);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open().catch(() => this.scheduleReconnect());
    }, delay);
  }

  /** The live connection, waiting up to `waitMs` for one being re-established. */
  async ready(waitMs = RECONNECT_WAIT_MS): Promise<ChannelModel> {
    if (this.model) return this.model;
    if (this.closed) throw new BrokerUnavailableError(`The connection to ${this.description} is closed.`);
    if (this.generation === 0) {
      await this.connect();
      return this.model!;
    }
    return new Promise<ChannelModel>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('up', onUp);
        reject(this.unavailable(new Error(`no connection after waiting ${waitMs} ms for a reconnect`)));
      }, waitMs);
      const onUp = () => {
        clearTimeout(timer);
        resolve(this.model!);
      };
      this.once('up', onUp);
    });
  }

  /**
   * A shared channel for one role ('publish' is a confirm channel; others plain), reopened when it
   * closes: a failed declaration closes its channel (AMQP's rule), and must not take others with it.
   */
  async channel(role: 'publish', waitMs?: number): Promise<ConfirmChannel>;
  async channel(role: string, waitMs?: number): Promise<Channel>;
  async channel(role: string, waitMs?: number): Promise<Channel> {
    let pending = this.channels.get(role);
    if (!pending) {
      pending = (async () => {
        const model = await this.ready(waitMs);
        const ch = await within<Channel>(
          role === 'publish' ? model.createConfirmChannel() : model.createChannel(),
          OPEN_TIMEOUT_MS,
          `opening a channel on ${this.description}`,
          (late) => void late.close().catch(() => {}),
        );
        ch.setMaxListeners(0);
        ch.on('error', () => {}); // the failing call reports it
        ch.on('close', () => {
          if (this.channels.get(role) === pending) this.channels.delete(role);
        });
        return ch;
      })();
      this.channels.set(role, pending);
      pending.catch(() => {
        if (this.channels.get(role) === pending) this.channels.delete(role);
      });
    }
    return pending;
  }

  /** A channel of the caller's own (consumers), not shared. */
  async ownChannel(waitMs?: number): Promise<Channel> {
    const model = await this.ready(waitMs);
    const ch = await within(
      model.createChannel(),
      OPEN_TIMEOUT_MS,
      `opening a channel on ${this.description}`,
      (late) => void late.close().catch(() => {}),
    );
    ch.setMaxListeners(0);
    ch.on('error', () => {});
    return ch;
  }

  get isUp(): boolean {
    return this.model !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const model = this.model ?? (await this.opening?.catch(() => undefined));
    this.model = undefined;
    this.channels.clear();
    if (model) await model.close().catch(() => {});
  }
}
