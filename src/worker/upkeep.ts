/**
 * What a running worker does on timers besides fetching: the heartbeat (lease, registry entry,
 * worker-heartbeat event), giving back the messages of workers whose lease lapsed, and giving back
 * messages a lost fetch reply left in what Redis holds for this worker. Started once the worker
 * runs, stopped first when it stops.
 */
import type { Broker } from '../broker';
import type { ConsumerLeases } from '../broker/broker';
import type { LogLevel } from '../log';
import type { Outage } from '../outage';
import type { Runtime } from '../runtime/runtime';
import type { WorkerStats } from './control-surface';
import type { EventDispatcher } from './events';
import { STRAY_CHECK_MS, StrayReclaimer } from './strays';

export interface UpkeepHost {
  readonly app: Runtime;
  readonly name: string;
  readonly consumer: string;
  /** Redis as this worker sees it (one outage logged when it starts and when it ends). */
  readonly outage: Outage;
  info(): WorkerStats;
  /** The raw messages this worker holds a task for (the stray check leaves those alone). */
  heldRaws(): Set<string>;
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  fail(message: string, err: unknown): void;
}

export class Upkeep {
  private readonly timers: NodeJS.Timeout[] = [];
  /** No lease recovery before this instant (see brokerOk()). */
  private recoveryHeldUntil = 0;

  constructor(
    private readonly host: UpkeepHost,
    private readonly live: { readonly broker: Broker; readonly events: EventDispatcher },
  ) {}

  start(): void {
    const { consumer, app } = this.host;
    const { broker } = this.live;
    const beatMs = Math.min(2000, Math.floor(app.config.leaseMs / 3));
    this.timers.push(setInterval(() => void this.heartbeat(), beatMs));
    const leases = broker.leases;
    if (leases) {
      this.timers.push(setInterval(() => void this.recover(leases), 1000));
      const strays = new StrayReclaimer(broker, consumer);
      this.timers.push(setInterval(() => void this.reclaimStrays(strays), STRAY_CHECK_MS));
    }
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
  }

  async heartbeat(): Promise<void> {
    const { consumer, app, name } = this.host;
    const { broker } = this.live;
    try {
      await broker.leases?.renewLease(consumer, app.config.leaseMs);
      const info = this.host.info();
      await broker.putWorkerInfo(name, JSON.stringify(info));
      this.brokerOk();
      await this.live.events.worker('worker-heartbeat', info);
      app.signals.emit('heartbeatSent', { name });
    } catch (err) {
      this.host.fail('heartbeat failed', err);
    }
  }

  /**
   * Redis answered again after failing. Every lease may have expired meanwhile (a Redis restart
   * longer than leaseMs loses them all at once), and other live workers renew theirs only at
   * their next heartbeat: so this worker recovers nothing for one lease period, by which time
   * every worker still alive has renewed (heartbeats come every leaseMs / 3 at most).
   */
  brokerOk(): void {
    if (this.host.outage.ok() !== undefined) this.recoveryHeldUntil = Date.now() + this.host.app.config.leaseMs;
  }

  /**
   * Gives back the messages of workers whose lease lapsed. The script renews this worker's own
   * lease first and never recovers it, so a recovery check that runs before the next heartbeat
   * after an outage cannot hand back this worker's own running tasks (issue 15 item 7).
   */
  private async recover(leases: ConsumerLeases): Promise<void> {
    if (Date.now() < this.recoveryHeldUntil || this.host.outage.down) return;
    try {
      const moved = await leases.recoverLapsed({ consumer: this.host.consumer, leaseMs: this.host.app.config.leaseMs });
      if (moved > 0) this.host.log('warn', `gave back ${moved} messages held by a worker whose lease lapsed`);
    } catch (err) {
      this.host.fail('lease recovery failed', err);
    }
  }

  private async reclaimStrays(strays: StrayReclaimer): Promise<void> {
    try {
      const moved = await strays.check(() => this.host.heldRaws());
      if (moved > 0)
        this.host.log(
          'warn',
          `gave back ${moved} messages left in what Redis holds for this worker with no task for them (a fetch whose reply was lost)`,
        );
    } catch (err) {
      this.host.fail('checking for stray held messages failed', err);
    }
  }
}
