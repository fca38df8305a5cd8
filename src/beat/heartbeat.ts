/**
 * This beat's row in celeriac_beat_instance (./sql/heartbeat.ts), for the admin's "beats" view:
 * written when the beat starts, refreshed every heartbeatMs, deleted when it stops cleanly.
 */
import { hostname } from 'node:os';
import type { BeatRuntime } from './runtime';

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly rt: BeatRuntime,
    private readonly startedAtMs: number,
    private readonly listening: () => boolean,
  ) {}

  /** Writes the first heartbeat (so start() fails when it cannot), then one every heartbeatMs. */
  async start(): Promise<void> {
    await this.write();
    this.timer = setInterval(() => {
      if (this.inFlight) return; // the previous one is still in flight
      this.inFlight = this.write()
        .catch((err) => this.rt.fail('could not write the beat heartbeat', err))
        .finally(() => (this.inFlight = undefined));
    }, this.rt.opts.heartbeatMs);
  }

  /** Stops the timer at once, and resolves when no write is in flight (one would re-create a deleted row). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** Deletes this beat's row (a clean stop; a crashed beat's row goes stale and is swept after a day). */
  async remove(): Promise<void> {
    await this.rt.db.run(this.rt.sql.bye, { beat: this.rt.name });
  }

  private async write(): Promise<void> {
    await this.rt.db.run(this.rt.sql.heartbeat, {
      beat: this.rt.name,
      hostname: hostname(),
      pid: process.pid,
      startedAtMs: this.startedAtMs,
      nowMs: this.rt.clock.now(),
      listening: this.listening(),
    });
  }
}
